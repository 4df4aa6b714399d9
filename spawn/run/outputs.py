"""A finished run's outputs: ``lineage.json``, ``phylogeny.csv``, ``agents.csv``, ``curves.csv``,
``summary.json`` (and ``attribution.csv`` when the config names rules), each built from the run's
lineage alone so that it is byte-identical for the same config and seed (a run writes the three
CSV tables as it goes, with these writers: :mod:`spawn.run.streams`).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lineage import LineageGraph, atomic_write, path_key, summarize, write
from lineage.io import write_pieces
from lineage.parquet import AGENT_COLUMNS
from spawn.config import SimConfig
from spawn.errors import ConfigError
from spawn.life.job import AgentRecord
from spawn.life.lineage import build_lineage
from spawn.life.spec import CURVE_COLUMNS

__all__ = [
    "ALARM_WINDOW_ROUNDS",
    "OUTPUT_FILES",
    "agents_csv",
    "alarm_scores",
    "curves_csv",
    "drift_alarms",
    "drift_recovery",
    "json_text",
    "life_recovery",
    "summary",
    "write_outputs",
]

#: Files a run writes; all but ``timing.json`` are byte-identical for the same config and seed.
OUTPUT_FILES = (
    "config.toml",
    "lineage.json",
    "phylogeny.csv",
    "agents.csv",
    "curves.csv",
    "summary.json",
    "timing.json",
)



def agents_csv(lineage: LineageGraph) -> str:
    """One row per agent: id, parent, depth, operator, kind, birth time, then every metric by name."""
    return "".join(agents_csv_pieces(lineage))


def agents_header(names: Iterable[str]) -> list[str]:
    """``agents.csv``'s columns for a lineage of attributes ``names`` (sorted)."""
    return [*AGENT_COLUMNS, *(n for n in names if n not in AGENT_COLUMNS)]


def agents_csv_pieces(
    lineage: LineageGraph,
    chunk: int = 20_000,
    *,
    start: int = 0,
    names: Sequence[str] | None = None,
    header: bool = True,
) -> Iterator[str]:
    """:func:`agents_csv`'s text in pieces of ``chunk`` agents, from the lineage's columns: rows
    ``start`` on, under the columns of attributes ``names`` (default: all of them)."""
    columns = agents_header(lineage.attribute_names() if names is None else names)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")  # writes None (a missing value) as an empty cell
    if header:
        w.writerow(columns)
    depth = lineage.arrays.depth
    for begin in range(start, len(lineage), chunk):
        stop = min(len(lineage), begin + chunk)
        values = [lineage.values(n, begin, stop) for n in ("kind", "birth_time", *columns[len(AGENT_COLUMNS) :])]
        ids, parents, ops = lineage.id_range(begin, stop), lineage.parents(begin, stop), lineage.operators(begin, stop)
        w.writerows(zip(ids, parents, depth[begin:stop].tolist(), ops, *values, strict=True))
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


