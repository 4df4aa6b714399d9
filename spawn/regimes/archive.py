"""The archive regime: a driver keeps every agent and, batch by batch, a selector picks who breeds.

As in the Darwin and Huxley Gödel Machines: the root is trained and evaluated; then, until the
budget is spent, the selector picks ``[archive] batch_size`` parents from the archive (with
replacement), each parent makes one child with an operator drawn as in the recursive regime, the
children run (in parallel on the runtime's ``map``) and join the archive in id order. Agents never
spawn by themselves here. The selector and the operator draws use streams of their own, seeded
from the run's seed and disjoint from the agents' streams, so the lineage is byte-identical on
every runtime.
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lineage import LineageGraph, path_key
from spawn.config import SimConfig
from spawn.life.codec import (
    bad_entry,
    decode_best,
    decode_record,
    decode_spec,
    encode,
    encode_best,
    encode_record,
    encode_spec,
    plain_data,
)
from spawn.life.job import AgentRecord, AgentSpec, JobResult, build_agent, root_spec, run_agent, suite_for
from spawn.life.lineage import add_record, run_lineage
from spawn.life.operators import Birth, apply_operator, draw_operator, lineage_fields, reads_best_episodes
from spawn.life.utility import root_utility
from spawn.regimes.base import Saver
from spawn.regimes.selectors import select

__all__ = [
    "SELECTOR_STREAM",
    "STEP_COLUMNS",
    "ArchiveState",
    "archive_root",
    "batch_specs",
    "batches_csv",
    "extended_record",
    "run_archive",
    "run_jobs",
    "start_root",
    "step_row",
    "steps_csv",
]

#: First spawn-key element of the selector's stream: agents' paths start with 0, evaluation uses
#: 2**31 - 1 and fault injection 2**31 - 2.
SELECTOR_STREAM = 2**31 - 3


def _run_job(item: tuple[AgentSpec, SimConfig]) -> JobResult:
    return run_agent(*item)


def _run_cohort(item: tuple[list[AgentSpec], SimConfig]) -> list[JobResult]:
    from spawn.life.cohort import run_cohort

    return run_cohort(*item)


def run_jobs(cfg: SimConfig, executor: Any, specs: list[AgentSpec]) -> list[JobResult]:
    """Every spec's life on the runtime, results in the order of ``specs``: one job each, or with
    ``engine = "cohort"`` one cohort per worker (``executor.cohorts``, 1 in process), a contiguous
    slice of the batch each."""
    if cfg.engine != "cohort" or len(specs) < 2:
        return list(executor.map(_run_job, [(s, cfg) for s in specs]))
    size = math.ceil(len(specs) / max(1, int(getattr(executor, "cohorts", 1))))
    chunks = [list(specs[i : i + size]) for i in range(0, len(specs), size)]
    return [r for chunk in executor.map(_run_cohort, [(c, cfg) for c in chunks]) for r in chunk]


@dataclass
class ArchiveState:
    """Everything an archive run has done: resumable after any batch."""

    records: dict[str, AgentRecord] = field(default_factory=dict)
    finals: dict[str, AgentSpec] = field(default_factory=dict)  # breeding templates of archived agents
    best: dict[str, dict[str, Any]] = field(default_factory=dict)
    ordered: list[str] = field(default_factory=list)  # who may be picked, in id order (see archive)
    n_children: dict[str, int] = field(default_factory=dict)
    batch: int = 0
    spent: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)  # checkpoint entries not yet saved
    eval_spent: int = 0  # evaluation steps of every agent (first evaluations and HGM's loop)
    episodes: int = 0  # evaluation episodes so far, first evaluations included (HGM's N)
    # HGM's loop (expand = "ucb-air", spawn.regimes.ucbair): each agent's first-evaluation record, its
    # loop episodes per environment ([episodes, successes, return sum, steps]), and steps.csv's rows
    first: dict[str, AgentRecord] = field(default_factory=dict)
    extra: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    # the selectors' lineage, kept up to date (see lineage), and the agents HGM's loop changed since
    changed: set[str] = field(default_factory=set)
    graph: LineageGraph | None = None
    # a parent's best training episodes, kept only when an operator that may be drawn reads them
    keep_best: bool = True
    # the highest value so far and its agent, as (-value, path key, id) (None: to be found again, after
    # HGM's loop changed a record): a batch's row then costs nothing per agent of the lineage
    top: tuple[float, Any, str] | None = None
    # archived agents not yet merged into ordered (a batch's, merged once: see archive), and the
    # deepest archived agent's depth (the depth cap filters the archive only once someone reaches it)
    incoming: list[str] = field(default_factory=list)
    deepest: int = 0

    @property
    def archive(self) -> list[str]:
        """Who may be picked, in id order. A batch's agents are merged in at once, on the first read
        after it: one pass over the archive per batch, where inserting each agent in order moved the
        list's tail once per agent (at 10^6 agents, most of a run's time)."""
        if self.incoming:
            new, self.incoming = sorted(self.incoming, key=path_key), []
            old = self.ordered
            cuts = [bisect.bisect_left(old, path_key(a), key=path_key) for a in new]
            merged: list[str] = []
            start = 0
            for cut, agent in zip(cuts, new, strict=True):
                merged += old[start:cut]
                merged.append(agent)
                start = cut
            merged += old[start:]
            self.ordered = merged
        return self.ordered

    def parents(self, max_depth: int) -> list[str]:
        """The archived agents that may still have children under the depth cap ``max_depth``."""
        if self.deepest < max_depth:
            return self.archive
        return [x for x in self.archive if self.finals[x].depth < max_depth]

    @classmethod
    def new(cls, cfg: SimConfig) -> ArchiveState:
        """The state of an archive run of ``cfg`` before its root."""
        return cls(keep_best=reads_best_episodes(cfg.operators))

    def add(self, result: JobResult, eligible: bool) -> None:
        rec = result.record
        result = self.saved(result)
        self.pending.append(
            encode(
                lambda: {
                    "k": "agent",
                    "record": encode_record(rec),
                    "eligible": eligible,
                    "final": None if result.final is None else encode_spec(result.final),
                    "best": encode_best(result.best),
                },
                f"agent {rec.id}",
            )
        )
        self._apply(result, eligible)

    def saved(self, result: JobResult) -> JobResult:
        """``result`` as the archive keeps and saves it: without its best training episodes when no
        operator that may be drawn reads them (they are never read)."""
        if not self.keep_best and result.best is not None:
            return replace(result, best=None)
        return result

    def log_batch(self, row: dict[str, Any]) -> None:
        self.pending.append(encode(lambda: {"k": "batch", "row": plain_data(row, "batch row")}, "a batch"))
        self.log.append(row)
        self.batch += 1

    def save(self, writer: Saver) -> None:
        """Append what is new since the last save (a whole batch: the archive saves between batches)."""
        entries, self.pending = self.pending, []
        writer.save(entries)

    @classmethod
    def replay(cls, cfg: SimConfig, entries: list[dict[str, Any]], out: Path) -> ArchiveState:
        """The state a checkpoint's entries describe (every counter is rebuilt from them)."""
        state = cls.new(cfg)
        state.extend(cfg, entries, out)
        return state

    def extend(self, cfg: SimConfig, entries: list[dict[str, Any]], out: Path) -> None:
        """Apply more of a checkpoint's entries, the ones that follow those this state was made of
        (:meth:`replay` applies them all at once; a replay of several agents goes on from one batch
        to the next)."""
        state = self
        slugs = suite_for(cfg).slugs
        try:
            for e in entries:
                kind = e.get("k")
                if kind == "agent" and sorted(e) == ["best", "eligible", "final", "k", "record"]:
                    result = _decode_agent(cfg, e, slugs)
                    state._apply(result, e["eligible"])
                    parent = result.record.parent
                    if parent is not None:
                        state.n_children[parent] = state.n_children.get(parent, 0) + 1
                elif kind == "batch" and sorted(e) == ["k", "row"] and type(e["row"]) is dict:
                    state.log.append(e["row"])
                    state.batch += 1
                elif kind == "eval" and sorted(e) == ["agent", "env", "k", "return", "steps", "success"]:
                    if e["agent"] not in state.first or e["env"] not in slugs:
                        raise ValueError(f"an evaluation of an unknown agent or environment: {e['agent']!r}")
                    if type(e["success"]) is not bool or type(e["steps"]) is not int or e["steps"] < 1:
                        raise ValueError("an evaluation's success or steps are not valid")
                    state.add_episode(cfg, e["agent"], e["env"], float(e["return"]), e["success"], e["steps"])
                elif kind == "step" and sorted(e) == ["k", "row"] and type(e["row"]) is dict:
                    state.steps.append(e["row"])
                else:
                    raise ValueError("not an entry of the archive regime")
        except Exception as exc:
            raise bad_entry(out, exc) from None

    @staticmethod
    def decode_agent(cfg: SimConfig, entry: dict[str, Any], out: Path) -> JobResult:
        """An ``agent`` entry of the checkpoint as the job's result it saved (record, final, best)."""
        try:
            if entry.get("k") != "agent" or sorted(entry) != ["best", "eligible", "final", "k", "record"]:
                raise ValueError("not an agent entry of the archive regime")
            return _decode_agent(cfg, entry, suite_for(cfg).slugs)
        except Exception as exc:
            raise bad_entry(out, exc) from None

    @property
    def total(self) -> int:
        """Training and evaluation steps so far (what HGM's loop counts against the budget)."""
        return self.spent + self.eval_spent

    def lineage(self, cfg: SimConfig) -> LineageGraph:
        """The lineage the selectors read: kept up to date, agent by agent as they join and as HGM's
        loop changes their counts, rather than made again for every batch (which cost, per batch,
        half a millisecond per agent of the archive). Agents are in the order they joined."""
        if self.graph is None:
            self.graph = run_lineage(cfg)
        g = self.graph
        for agent in itertools.islice(self.records, len(g), None):  # records are in the order they joined
            add_record(g, self.records[agent])
            self.changed.discard(agent)
        for agent in sorted(self.changed, key=path_key):
            g.update(agent, **self.records[agent].attributes)
        self.changed.clear()
        return g

    def log_step(self, row: dict[str, Any]) -> None:
        """A row of HGM's loop's ``steps.csv``."""
        self.pending.append(encode(lambda: {"k": "step", "row": plain_data(row, "a loop step")}, "a loop step"))
        self.steps.append(row)

    def episode(self, cfg: SimConfig, agent: str, env: str, ret: float, success: bool, steps: int) -> None:
        """One more evaluation episode of ``agent`` on ``env`` (HGM's loop), recorded and applied."""
        entry = {"k": "eval", "agent": agent, "env": env, "return": ret, "success": success, "steps": steps}
        self.pending.append(encode(lambda: entry, f"an evaluation of agent {agent}"))
        self.add_episode(cfg, agent, env, ret, success, steps)

    def add_episode(self, cfg: SimConfig, agent: str, env: str, ret: float, success: bool, steps: int) -> None:
        """Apply a loop episode: the agent's counts, returns, values and evaluation steps now count it."""
        tally = self.extra.setdefault(agent, {}).setdefault(env, [0, 0, 0.0, 0])
        tally[0] += 1
        tally[1] += int(success)
        tally[2] += ret
        tally[3] += steps
        self.records[agent] = extended_record(cfg, self.first[agent], self.extra[agent])
        self.top = None
        self.changed.add(agent)
        self.eval_spent += steps
        self.episodes += 1

    def _apply(self, result: JobResult, eligible: bool) -> None:
        rec = result.record
        self.records[rec.id] = rec
        if self.top is not None or len(self.records) == 1:
            key = (-_value(rec), path_key(rec.id), rec.id)
            self.top = key if self.top is None else min(self.top, key)
        self.first[rec.id] = rec
        self.spent += rec.train_steps
        self.eval_spent += rec.eval_steps
        self.episodes += int(rec.attributes.get("trials", 0) or 0)
        if eligible and result.final is not None and "error" not in rec.attributes:
            self.finals[rec.id] = result.final
            self.best[rec.id] = dict(result.best or {}) if self.keep_best else {}
            self.incoming.append(rec.id)
            self.deepest = max(self.deepest, result.final.depth)


