"""The explorer's data: what ``lineage-sim view`` embeds in its page, as plain JSON.

One object, the page's ``<script type="application/json" id="lineage-data">``, readable by any
tool that reads the page (``json.loads`` of that element's text)::

    {"format": "lineage-sim-explorer", "version": 1, "source": "runs/q", "kind": "run",
     "runs": [RUN, ...], "arms": ARMS or null, "notes": [...]}

``kind`` is ``"run"``, ``"lineage"`` (a lineage file), ``"sweep"`` or ``"study"``; a sweep or a
study holds one ``RUN`` per arm and seed. Each ``RUN`` is columnar, one entry per agent in
lineage-path order (a parent before its children, siblings in order), so that its size grows
linearly with the lineage:

``name``, ``agents``
    The run's label (``arm/seed-s`` in a sweep) and its number of agents.
``id``, ``parent``, ``operator``, ``depth``
    Each agent's id, its parent's id (``null`` for a root), the operator that made it and its
    generation.
``numeric``
    Every numeric attribute, by name: a list with one number (or ``null`` where the agent does
    not carry it, or it is not finite) per agent.
``text``
    Every other attribute (``kind``, ``trigger``, ``tasks``...), by name, ``null`` where missing.
``credit``, ``liability``
    Every rule's credit (and the liability it subtracted) per agent, by rule spec.
``compare``
    What ``lineage-sim compare`` reports besides the table: ``leaders``, ``kendall``,
    ``alignment_tax``, ``notes``.
``best``, ``best_path``
    The agent of highest ``value`` and its lineage from the root (ids).
``curves``
    The learning curves of ``curves.csv`` (``null`` when the run has none): columns ``agent`` (the
    agent's row in this run), ``round``, ``task`` (an index into ``tasks``), ``steps``, ``return``,
    ``cost``, ``violations``, ``lagrange``, ``epsilon``.
``summary``
    The run's ``summary.json`` (``null`` for a lineage file).
``constitutions``
    Per environment with a constitution, its rules by kind: ``actions`` (forbidden actions, whose
    breaches each agent's ``<env>.violations`` counts), ``states`` (forbidden states,
    ``<env>.episode_cost``) and ``invariances`` (``<env>.invariance.<rule>``); ``null`` for a
    lineage file.

``ARMS`` (sweeps and studies) is ``{"x": "...", "y": "...", "curves": [{"arm", "spent", "mean",
"lo", "hi", "n"}, ...]}``: each arm's best value so far against steps spent, the mean over its seeds
with a 95% interval.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lineage import LineageGraph
from spawn.errors import PlotError

__all__ = ["FORMAT", "SHAPLEY_MAX_AGENTS", "VERSION", "default_rules", "explorer_data", "run_data"]

FORMAT = "lineage-sim-explorer"
VERSION = 1
#: Monte-Carlo Shapley credit is computed only on lineages up to this size (it is by far the
#: slowest rule); the page says when it was left out.
SHAPLEY_MAX_AGENTS = 2000
#: The columns of ``curves.csv`` the page keeps (all but ``id``, which becomes the agent's row).
_CURVE_NUMBERS = ("round", "steps", "return", "cost", "violations", "lagrange", "epsilon")


def default_rules(n_agents: int) -> tuple[list[str], list[str]]:
    """Every registered rule with its default parameters, and notes on what was left out."""
    from attribution import rule_names

    names = rule_names()
    if n_agents > SHAPLEY_MAX_AGENTS and "shapley" in names:
        names.remove("shapley")
        note = (
            f"shapley (Monte-Carlo) credit left out: {n_agents:,} agents is over {SHAPLEY_MAX_AGENTS:,}; "
            "ask for it with --rule shapley"
        )
        return names, [note]
    return names, []


def _cell(v: Any) -> Any:
    """One value as strict JSON holds it (NumPy numbers too): ``None`` for missing or not finite."""
    if v is None or isinstance(v, bool | np.bool_):
        return None if v is None else bool(v)
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v) if math.isfinite(float(v)) else None
    return v if isinstance(v, str) else str(v)


def _finite(values: Iterable[Any]) -> list[Any]:
    """A numeric column as JSON: ``None`` for a missing or non-finite number, ints kept ints (and
    booleans as 0 and 1, so that the page reads every entry as a number)."""
    return [int(v) if isinstance(v, bool) else _cell(v) for v in values]


def _plain(data: Any) -> Any:
    """JSON data (``summary.json``) with every non-finite number as ``None`` (the page's JSON is strict)."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return _cell(data)


def _numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, int | float) for v in present)


def _frame(df: pd.DataFrame | None) -> dict[str, dict[str, Any]] | None:
    if df is None:
        return None
    return {str(r): {str(k): _cell(v) for k, v in row.items()} for r, row in df.iterrows()}


