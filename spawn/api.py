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
from spawn.config import SimConfig, TrackingConfig, load_config, parse_config

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from spawn.run.driver import RunOutcome
    from spawn.run.replay import Replay

__all__ = ["Run", "Sweep", "open_run", "replay", "resume", "resume_output", "run_output", "simulate"]


def _view(path: Path, output: str | Path, rules: Sequence[str] | None) -> Path:
    from lineage import atomic_write
    from spawn.explorer import explorer_html

    out = Path(output)
    atomic_write(out, explorer_html(path, rules=rules).encode())
    return out


@dataclass
class Run:
    """A finished run directory: its config, lineage, agents table and summary, with plots."""

    path: Path
    config: SimConfig
    lineage: LineageGraph = field(repr=False)

    @property
    def agents(self) -> pd.DataFrame:
        """``agents.csv`` (or ``agents.parquet``, with ``[output] format = "parquet"``) as a DataFrame
        indexed by agent id (lineage-path order)."""
        import pandas as pd

        if not (self.path / "agents.csv").is_file() and (self.path / "agents.parquet").is_file():
            return pd.read_parquet(self.path / "agents.parquet").set_index("id")
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

    def view(self, output: str | Path = "lineage.html", *, rules: Sequence[str] | None = None) -> Path:
        """The interactive explorer page of the run (``lineage-sim view``), written atomically; its path."""
        return _view(self.path, output, rules)

    def replay(self, agent: str, *, lineage: bool = False, episodes: int = 1) -> Replay:
        """An agent's life run again and checked against its stored record (``lineage-sim replay``)."""
        return replay(self.path, agent, lineage=lineage, episodes=episodes)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(f"Run({str(self.path)!r}, {len(self.lineage)} agents)")

    def _repr_html_(self) -> str:
        """In a notebook: a summary table and a small interactive tree (inline SVG, no script; at most
        :data:`spawn.plots.notebook.TREE_LIMIT` agents drawn)."""
        from spawn.plots.notebook import run_html

        cfg = self.config
        facts: dict[str, Any] = {"run directory": str(self.path), "regime": cfg.regime}
        if cfg.regime == "archive":
            facts["selector"] = cfg.selector
        facts |= {"engine": cfg.engine, "seed": cfg.seed, "environments": ", ".join(e.slug for e in cfg.envs)}
        try:
            summary = self.summary
        except (OSError, ValueError):
            summary = {}
        return run_html(self.lineage, summary, title=f"Run {self.path.name}", facts=facts)


@dataclass
class Sweep:
    """A finished sweep directory: the aggregate over seeds and every arm's runs."""

    path: Path
    config: SimConfig
    aggregate: pd.DataFrame = field(repr=False)

    def view(self, output: str | Path = "lineage.html", *, rules: Sequence[str] | None = None) -> Path:
        """The explorer page of every run of the sweep with the arms' curves (``lineage-sim view``)."""
        return _view(self.path, output, rules)

    def runs(self) -> dict[str, list[Run]]:
        """Every arm's runs, one per seed."""
        from spawn.experiments.sweep import arms

        return {arm.name: [open_run(arm.run_dir(self.path, s)) for s in arm.seeds] for arm in arms(self.config)}

    def plot(self, kind: str = "generations", output: str | Path | None = None, **kw: Any) -> Figure:
        from spawn.plots import plot_path

        return plot_path(self.path, kind, output=output, **kw)


def open_run(path: str | Path) -> Run:
    """Open a finished run directory."""
    from spawn.run.layout import RunDir

    run = RunDir(Path(path))
    return Run(run.path, load_config(run.config), LineageGraph.load(run.lineage))


def _tracking(data: Mapping[str, Any]) -> TrackingConfig:
    """A ``[tracking]`` table, checked as a config's is (one-line :class:`~spawn.errors.ConfigError`)."""
    from pydantic import ValidationError, create_model

    from spawn.config import one_line

    table = create_model("Tracked", tracking=(TrackingConfig, ...))  # so errors name tracking.<key>
    try:
        checked: TrackingConfig = getattr(table.model_validate({"tracking": dict(data)}), "tracking")  # noqa: B009
        return checked
    except ValidationError as exc:
        raise one_line("resume(tracking=...)", exc) from None


def _config(config: SimConfig | Mapping[str, Any] | str | Path, seed: int | None) -> SimConfig:
    if isinstance(config, SimConfig):
        return config if seed is None else config.model_copy(update={"seed": seed})
    if isinstance(config, Mapping):
        data = dict(config)
        if seed is not None:
            data["seed"] = seed
        return parse_config(data)
    return load_config(config, seed=seed)