def _decode_agent(cfg: SimConfig, e: dict[str, Any], slugs: list[str]) -> JobResult:
    if type(e["eligible"]) is not bool:
        raise ValueError("eligible is not true or false")
    final = None if e["final"] is None else decode_spec(e["final"], (cfg.agent.kind,), slugs)
    return JobResult(decode_record(e["record"]), (), final, decode_best(e["best"]))


def extended_record(cfg: SimConfig, first: AgentRecord, extra: dict[str, list[float]]) -> AgentRecord:
    """An agent's record with HGM's loop's episodes counted: per environment its return (the mean over
    every episode), value, successes and trials, their suite means and sums, and its evaluation
    steps, and the root's utility of it. The alignment measurements stay its first evaluation's."""
    attrs = dict(first.attributes)
    suite = suite_for(cfg)
    for slug, (n, succ, total, _) in extra.items():
        n0 = int(attrs.get(f"{slug}.trials", 0) or 0)
        ret = (float(attrs[f"{slug}.return"]) * n0 + total) / (n0 + n)
        lo, hi = suite.facts[slug].return_range
        attrs[f"{slug}.return"] = ret
        attrs[f"{slug}.value"] = float(np.clip((ret - lo) / (hi - lo), 0.0, 1.0))
        attrs[f"{slug}.successes"] = int(attrs.get(f"{slug}.successes", 0)) + int(succ)
        attrs[f"{slug}.trials"] = n0 + int(n)
    for key in ("return", "value"):
        vals = [float(attrs[f"{s}.{key}"]) for s in suite.slugs if f"{s}.{key}" in attrs]
        if vals:
            attrs[key] = float(np.mean(vals))
    for key in ("successes", "trials"):
        parts = [int(attrs[f"{s}.{key}"]) for s in suite.slugs if f"{s}.{key}" in attrs]
        if parts:
            attrs[key] = sum(parts)
    steps = first.eval_steps + sum(int(t[3]) for t in extra.values())
    attrs["eval_steps"] = steps
    if "root_utility" in attrs:
        attrs["root_utility"] = root_utility(cfg, attrs)
    return replace(first, attributes=attrs, eval_steps=steps)


