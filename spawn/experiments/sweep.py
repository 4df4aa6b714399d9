"""Sweeps: a config with a ``[sweep]`` table runs every arm and seed, then aggregates over seeds.

``[sweep]`` keys name config fields (``selector``, ``agent.objective``, ...) and list the settings
to try; ``seeds`` lists the seeds. Every combination of settings is an *arm*, run once per seed into
``DIR/<arm>/seed-<s>/`` (each a normal run directory). ``DIR/aggregate.csv`` then has one row per
arm: each summary metric's mean and 95% t-interval over seeds.

Examples
--------
>>> from spawn.config import parse_config
>>> cfg = parse_config({"seed": 1, "budget": 10, "envs": [{"id": "FrozenLake-v1", "return_range": [0, 1]}],
...                     "sweep": {"agent.objective": ["raw", "penalised"], "seeds": [1, 2]}})
>>> [(arm.name, seeds) for arm, seeds in [(a, a.seeds) for a in arms(cfg)]]
[('objective=raw', (1, 2)), ('objective=penalised', (1, 2))]
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attribution.intervals import t_interval
from lineage import atomic_write
from spawn.config import SimConfig, TrackingConfig, config_to_toml
from spawn.config.arms import Arm, arms

__all__ = ["AGGREGATE_METRICS", "Arm", "aggregate", "arms", "is_sweep_dir", "run_arms", "run_sweep", "run_tracking"]

#: Per-run numbers aggregated over seeds: from summary.json, then agent means from agents.csv.
AGGREGATE_METRICS = ("best_value", "mean_value", "root_value", "agents", "max_depth")
AGENT_MEANS = (
    "value",
    "return",
    "hidden_performance",
    "cost",
    "episode_cost",
    "distance",
    "distance.forbidden",
    "distance.invariance",
    "tv",
    "demographic_parity_difference",
    "tools",
    "tool_violations",
)


def is_sweep_dir(path: Path) -> bool:
    """Whether ``path`` is a sweep directory (its marker says so; a stale ``sweep.json`` does not)."""
    from spawn.run.rundir import run_kind

    return run_kind(path) == "sweep"


def _run_numbers(run: Path) -> dict[str, float]:
    summary = json.loads((run / "summary.json").read_text())
    nums = {k: float(summary[k]) if summary.get(k) is not None else float("nan") for k in AGGREGATE_METRICS[:4]}
    nums["max_depth"] = float(summary["phylogeny"]["max_depth"])
    for slug, d in sorted(summary.get("drift", {}).items()):
        nums[f"recovery_time:{slug}"] = float("nan") if d["recovery_time"] is None else float(d["recovery_time"])
        if "life_recovery_time" in d:  # on reward during the agents' lives (curves.csv)
            life = d["life_recovery_time"]
            nums[f"life_recovery_time:{slug}"] = float("nan") if life is None else float(life)
    for slug, d in sorted(summary.get("drift_alarms", {}).items()):
        for key in ("precision", "recall", "detection_delay"):
            nums[f"alarm_{key}:{slug}"] = float("nan") if d[key] is None else float(d[key])
    agents = pd.read_csv(run / "agents.csv")
    # The listed metrics, then every invariance's TV (``invariance.<rule>``, the suite mean).
    for col in [*AGENT_MEANS, *sorted(c for c in agents.columns if c.startswith("invariance."))]:
        if col in agents:
            nums[f"agents_mean_{col}"] = float(agents[col].mean())
    if (run / "attribution.csv").is_file():  # the first agent's credit under each configured rule
        credit = pd.read_csv(run / "attribution.csv", dtype={"agent": str}).set_index("agent")
        for rule in credit.columns:
            nums[f"root_credit:{rule}"] = float(credit.loc["0", rule])
    if (run / "steps.csv").is_file():  # an archive run: its best agent, the steps it cost, its test
        last = pd.read_csv(run / "steps.csv", usecols=["total_steps", "best_value"]).iloc[-1]
        nums["archive_best_value"] = float(last["best_value"])
        nums["archive_total_steps"] = float(last["total_steps"])
        if "archive_best" in summary:  # [archive] test_episodes: the best agent's held-out test
            test = summary["archive_best"].get("test_value")
            nums["archive_test_value"] = float("nan") if test is None else float(test)
    if isinstance(summary.get("solo"), dict):  # [baseline] solo: the root alone, and the lineage's gain
        from spawn.run.baseline import solo_credit

        solo = summary["solo"].get("value")
        nums["solo_value"] = float("nan") if solo is None else float(solo)
        for key in [k for k in nums if k.startswith("root_credit:")]:
            rule = key.removeprefix("root_credit:")  # root credit minus the rule's credit of the solo agent
            nums["gain:" + rule] = nums[key] - solo_credit(rule, summary["solo"])
    return nums


def aggregate(out: Path, arm_list: Sequence[Arm]) -> pd.DataFrame:
    """One row per arm: the settings, the seeds, and each metric's mean and 95% interval over seeds."""
    rows = []
    for arm in arm_list:
        per_seed = [_run_numbers(arm.run_dir(out, s)) for s in arm.seeds]
        row: dict[str, Any] = {"arm": arm.name, **arm.settings, "seeds": len(arm.seeds)}
        for metric in sorted({k for d in per_seed for k in d}, key=lambda k: (k.startswith("agents_mean"), k)):
            mean, lo, hi = t_interval(np.array([d.get(metric, np.nan) for d in per_seed]))
            row[metric], row[f"{metric}_lo"], row[f"{metric}_hi"] = mean, lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def _check_arms(out: Path, arm_list: Sequence[Arm]) -> None:
    """A sweep is resumed only when its ``sweep.json`` names the arms its config makes."""
    from lineage import LineageError, read_text
    from spawn.errors import RunDirError

    path = out / "sweep.json"
    try:
        names = json.loads(read_text(path, limit=2**24, what="a sweep description"))["arms"]
    except LineageError as exc:
        raise RunDirError(str(exc)) from None
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise RunDirError(f"{path}: is not a sweep description ({str(exc)[:120]})") from None
    if names != [a.name for a in arm_list]:
        raise RunDirError(f"{path}: names other arms than {out / 'config.toml'} makes; the sweep cannot be resumed")