def run_output(
    cfg: SimConfig,
    out: Path,
    *,
    runtime: str = "inline",
    runtime_options: Mapping[str, Any] | None = None,
    force: bool = False,
    progress: bool = False,
    seed: int | None = None,
) -> RunOutcome | pd.DataFrame:
    """Run ``cfg`` into ``out``: a sweep (its aggregate table) for a config with ``[sweep]``, else a run
    (its outcome). The one place that tells the two apart (``simulate`` and ``lineage-sim run``)."""
    options = dict(runtime_options or {})
    if cfg.sweep:
        from spawn.experiments.sweep import run_sweep

        return run_sweep(cfg, out, runtime=runtime, runtime_options=options, force=force, progress=progress, seed=seed)
    from spawn.run.driver import simulate as run_simulation
    from spawn.runtimes import make_executor

    return run_simulation(cfg, out, make_executor(runtime, **options), force=force, progress=progress)


def resume_output(
    out: Path,
    *,
    runtime: str = "inline",
    runtime_options: Mapping[str, Any] | None = None,
    progress: bool = False,
    tracking: TrackingConfig | None = None,
) -> RunOutcome | pd.DataFrame:
    """Finish the interrupted run or sweep in ``out`` (``resume`` and ``lineage-sim resume``);
    ``tracking`` writes its directories afresh from the checkpoint (the README, Tracking)."""
    from spawn.errors import RunDirError
    from spawn.run.layout import StudyDir, SweepDir, open_output

    options = dict(runtime_options or {})
    found = open_output(out)
    if isinstance(found, StudyDir):
        raise RunDirError(f"{out} is a selector-study directory; run the study again instead")
    if isinstance(found, SweepDir):
        from spawn.experiments.sweep import run_sweep

        cfg = load_config(found.config)
        seed = found.seed()
        return run_sweep(
            cfg,
            out,
            runtime=runtime,
            runtime_options=options,
            progress=progress,
            seed=seed,
            resume=True,
            tracking=tracking or TrackingConfig(),
        )
    from spawn.run.driver import resume as resume_run
    from spawn.runtimes import make_executor

    return resume_run(out, make_executor(runtime, **options), progress=progress, tracking=tracking)


def _opened(cfg: SimConfig, path: Path, result: RunOutcome | pd.DataFrame) -> Run | Sweep:
    if cfg.sweep:
        return Sweep(path, cfg, result)
    lineage = getattr(result, "lineage", None)
    assert lineage is not None
    return Run(path, cfg, lineage)


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
    cfg = _config(config, seed)
    path = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="lineage-sim-"))
    result = run_output(
        cfg, path, runtime=runtime, runtime_options=runtime_options, force=force or out is None, progress=progress
    )
    return _opened(cfg, path, result)


def resume(
    path: str | Path,
    *,
    runtime: str = "inline",
    progress: bool = False,
    tracking: TrackingConfig | Mapping[str, Any] | None = None,
    **runtime_options: Any,
) -> Run | Sweep:
    """Finish an interrupted run or sweep directory as ``lineage-sim resume`` would; ``tracking``
    (a ``[tracking]`` table, e.g. ``{"tensorboard": "tb"}``) as ``--tensorboard`` gives it."""
    from spawn.run.layout import SweepDir, open_output

    out = Path(path)
    if isinstance(tracking, Mapping):
        tracking = _tracking(tracking)
    result = resume_output(out, runtime=runtime, runtime_options=runtime_options, progress=progress, tracking=tracking)
    found = open_output(out)
    cfg = load_config(found.config if isinstance(found, SweepDir) else out / "config.toml")
    return _opened(cfg, out, result)


def replay(path: str | Path, agent: str, *, lineage: bool = False, episodes: int = 1) -> Replay:
    """Run ``agent``'s life in the run directory ``path`` again from its recorded spec, as
    ``lineage-sim replay`` does: the result's ``matches`` says whether every replayed record equals
    the stored one (``first_mismatch.difference`` names the first difference), ``episodes`` holds
    its first ``episodes`` evaluation episodes per environment, step by step (see
    :func:`spawn.run.replay.replay`; with ``lineage``, every ancestor is replayed and checked too).
    """
    from spawn.run.replay import replay as _replay

    return _replay(path, agent, lineage=lineage, episodes=episodes)