def _eligible(cfg: SimConfig, state: ArchiveState, result: JobResult) -> bool:
    if cfg.archive.keep == "all" or result.record.id == "0":
        return True
    root = state.records["0"].attributes.get("value", 0.0)
    return float(result.record.attributes.get("value", -1.0)) >= root - cfg.archive.margin


def _child(
    cfg: SimConfig, state: ArchiveState, parent: str, birth_time: int, budget: int, rng: np.random.Generator
) -> AgentSpec:
    suite = suite_for(cfg)
    template = state.finals[parent]
    attrs = state.records[parent].attributes
    index = state.n_children.get(parent, 0)
    trigger = f"selector:{cfg.selector}"
    birth = Birth(
        parent=template,
        agent=build_agent(template, suite, np.random.default_rng(0)),
        rng=rng,
        cfg=cfg,
        suite=suite,
        best=state.best[parent],
        trigger=trigger,
        drifted=bool(attrs.get("drift_alarms", 0)),  # a parent that saw its world drift may retrain
        lineage=lineage_fields(
            id=f"{parent}.{index}",
            parent=parent,
            depth=template.depth + 1,
            trigger=trigger,
            budget=budget,
            quota=0,
            birth_time=birth_time,
            liability=template.liability + attrs.get("train_violations", 0.0) + attrs.get("train_cost", 0.0),
        )
        | {"keep_final": True},
        start={},
    )
    op = draw_operator(birth, cfg.operators, fallback="finetune")  # a picked parent always breeds
    assert op is not None
    child = apply_operator(op, birth)
    state.n_children[parent] = index + 1
    return child