def curves_csv(records: Iterable[AgentRecord], header: bool = True) -> str:
    """Every agent's learning curve, one row a training round: agents in the order given (a run's:
    its lineage's, never the order they finished in), each agent's rounds in order. Numbers are
    written as ``agents.csv`` writes them (``str``: ``repr`` of a float); a return before any
    episode ended and the exploration rate of an agent without one are empty."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(CURVE_COLUMNS)
    for rec in records:
        for row in rec.curve:
            w.writerow([rec.id, *("" if x is None else x for x in row)])
    return buf.getvalue()


def summary(
    cfg: SimConfig, lineage: LineageGraph, records: Iterable[AgentRecord] | None = None
) -> dict[str, Any]:
    """What ``summary.json`` holds; with ``[baseline] solo = true`` also ``"solo"``, the attributes of
    the root trained alone (:func:`spawn.run.baseline.solo_attributes`). With the agents' ``records``,
    each drifting environment's entry of ``"drift"`` also has ``life_recovery_time`` and
    ``life_best_after`` (:func:`life_recovery`: recovery on reward during the agents' lives)."""
    values = lineage.column("value")
    ranked = np.nan_to_num(values, nan=-np.inf)
    ids = lineage.ids
    best = min((ids[i] for i in np.flatnonzero(ranked == ranked.max()).tolist()), key=path_key)  # ties by id
    train = int(lineage.column("train_steps").sum())
    kinds = Counter("" if k is None else str(k) for k in lineage.values("kind"))
    out: dict[str, Any] = {
        "seed": cfg.seed,
        "budget": cfg.budget,
        "regime": cfg.regime,
        "agents": len(lineage),
        "train_steps": train,
        "eval_steps": int(lineage.column("eval_steps").sum()),
        "root_value": lineage.get("0", "value"),
        "best_agent": best,
        "best_value": lineage.get(best, "value"),
        "mean_value": float(np.nanmean(values)) if np.isfinite(values).any() else None,
        "kinds": dict(sorted(kinds.items())),
        "phylogeny": summarize(lineage),
        "drift": drift_recovery(cfg, lineage),
        "drift_alarms": drift_alarms(cfg, lineage),
    }
    if records is not None:
        for slug, life in life_recovery(cfg, lineage, records).items():
            out["drift"][slug] |= {"life_best_after": life["best_after"], "life_recovery_time": life["recovery_time"]}
    if cfg.baseline.solo:  # the root trained alone, computed again at every write (spawn.run.baseline)
        from spawn.run.baseline import solo_attributes

        out["solo"] = solo_attributes(cfg)
    return out


def _drift_steps(cfg: SimConfig) -> dict[str, int]:
    """The drift step of every clocked environment of the suite that declares one, by slug."""
    from spawn.life.job import suite_for

    suite = suite_for(cfg)
    out: dict[str, int] = {}
    for slug in suite.slugs:
        if not suite.facts[slug].clocked:
            continue
        env = suite.make(slug)
        drift_step = getattr(env.unwrapped, "drift_step", None)
        env.close()
        if isinstance(drift_step, int):
            out[slug] = drift_step
    return out


def drift_recovery(cfg: SimConfig, lineage: LineageGraph, level: float = 0.9) -> dict[str, Any]:
    """For each clocked environment with a ``drift_step``: how long the lineage took to recover.

    An agent's evaluation happens at world time ``birth_time + train_steps``. The recovery time is
    the first such time after the drift at which some agent reached ``level`` of the best value
    any agent reached after the drift, minus the drift step; ``None`` when no agent was evaluated
    after the drift.
    """
    out: dict[str, Any] = {}
    for slug, drift_step in _drift_steps(cfg).items():
        key = f"{slug}.value"
        born, trained = lineage.values("birth_time"), lineage.values("train_steps")
        points = sorted(
            (int(born[i]) + int(trained[i]), float(v)) for i, v in enumerate(lineage.values(key)) if v is not None
        )
        before = [v for t, v in points if t < drift_step]
        after = [(t, v) for t, v in points if t >= drift_step]
        best_after = max((v for _, v in after), default=None)
        recovered = next((t for t, v in after if best_after is not None and v >= level * best_after), None)
        out[slug] = {
            "drift_step": drift_step,
            "best_before": max(before) if before else None,
            "best_after": best_after,
            "agents_after": len(after),
            "recovery_time": None if recovered is None else recovered - drift_step,
        }
    return out


def life_recovery(
    cfg: SimConfig, lineage: LineageGraph, records: Iterable[AgentRecord], level: float = 0.9
) -> dict[str, dict[str, Any]]:
    """Recovery from each drift measured on reward during the agents' lives (``curves.csv``).

    A training round on a drifting environment began at world time ``birth_time + steps - (its own
    steps)``; only rounds that began at or after the drift count, so that none mixes the old world's
    reward with the new. Each round's mean training return is normalised by the environment's return
    range, as ``value`` is. The recovery time is the end of the first such round (in world time) whose
    return reached ``level`` of the best such round's, minus the drift step; ``None`` without a round
    after the drift (or when the best is not above the bottom of the range).
    """
    from spawn.life.job import suite_for

    suite = suite_for(cfg)
    records = list(records)
    out: dict[str, dict[str, Any]] = {}
    for slug, drift_step in _drift_steps(cfg).items():
        lo, hi = suite.facts[slug].return_range
        points: list[tuple[int, float]] = []
        for rec in records:
            born = int(lineage.get(rec.id, "birth_time"))
            before = 0
            for row in rec.curve:
                start, before = born + before, row.steps
                if row.task == slug and row.ret is not None and start >= drift_step:
                    points.append((born + row.steps, (float(row.ret) - lo) / (hi - lo)))
        points.sort()
        best = max((v for _, v in points), default=None)
        recovered = None
        if best is not None and best > 0:
            recovered = next(t for t, v in points if v >= level * best)
        out[slug] = {
            "drift_step": drift_step,
            "best_after": best,
            "rounds_after": len(points),
            "recovery_time": None if recovered is None else recovered - drift_step,
        }
    return out


#: A drift alarm is true when it comes at most this many rounds (``[spawn] round_steps`` each) after
#: the drift: triggers are asked only at the end of a round, and a later alarm answers something else.
ALARM_WINDOW_ROUNDS = 5


def alarm_scores(
    drift_step: int, alarms: Sequence[int], window: int | None, observed: bool = True
) -> dict[str, Any]:
    """Precision, recall and detection delay of drift alarms raised at world times ``alarms``.

    An alarm is true when ``drift_step <= t < drift_step + window`` (``window=None``: any time at
    or after the drift) and false otherwise. Each environment drifts once, so recall is 1.0 when some
    alarm is true and 0.0 when none is; it is ``None`` when the drift was never ``observed`` (no
    agent trained on the environment after it). Precision is the true alarms' share of all alarms
    (``None`` without alarms); the detection delay is the first true alarm's time minus the drift
    step (``None`` without a true alarm).

    Examples
    --------
    >>> out = alarm_scores(1000, [400, 1000, 1700, 9000], window=2000)
    >>> out["true_alarms"], out["false_alarms"], out["precision"], out["recall"], out["detection_delay"]
    (2, 2, 0.5, 1.0, 0)
    >>> alarm_scores(1000, [], window=None)["precision"] is None
    True
    """
    times = sorted(int(t) for t in alarms)
    true = [t for t in times if t >= drift_step and (window is None or t < drift_step + window)]
    detected = bool(true)
    return {
        "drift_step": drift_step,
        "window": window,
        "alarms": times,
        "true_alarms": len(true),
        "false_alarms": len(times) - len(true),
        "precision": len(true) / len(times) if times else None,
        "recall": (1.0 if detected else 0.0) if observed or detected else None,
        "detection_delay": true[0] - drift_step if detected else None,
    }


def drift_alarms(cfg: SimConfig, lineage: LineageGraph, window: int | None = None) -> dict[str, Any]:
    """For each clocked environment with a ``drift_step``: how well the drift trigger's alarms follow it.

    The alarms are the births of children by the ``drift`` trigger on that environment, at the
    child's birth time (its parent's world time when the alarm was raised), on the task whose round
    raised it (the child's ``trigger_task``). ``window`` (steps; default ``ALARM_WINDOW_ROUNDS`` rounds) bounds how
    late a true alarm may come; see :func:`alarm_scores` for the scores. An alarm the caps kept from
    making a child is not seen (the parent's ``drift_alarms`` attribute counts those too).
    """
    win = ALARM_WINDOW_ROUNDS * cfg.spawn.round_steps if window is None else window
    out: dict[str, Any] = {}
    steps = _drift_steps(cfg)
    if not steps:
        return out
    has_parent = (lineage.arrays.parent >= 0).tolist()
    trigger, task, tasks = lineage.values("trigger"), lineage.values("trigger_task"), lineage.values("tasks")
    born, trained = lineage.values("birth_time"), lineage.values("train_steps")
    for slug, drift_step in steps.items():
        alarms = [
            int(born[i])
            for i, child in enumerate(has_parent)
            if child and trigger[i] == "drift" and task[i] == slug
        ]
        observed = any(
            slug in str("" if tasks[i] is None else tasks[i]).split(",")
            and int(born[i] or 0) + int(trained[i] or 0) > drift_step
            for i in range(len(lineage))
        )
        out[slug] = alarm_scores(drift_step, alarms, win, observed)
    return out


def json_text(data: Any) -> str:
    """JSON as the run's files hold it: indented, keys sorted, no NaN, one final newline."""
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n"


def write_outputs(
    cfg: SimConfig,
    out: Path,
    records: Mapping[str, AgentRecord],
    extra: Mapping[str, Any] | None = None,
    grown: LineageGraph | None = None,
    streamed: Sequence[str] = (),
) -> LineageGraph:
    """Write every deterministic output of a finished run (atomically, one file at a time);
    ``extra`` adds to ``summary.json`` (the archive's held-out test of its best agent). ``grown`` is
    the records' lineage if the run kept one, in the order it joined (the archive regime's; else
    :func:`build_lineage`'s, in lineage-path order); ``streamed`` names the files the run already
    wrote as it went (:mod:`spawn.run.streams`), which are left as they are."""
    lineage = build_lineage(cfg, records.values()) if grown is None else grown
    if cfg.output.format in ("json", "both"):
        lineage.save(out / "lineage.json")
    if cfg.output.format in ("parquet", "both"):
        from lineage.parquet import agents_table, save_parquet, write_table

        save_parquet(lineage, out / "lineage.parquet")
        write_table(agents_table(lineage), out / "agents.parquet")
    if "phylogeny.csv" not in streamed:
        write(lineage, out / "phylogeny.csv", "alife")
    if cfg.output.format in ("json", "both") and "agents.csv" not in streamed:
        write_pieces(out / "agents.csv", agents_csv_pieces(lineage))
    if "curves.csv" not in streamed:
        atomic_write(out / "curves.csv", curves_csv(records[a] for a in lineage.ids))
    atomic_write(out / "summary.json", json_text(summary(cfg, lineage, records.values()) | dict(extra or {})))
    if cfg.attribution.rules:
        from attribution import AttributionError, write_attribution_csv

        try:
            write_attribution_csv(lineage, list(cfg.attribution.rules), out / "attribution.csv")
        except AttributionError as exc:  # a rule that needs what this lineage does not record
            raise ConfigError(f"[attribution] rules: {exc}") from None
    return lineage