def _curves(path: Path, rows: dict[str, int]) -> dict[str, Any] | None:
    """``curves.csv`` as columns, each agent's rows together (by the agent's row, then round)."""
    from spawn.plots.curves import read_curves

    if not path.is_file():
        return None
    frame = read_curves(path)
    agent = frame["id"].map(rows)
    frame = frame[agent.notna()].assign(agent=agent[agent.notna()].astype(np.int64))
    frame = frame.sort_values(["agent", "round"], kind="stable")
    tasks = sorted(frame["task"].astype(str).unique().tolist())
    index = {t: i for i, t in enumerate(tasks)}
    out: dict[str, Any] = {"tasks": tasks, "agent": frame["agent"].tolist()}
    out["task"] = [index[t] for t in frame["task"].astype(str)]
    for c in _CURVE_NUMBERS:
        out[c] = _finite(frame[c].tolist())
    return out


def constitutions(run_dir: Path) -> dict[str, dict[str, list[str]]]:
    """The rules of every constitution of the run's environments, by environment (its attribute
    prefix) and kind: ``actions`` (forbidden actions, counted in ``violations``), ``states``
    (forbidden states, counted in ``episode_cost``) and ``invariances`` (each measured as
    ``invariance.<rule>``)."""
    from spawn.config import load_config
    from spawn.life.job import suite_for

    cfg = load_config(run_dir / "config.toml")
    suite = suite_for(cfg)
    out: dict[str, dict[str, list[str]]] = {}
    for slug in suite.slugs:
        if suite.configs[slug].constitution is None:
            continue
        env = suite.make(slug)
        try:
            c = env.constitution  # type: ignore[attr-defined]
            out[slug] = {
                "actions": [r.name for r in c.forbidden_actions],
                "states": [r.name for r in c.forbidden_states],
                "invariances": [r.name for r in c.invariances],
            }
        finally:
            env.close()
    return out