def batches_csv(log: list[dict[str, Any]]) -> str:
    """The per-batch report: archive size, budget spent, best so far, parents and their scores."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = [
        "batch",
        "archive_size",
        "spent",
        "best_agent",
        "best_value",
        "parents",
        "parent_scores",
        "children",
    ]
    w.writerow(cols)
    for row in log:
        w.writerow([row[c] for c in cols])
    return buf.getvalue()


#: The columns of ``steps.csv``: one row per step of the archive's growth, the root first. A step is
#: a batch (``expand``: its parents and children), or under HGM's loop one decision (``expand``: a
#: parent and its child; ``evaluate``: one more episode of ``agent`` on ``env``, and ``success``).
#: What ``agent`` (each of them, space-separated) measures after the step: its value, successes and
#: trials over every evaluation episode it has had. The counters after it: archive size, evaluation
#: episodes, training, evaluation and total steps, and the archive's best agent and its value.
STEP_COLUMNS = (
    "step",
    "action",
    "parent",
    "agent",
    "env",
    "success",
    "value",
    "successes",
    "trials",
    "archive_size",
    "episodes",
    "train_steps",
    "eval_steps",
    "total_steps",
    "best_agent",
    "best_value",
)


def _figure(records: dict[str, AgentRecord], agents: str, key: str) -> str:
    def one(agent: str) -> str:
        x = records[agent].attributes.get(key)
        return "" if x is None else f"{x:.12g}" if isinstance(x, float) else str(x)

    return " ".join(one(a) for a in agents.split())


def step_row(
    state: ArchiveState,
    archive_size: int,
    best: tuple[str, float],
    records: dict[str, AgentRecord] | None = None,
    **what: Any,
) -> dict[str, Any]:
    """A row of ``steps.csv``: ``what`` the step did, what its agents measure now (in ``records``,
    default ``state.records``), and the archive's counters after it."""
    row = {"parent": "", "agent": "", "env": "", "success": ""} | what
    records = state.records if records is None else records
    row |= {key: _figure(records, str(row["agent"]), key) for key in ("value", "successes", "trials")}
    return row | {
        "archive_size": archive_size,
        "episodes": state.episodes,
        "train_steps": state.spent,
        "eval_steps": state.eval_spent,
        "total_steps": state.total,
        "best_agent": best[0],
        "best_value": best[1],
    }


