"""The Python API for notebooks, mirroring the command line: ``spawn.simulate(config)`` returns a run.

Examples
--------
>>> import spawn
>>> run = spawn.simulate({"seed": 1, "budget": 400, "envs": [{"id": "FrozenLake-v1", "return_range": [0, 1]}],
...                       "spawn": {"round_steps": 100, "min_child_budget": 100}})
>>> run.lineage.roots(), int(run.agents["train_steps"].sum())
(['0'], 400)
>>> run.summary["budget"]
400
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineage import LineageGraph
from spawn.config import SimConfig, load_config, parse_config

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["Run", "Sweep", "open_run", "simulate"]


@dataclass
class Run:
    """A finished run directory: its config, lineage, agents table and summary, with plots."""

    path: Path
    config: SimConfig
    lineage: LineageGraph = field(repr=False)

    @property
    def agents(self) -> pd.DataFrame:
        """``agents.csv`` as a DataFrame indexed by agent id (lineage-path order)."""
        import pandas as pd

        return pd.read_csv(self.path / "agents.csv", dtype={"id": str, "parent": str}).set_index("id")

    @property
    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = json.loads((self.path / "summary.json").read_text())
        return summary

    def attribution(self, rules: Sequence[str] = ("self", "discounted", "cmp")) -> pd.DataFrame:
        """Credit of every agent under each rule (see ``lineage-sim rules``)."""
        from attribution import attribution_table

        return attribution_table(self.lineage, list(rules))

    def compare(self, rules: Sequence[str] = ("self", "discounted", "cmp", "best-descendant")) -> Any:
        """The rules side by side (``lineage-sim compare``)."""
        from attribution import compare

        return compare(self.lineage, list(rules))

    def plot(
        self,
        kind: str = "tree",
        output: str | Path | None = None,
        *,
        rules: Sequence[str] = (),
        attributes: Sequence[str] = (),
    ) -> Figure:
        """A picture of the run (``lineage-sim plot``): ``tree``, ``generations``, ``compare``, ``selection``."""
        from spawn.plots import plot_path

        return plot_path(self.path, kind, rules=rules, attributes=attributes, output=output)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(f"Run({str(self.path)!r}, {len(self.lineage)} agents)")


@dataclass
class Sweep:
    """A finished sweep directory: the aggregate over seeds and every arm's runs."""

    path: Path
    config: SimConfig
    aggregate: pd.DataFrame = field(repr=False)

    def runs(self) -> dict[str, list[Run]]:
        """Every arm's runs, one per seed."""
        from spawn.experiments.sweep import arms

        return {arm.name: [open_run(arm.run_dir(self.path, s)) for s in arm.seeds] for arm in arms(self.config)}

    def plot(self, kind: str = "generations", output: str | Path | None = None, **kw: Any) -> Figure:
        from spawn.plots import plot_path

        return plot_path(self.path, kind, output=output, **kw)


def open_run(path: str | Path) -> Run:
    """Open a finished run directory."""
    path = Path(path)
    return Run(path, load_config(path / "config.toml"), LineageGraph.load(path / "lineage.json"))


def _config(config: SimConfig | Mapping[str, Any] | str | Path, seed: int | None) -> SimConfig:
    if isinstance(config, SimConfig):
        return config if seed is None else config.model_copy(update={"seed": seed})
    if isinstance(config, Mapping):
        data = dict(config)
        if seed is not None:
            data["seed"] = seed
        return parse_config(data)
    return load_config(config, seed=seed)


def simulate(
    config: SimConfig | Mapping[str, Any] | str | Path,
    out: str | Path | None = None,
    *,
    seed: int | None = None,
    runtime: str = "inline",
    force: bool = False,
    progress: bool = False,
    **runtime_options: Any,
) -> Run | Sweep:
    """Run a config (a path to TOML, a mapping, or a :class:`SimConfig`) as ``lineage-sim run`` would.

    Without ``out`` the run goes to a fresh temporary directory. A config with a ``[sweep]`` table
    returns a :class:`Sweep`, any other a :class:`Run`.
    """
    from spawn.run.driver import simulate as run_simulation
    from spawn.runtimes import make_executor

    cfg = _config(config, seed)
    path = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="lineage-sim-"))
    if cfg.sweep:
        from spawn.experiments.sweep import run_sweep

        table = run_sweep(
            cfg, path, runtime=runtime, runtime_options=runtime_options, force=force or out is None, progress=progress
        )
        return Sweep(path, cfg, table)
    outcome = run_simulation(
        cfg, path, make_executor(runtime, **runtime_options), force=force or out is None, progress=progress
    )
    assert outcome.lineage is not None
    return Run(path, cfg, outcome.lineage)