def run_arms(
    out: Path,
    arm_list: Sequence[Arm],
    *,
    runtime: str = "inline",
    runtime_options: dict[str, Any] | None = None,
    progress: bool = False,
    resume: bool = False,
    what: str = "the sweep's arm",
    tracking: TrackingConfig | None = None,
) -> None:
    """Run every arm's seeds, each into the run directory ``out/<arm name>/seed-<s>/``.

    With ``resume``, a finished run is left as it is and one with a checkpoint is resumed. ``what``
    names an arm in the refusal of a folder that would lead outside ``out``. Tracking (``tracking``,
    else the arm's ``[tracking]``) gives every run its own TensorBoard directory,
    ``<tensorboard>/<arm name>/seed-<s>/`` (as Ray Tune gives every trial one), and its own MLflow
    run, named ``<arm name>/seed-<s>``, in the one MLflow store.
    """
    from spawn.run.checkpoint import has_checkpoint
    from spawn.run.driver import resume as resume_run
    from spawn.run.driver import simulate
    from spawn.run.rundir import inside
    from spawn.runtimes import make_executor

    for arm in arm_list:
        for s in arm.seeds:
            run = inside(out, f"{arm.name}/seed-{s}", what)
            if resume and (run / "summary.json").is_file():
                continue
            tracked = run_tracking(tracking or arm.config.tracking, f"{arm.name}/seed-{s}")
            name = f"{arm.name}/seed-{s}"
            executor = make_executor(runtime, **(runtime_options or {}))
            if resume and has_checkpoint(run):
                resume_run(
                    run,
                    executor,
                    progress=progress,
                    tracking=tracked,
                    tracking_name=name,
                    tracking_settings=arm.settings,
                )
                continue
            if progress:
                from rich.console import Console

                Console(stderr=True).print(f"[bold]{arm.name}[/bold] seed {s}")
            run_cfg = arm.config.model_copy(update={"seed": s, "tracking": tracked})
            simulate(
                run_cfg,
                run,
                executor,
                force=True,
                progress=progress,
                tracking_name=name,
                tracking_settings=arm.settings,
            )


def run_tracking(tracking: TrackingConfig, sub: str) -> TrackingConfig:
    """The tracking of one run of a sweep: its own TensorBoard subdirectory ``sub`` of ``tracking``'s."""
    if tracking.tensorboard is None:
        return tracking
    return tracking.model_copy(update={"tensorboard": str(Path(tracking.tensorboard) / sub)})


def run_sweep(
    cfg: SimConfig,
    out: str | Path,
    *,
    runtime: str = "inline",
    runtime_options: dict[str, Any] | None = None,
    force: bool = False,
    progress: bool = False,
    seed: int | None = None,
    resume: bool = False,
    tracking: TrackingConfig | None = None,
) -> pd.DataFrame:
    """Run (or, with ``resume``, finish) every arm and seed; write ``aggregate.csv``; return it.

    ``tracking`` (default: ``cfg.tracking``; a resumed sweep's ``config.toml`` has none) tracks every
    run in a subdirectory of its own (:func:`run_arms`)."""
    from lineage import remove_stray_temporaries
    from spawn.life.job import suite_for
    from spawn.run.driver import prepare_run_dir
    from spawn.run.rundir import PROJECT_FILES, open_dir
    from spawn.run.tracking import check_tracking_dir, mark_tracking_dir

    out = Path(out)
    tracking = cfg.tracking if tracking is None else tracking
    arm_list = arms(cfg, seed)
    for arm in arm_list:
        suite_for(arm.config)  # every arm's environments checked before anything is written
    board = None if tracking.tensorboard is None else Path(tracking.tensorboard)
    if board is not None:
        check_tracking_dir(board, out, "[tracking] tensorboard", force=force, resume=resume)
    rd = open_dir(out, kind="sweep") if resume else prepare_run_dir(out, force, kind="sweep")
    try:
        if resume:
            _check_arms(out, arm_list)
            remove_stray_temporaries(out, PROJECT_FILES)
        else:
            atomic_write(out / "config.toml", config_to_toml(cfg))
            atomic_write(out / "sweep.json", json.dumps({"arms": [a.name for a in arm_list], "seed": seed}) + "\n")
        if board is not None:
            mark_tracking_dir(board, out)
        run_arms(
            out,
            arm_list,
            runtime=runtime,
            runtime_options=runtime_options,
            progress=progress,
            resume=resume,
            tracking=tracking,
        )
        table = aggregate(out, arm_list)
        buf = io.StringIO()
        table.to_csv(buf, index=False, float_format="%.12g", lineterminator="\n")
        atomic_write(out / "aggregate.csv", buf.getvalue())
    except BaseException as exc:
        if resume or isinstance(exc, KeyboardInterrupt):
            rd.release()  # finished arms and the checkpoints of interrupted ones stay
        else:
            rd.undo()
        raise
    rd.release()
    return table