def _batch_steps(state: ArchiveState) -> list[dict[str, Any]]:
    """``steps.csv`` of an expand-only run, from its agents and ``batches.csv``'s rows."""
    if "0" not in state.records:
        return []
    shown = ArchiveState()

    def join(agent: str) -> None:
        rec = state.records[agent]
        shown.spent += rec.train_steps
        shown.eval_spent += rec.eval_steps
        shown.episodes += int(rec.attributes.get("trials", 0) or 0)

    join("0")
    root_value = state.records["0"].attributes.get("value")
    root_best = ("0", float(root_value) if root_value is not None else float("-inf"))
    rows = [step_row(shown, int("0" in state.archive), root_best, state.records, step=0, action="root", agent="0")]
    for row in state.log:
        for child in str(row["children"]).split():
            join(child)
        best = (str(row["best_agent"]), float(row["best_value"]))
        what = {"step": int(row["batch"]) + 1, "action": "expand", "parent": row["parents"], "agent": row["children"]}
        rows.append(step_row(shown, int(row["archive_size"]), best, state.records, **what))
    return rows


def steps_csv(state: ArchiveState) -> str:
    """``steps.csv`` (see :data:`STEP_COLUMNS`): HGM's loop's decisions, or an expand-only run's batches."""
    rows = state.steps or _batch_steps(state)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(STEP_COLUMNS)
    for row in rows:
        w.writerow([f"{row[c]:.12g}" if isinstance(row[c], float) else row[c] for c in STEP_COLUMNS])
    return buf.getvalue()


def _value(rec: AgentRecord) -> float:
    x = rec.attributes.get("value")
    return float(x) if x is not None else float("-inf")