def run_data(
    lineage: LineageGraph,
    name: str,
    rules: Sequence[str] | None = None,
    run_dir: Path | None = None,
    attributes: Sequence[str] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """One run's entry of the page's data (see the module's docstring), and notes for the page.

    ``rules``: rule specs whose credit the page can colour by (default every registered rule, see
    :func:`default_rules`); ``run_dir``: the run directory, for ``curves.csv`` and ``summary.json``;
    ``attributes``: the only attributes to embed (and ``value``, which the best agent and the rules
    read), to keep the page of a large lineage of many attributes small (default every one).
    """
    from attribution import compare
    from spawn.plots.common import best_agent

    n = len(lineage)
    notes: list[str] = []
    if rules is None:
        rules, notes = default_rules(n)
    order = lineage.path_order().tolist()
    ids_all = lineage.id_range()
    ids = [ids_all[i] for i in order]
    parent_rows = lineage.arrays.parent
    parent = [None if parent_rows[i] < 0 else ids_all[parent_rows[i]] for i in order]
    operators = lineage.operators()
    depth = lineage.arrays.depth
    numeric: dict[str, list[Any]] = {}
    text: dict[str, list[Any]] = {}
    names = lineage.attribute_names()
    if attributes is not None:
        from spawn.errors import did_you_mean

        for a in attributes:
            if a not in names:
                shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
                raise PlotError(f"unknown attribute {a!r}{did_you_mean(a, names)}; attributes of {name}: {shown}")
        names = [a for a in names if a in attributes or a == "value"]
    for attr in names:
        values = lineage.values(attr)
        values = [values[i] for i in order]
        if _numeric(values):
            numeric[attr] = _finite(values)
        else:
            text[attr] = [None if v is None else str(v) for v in values]
    credit: dict[str, list[Any]] = {}
    liability: dict[str, list[Any]] = {}
    comparison: dict[str, Any] | None = None
    if "value" in numeric and rules:
        c = compare(lineage, list(rules))
        for spec in c.table.columns:
            credit[str(spec)] = _finite(c.table[spec].reindex(ids).tolist())
            if spec in c.liability.columns:
                owed = c.liability[spec].reindex(ids).fillna(0.0).tolist()
                if any(owed):
                    liability[str(spec)] = _finite(owed)
        comparison = {
            "leaders": _frame(c.leaders),
            "kendall": _frame(c.kendall),
            "alignment_tax": {k: _cell(v) for k, v in c.alignment_tax.items()},
            "notes": list(c.notes),
        }
    elif "value" not in numeric:
        notes.append(f"{name}: no agent carries a numeric 'value', so no rule's credit is shown")
    best = best_agent(lineage) if "value" in numeric else None
    best_path = [] if best is None else [*reversed(lineage.ancestors(best)), best]
    curves, summary, rules_of = None, None, None
    if run_dir is not None:
        try:
            rules_of = constitutions(run_dir)
        except Exception as exc:  # a plugin environment not importable here: the page says so
            notes.append(f"{name}: the constitutions' rules are not named ({type(exc).__name__}: {exc})")
        curves = _curves(run_dir / "curves.csv", {a: i for i, a in enumerate(ids)})
        summary_path = run_dir / "summary.json"
        if summary_path.is_file():
            from lineage import read_text
            from spawn import limits

            raw = read_text(
                summary_path, limit=limits.get("data_bytes"), what="summary.json", hint=limits.hint("data_bytes")
            )
            summary = _plain(json.loads(raw))
    entry = {
        "name": name,
        "agents": n,
        "id": ids,
        "parent": parent,
        "operator": [operators[i] for i in order],
        "depth": [int(depth[i]) for i in order],
        "numeric": numeric,
        "text": text,
        "credit": credit,
        "liability": liability,
        "compare": comparison,
        "best": best,
        "best_path": best_path,
        "curves": curves,
        "summary": summary,
        "constitutions": rules_of,
    }
    return entry, notes


def _best_by_world_time(g: LineageGraph) -> pd.Series:
    """A recursive run's best value so far against world time (each agent counted once it finished:
    its birth time plus its training steps)."""
    done = g.column("birth_time") + np.nan_to_num(g.column("train_steps"))
    value = g.column("value")
    keep = np.isfinite(done) & np.isfinite(value)
    series = pd.Series(value[keep], index=done[keep].astype(np.int64)).sort_index()
    return series.groupby(level=0).max().cummax()


def _arm_curves(src: Any, lineages: dict[str, list[LineageGraph]]) -> dict[str, Any] | None:
    """Each arm's best value so far against steps spent, mean and 95% interval over its seeds: the
    selection curves of archive runs, else (recursive runs) best value against world time."""
    from spawn.experiments.curves import best_against_budget
    from spawn.plots.selection import selection_curves

    if src.kind not in ("sweep", "study"):
        return None
    runs = [r for rs in src.arms.values() for r in rs]
    if src.kind == "study" or all((r / "batches.csv").is_file() for r in runs):
        frame = selection_curves(src)
        x = "steps spent (training and evaluation)" if frame.attrs.get("cost") == "total" else "training steps spent"
    else:
        frame = best_against_budget({arm: [_best_by_world_time(g) for g in gs] for arm, gs in lineages.items()})
        x = "world time (training steps) when the agent finished"
    curves = [
        {
            "arm": str(arm),
            "spent": [int(v) for v in rows["spent"]],
            "mean": _finite(rows["mean"].tolist()),
            "lo": _finite(rows["lo"].tolist()),
            "hi": _finite(rows["hi"].tolist()),
            "n": [int(v) for v in rows["n"]],
        }
        for arm, rows in frame.groupby("selector", sort=False)
    ]
    return {"x": x, "y": "best value so far (mean over seeds, 95% interval)", "curves": curves}


def explorer_data(
    path: str | Path,
    rules: Sequence[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    attributes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The page's data for what ``lineage-sim view PATH`` accepts: a run directory, a lineage file,
    a sweep or a selector-study directory; ``progress(done, total, name)`` is called before each run;
    ``attributes``: see :func:`run_data`.

    Raises
    ------
    PlotError
        When the path holds none of these, or a file in it is not what it should be.
    """
    from spawn.plots.common import load_lineage, load_source
    from spawn.run.layout import RunDir

    src = load_source(path)
    runs: list[dict[str, Any]] = []
    notes: list[str] = []
    say = progress or (lambda done, total, name: None)
    lineages: dict[str, list[LineageGraph]] = {}
    if src.kind == "lineage":
        say(0, 1, src.path.name)
        entry, notes = run_data(load_lineage(src.path), src.path.name, rules, None, attributes)
        runs.append(entry)
    else:
        todo = [(arm, d) for arm, dirs in src.arms.items() for d in dirs]
        for k, (arm, d) in enumerate(todo):
            name = d.name if src.kind == "run" else f"{arm}/{d.name}"
            say(k, len(todo), name)
            g = load_lineage(RunDir(d).lineage)
            lineages.setdefault(arm, []).append(g)
            entry, more = run_data(g, name, rules, d, attributes)
            runs.append(entry)
            notes += [m for m in more if m not in notes]
    if not runs or not any(r["agents"] for r in runs):
        raise PlotError(f"{str(path)!r} holds no agents to show")
    return {
        "format": FORMAT,
        "version": VERSION,
        "source": str(path),
        "kind": src.kind,
        "runs": runs,
        "arms": _arm_curves(src, lineages),
        "notes": notes,
    }