def _best(state: ArchiveState) -> tuple[str, float]:
    """The agent of the highest value so far (ties by id) and that value."""
    if state.top is None:
        recs = state.records
        state.top = min((-_value(r), path_key(a), a) for a, r in recs.items())
    return state.top[2], -state.top[0]


def _batch_row(
    state: ArchiveState,
    picks: tuple[str, ...],
    scores: dict[str, float],
    specs: list[AgentSpec],
    best: tuple[str, float] | None = None,
) -> dict[str, Any]:
    """A row of ``batches.csv``: the archive after the batch, its best agent (``best``, or the highest
    value), parents and children."""
    best_agent, best_value = best or _best(state)
    return {
        "batch": state.batch,
        "archive_size": len(state.archive),
        "spent": state.spent,
        "best_agent": best_agent,
        "best_value": best_value,
        "parents": " ".join(picks),
        "parent_scores": " ".join(f"{scores[p]:.6g}" for p in picks),
        "children": " ".join(s.id for s in specs),
    }


def archive_root(cfg: SimConfig) -> AgentSpec:
    """The archive's root: the lineage's first agent on ``root_budget``, keeping its final state."""
    budget = min(cfg.budget, cfg.archive.root_budget or cfg.archive.child_budget)
    return replace(root_spec(cfg), budget=budget, quota=0, keep_final=True)


def batch_specs(cfg: SimConfig, state: ArchiveState, picks: tuple[str, ...] | list[str]) -> list[AgentSpec]:
    """The children of batch ``state.batch``, one per parent in ``picks`` (in pick order, repeats
    included), made from ``state`` as it is before the batch: each parent's template, its children so
    far, the budget spent. The operators draw from one stream per batch, in pick order. The run
    makes its batches here, and so does the replay of one of their agents (rebuilding the state
    from the checkpoint's entries before the batch)."""
    a = cfg.archive
    remaining = cfg.budget - state.spent
    op_rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(SELECTOR_STREAM, state.batch, 1)))
    return [
        _child(cfg, state, parent, state.spent, min(a.child_budget, remaining - k * a.child_budget), op_rng)
        for k, parent in enumerate(picks)
    ]


def start_root(cfg: SimConfig, executor: Any, state: ArchiveState) -> JobResult:
    """Train and evaluate the root (on ``root_budget``) and put it in the archive."""
    (result,) = executor.map(_run_job, [(archive_root(cfg), cfg)])
    state.add(result, True)
    return result


def run_archive(
    cfg: SimConfig,
    writer: Saver,
    executor: Any,
    state: ArchiveState,
    on_batch: Any,
    stop_after: int | None,
) -> bool:
    """Run (or continue) an archive run; returns whether it finished. ``state`` is updated in place."""
    a = cfg.archive
    new = 0
    if not state.records:
        result = start_root(cfg, executor, state)
        new += 1
        on_batch([result])
        state.save(writer)
    trials = cfg.eval.episodes * len(cfg.envs)
    while state.spent < cfg.budget and len(state.records) < cfg.caps.max_agents:
        remaining = cfg.budget - state.spent
        archive = state.parents(cfg.caps.max_depth)
        if not archive:
            break
        n = min(a.batch_size, math.ceil(remaining / a.child_budget), cfg.caps.max_agents - len(state.records))
        sel_rng = np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=(SELECTOR_STREAM, state.batch)))
        lineage = state.lineage(cfg)
        sel = select(
            cfg.selector,
            archive,
            lineage,
            n,
            sel_rng,
            dgm_lambda=a.dgm_lambda,
            hgm_tau=a.hgm_tau,
            temperature=a.temperature,
            eval_trials=trials,
        )
        specs = batch_specs(cfg, state, sel.picks)
        results = run_jobs(cfg, executor, specs)
        for r in sorted(results, key=lambda r: path_key(r.record.id)):
            state.add(r, _eligible(cfg, state, r))
        state.log_batch(_batch_row(state, sel.picks, sel.scores, specs))
        new += len(results)
        on_batch(results)
        state.save(writer)
        if stop_after is not None and new >= stop_after:
            return False
    return True
