"""HGM's loop (``[archive] expand = "ucb-air"``): expand or evaluate, the budget counting both.

At each decision, with N the evaluation episodes so far (every first evaluation included, the
root's too) and |archive| the agents kept so far plus the children being made:

- **expand** when N^alpha >= |archive|: the selector picks a parent among the archived agents below
  ``max_depth`` (``hgm``: Thompson sampling on the clade's pooled counts, Beta(tau (1 + S_C),
  tau (1 + F_C))); the child trains on ``child_budget`` and is evaluated on ``[eval] episodes`` per
  environment, as every archive child is;
- **evaluate** otherwise: one Thompson draw per archived agent from Beta(tau (1 + s), tau (1 + f)) on
  its *own* counts; the highest draw runs one more evaluation episode, on the suite's environments
  in turn (each agent its own position); its counts, value, clade CMP and the archive's best update
  (:func:`spawn.regimes.archive.extended_record`).

Decisions are made one at a time. An evaluation episode runs at once, in the driver (it is short);
expansions wait until ``batch_size`` of them are pending (HGM's workers), then run together on the
runtime and join in id order: a *round* (a row of ``batches.csv``; every decision is a row of
``steps.csv``). Pending children count in |archive|, as HGM's ``n_pending_expands`` do. The loop stops
once training and evaluation steps together reach the budget (children being made may take it
past, as HGM's work in flight does).

With ``hgm_cooldown = beta > 0`` every draw's tau is multiplied by (budget / (budget - spent))^beta,
10,000 once the budget is spent: HGM's ``cool_down``, sharper draws as the budget runs out.

Randomness: decision ``d`` draws its expansion's parent from ``SeedSequence(seed,
spawn_key=(SELECTOR_STREAM, d))``, the operator from ``(..., d, 1)``, the evaluation draw from
``(..., d, 2)``; an agent's ``k``-th loop episode has its environment seed from ``(LOOP_EVAL_STREAM,
k)`` and its action draws from ``(LOOP_EVAL_STREAM, k, 1)``, common to every agent as the first
evaluation's seeds are. The loop is the same on every runtime and resumes at round boundaries.

Departures from HGM's code (``metauto-ai/HGM``, ``hgm.py``): children have their first evaluation
(HGM's start with none); and when expanding, every archived agent may be picked, where HGM's code
skips agents without a success yet, so that a lineage whose root never succeeds still grows.

The archive's best agent is HGM's final agent: the highest posterior mean (1 + s) / (2 + n) of its
own success rate (uniform prior), among agents with at least ``final_trials`` evaluation episodes
(default: a whole first evaluation), ties to the earliest id (:func:`final_agent`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lineage import path_key
from spawn.config import SimConfig
from spawn.life.evaluate import evaluate_episode
from spawn.life.job import AgentSpec, JobResult, build_agent, suite_for
from spawn.regimes.archive import (
    SELECTOR_STREAM,
    ArchiveState,
    _batch_row,
    _best,
    _child,
    _eligible,
    run_jobs,
    start_root,
    step_row,
)
from spawn.regimes.base import Saver
from spawn.regimes.selectors import select

__all__ = [
    "LOOP_EVAL_STREAM",
    "TEST_STREAM",
    "archive_best",
    "final_agent",
    "held_out_test",
    "loop_child",
    "loop_tau",
    "own_counts",
    "round_specs",
    "run_ucb_air",
]

#: First spawn-key element of the loop's evaluation episodes (the run-wide first evaluations use
#: 2**31 - 1, faults 2**31 - 2, the selector 2**31 - 3).
LOOP_EVAL_STREAM = 2**31 - 4

#: First spawn-key element of the held-out test of the archive's best agent (``test_episodes``).
TEST_STREAM = 2**31 - 5

#: Evaluation episodes at most in one round without an expansion (a checkpoint after each round).
ROUND_EVALUATIONS = 256


def loop_tau(cfg: SimConfig, spent: int) -> float:
    """The Thompson draws' tau after ``spent`` steps (``hgm_tau``, cooled down with ``hgm_cooldown``).

    >>> from spawn.config import parse_config
    >>> cfg = parse_config({"seed": 1, "budget": 100, "regime": "archive", "envs": [{"id": "FrozenLake-v1"}],
    ...                     "archive": {"expand": "ucb-air", "hgm_cooldown": 1.0}})
    >>> loop_tau(cfg, 0), loop_tau(cfg, 50), loop_tau(cfg, 100)
    (1.0, 2.0, 10000.0)
    """
    a = cfg.archive
    if a.hgm_cooldown == 0:
        return a.hgm_tau
    if spent >= cfg.budget:
        return a.hgm_tau * 10_000
    return float(a.hgm_tau * (cfg.budget / (cfg.budget - spent)) ** a.hgm_cooldown)


def own_counts(state: ArchiveState, agent: str) -> tuple[int, int]:
    """An agent's own successes and failures over every evaluation episode it had."""
    attrs = state.records[agent].attributes
    s, n = int(attrs.get("successes", 0) or 0), int(attrs.get("trials", 0) or 0)
    return s, n - s


def final_agent(cfg: SimConfig, state: ArchiveState) -> tuple[str, float]:
    """HGM's final agent and its value: the highest posterior mean (1 + s) / (2 + n) of its own success
    rate among agents with at least ``final_trials`` episodes (all evaluated agents when none has
    that many), ties to the earliest id; the root with ``-inf`` when no agent was evaluated."""
    need = cfg.archive.final_trials or cfg.eval.episodes * len(cfg.envs)
    counted = {a: own_counts(state, a) for a, r in state.records.items() if r.attributes.get("trials")}
    pool = [a for a, (s, f) in counted.items() if s + f >= need] or list(counted)
    if not pool:
        return "0", float("-inf")
    best = min(pool, key=lambda a: (-(1 + counted[a][0]) / (2 + sum(counted[a])), path_key(a)))
    value = state.records[best].attributes.get("value")
    return best, float(value) if value is not None else float("-inf")


def archive_best(cfg: SimConfig, state: ArchiveState) -> tuple[str, float]:
    """The archive's best agent and its value: HGM's final agent under the loop, otherwise the
    highest value (ties to the earliest id)."""
    return final_agent(cfg, state) if cfg.archive.expand == "ucb-air" else _best(state)


def held_out_test(cfg: SimConfig, state: ArchiveState) -> dict[str, Any]:
    """The archive's best agent measured on ``test_episodes`` held-out episodes per environment:
    seeds from ``SeedSequence(seed, spawn_key=(TEST_STREAM,))`` (one child per environment; the same
    for every arm of a seed), action draws from ``(TEST_STREAM, 1)``, outside the budget. Its
    ``value`` was chosen on the evaluations it was picked by, and so is biased upwards (most for the
    highest of many noisy values); ``test_value`` is not."""
    agent, value = archive_best(cfg, state)
    n = cfg.archive.test_episodes
    out: dict[str, Any] = {"agent": agent, "rule": "posterior mean" if cfg.archive.expand == "ucb-air" else "value"}
    out |= {"value": value, "trials": int(state.records[agent].attributes.get("trials", 0) or 0), "test_episodes": n}
    if agent not in state.finals:  # its life failed: nothing to test
        return out | {"test_value": None}
    suite = suite_for(cfg)
    spec = state.finals[agent]
    built = build_agent(spec, suite, np.random.default_rng(0))
    rng = _rng(cfg, TEST_STREAM, 1)
    clock = spec.birth_time + state.first[agent].train_steps
    seeds = np.random.SeedSequence(cfg.seed, spawn_key=(TEST_STREAM,)).spawn(len(suite.slugs))
    values, successes, steps = {}, 0, 0
    for slug, ss in zip(suite.slugs, seeds, strict=True):
        eps = [evaluate_episode(built, spec, suite, cfg, slug, int(x), rng, clock) for x in ss.generate_state(n)]
        lo, hi = suite.facts[slug].return_range
        values[slug] = float(np.clip((np.mean([e.ret for e in eps]) - lo) / (hi - lo), 0.0, 1.0))
        successes += sum(e.success for e in eps)
        steps += sum(e.steps for e in eps)
    return out | {
        "test_value": float(np.mean(list(values.values()))),
        "test_values": values,
        "test_successes": successes,
        "test_trials": n * len(suite.slugs),
        "test_steps": steps,
    }


def _rng(cfg: SimConfig, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(cfg.seed, spawn_key=key))


class _Evaluator:
    """The loop's evaluation episodes: each archived agent built once (with every task of the suite,
    in suite order, so that it is the same agent after a resume), each episode reset from its seed."""

    def __init__(self, cfg: SimConfig, state: ArchiveState) -> None:
        self.cfg, self.state, self.suite = cfg, state, suite_for(cfg)
        self.agents: dict[str, Any] = {}

    def position(self, agent: str) -> int:
        return sum(int(t[0]) for t in self.state.extra.get(agent, {}).values())

    def run(self, agent: str) -> tuple[str, Any]:
        cfg, suite = self.cfg, self.suite
        k = self.position(agent)
        slug = suite.slugs[k % len(suite.slugs)]
        spec = self.state.finals[agent]
        built = self.agents.get(agent)
        if built is None:
            built = self.agents[agent] = build_agent(spec, suite, np.random.default_rng(0))
            for s in suite.slugs:
                if s not in built.shapes:
                    built.add_task(s, suite.facts[s].shape)
        seed = int(np.random.SeedSequence(cfg.seed, spawn_key=(LOOP_EVAL_STREAM, k)).generate_state(1)[0])
        clock = spec.birth_time + self.state.first[agent].train_steps  # where its first evaluation was
        return slug, evaluate_episode(built, spec, suite, cfg, slug, seed, _rng(cfg, LOOP_EVAL_STREAM, k, 1), clock)


def loop_child(cfg: SimConfig, state: ArchiveState, d: int, parent: str, committed: int) -> AgentSpec:
    """The child decision ``d`` makes of ``parent``, with ``committed`` steps of the round's children
    made before it: on ``child_budget`` or what is left of the budget, its operator drawn from the
    decision's stream. The loop makes its children here, and so does :func:`round_specs`."""
    budget = min(cfg.archive.child_budget, cfg.budget - state.total - committed)
    return _child(cfg, state, parent, state.spent, budget, _rng(cfg, SELECTOR_STREAM, d, 1))


def round_specs(cfg: SimConfig, state: ArchiveState, entries: list[dict[str, Any]]) -> list[AgentSpec]:
    """The children of a round of the loop, made again from ``state`` as it was before the round and
    the round's checkpoint ``entries`` (up to its batch row): its decisions in order, each
    evaluation's episode applied as the run applied it, each expansion's child made by
    :func:`loop_child`. For the replay of an agent; the run makes them as it decides."""
    evals = iter(e for e in entries if e.get("k") == "eval")
    rows = sorted((e["row"] for e in entries if e.get("k") == "step"), key=lambda row: int(row["step"]))
    specs: list[AgentSpec] = []
    for row in rows:
        if row["action"] == "evaluate":
            e = next(evals)
            state.add_episode(cfg, e["agent"], e["env"], float(e["return"]), e["success"], e["steps"])
        elif row["action"] == "expand":
            committed = sum(spec.budget for spec in specs)
            specs.append(loop_child(cfg, state, int(row["step"]), str(row["parent"]), committed))
    return specs


def _evaluation_pick(cfg: SimConfig, state: ArchiveState, d: int, tau: float) -> str:
    """The agent Thompson sampling on its own counts picks for one more episode (decision ``d``)."""
    counts = [own_counts(state, x) for x in state.archive]
    alpha = np.array([tau * (1 + s) for s, _ in counts])
    beta = np.array([tau * (1 + f) for _, f in counts])
    return state.archive[int(np.argmax(_rng(cfg, SELECTOR_STREAM, d, 2).beta(alpha, beta)))]


def run_ucb_air(
    cfg: SimConfig,
    writer: Saver,
    executor: Any,
    state: ArchiveState,
    on_batch: Any,
    stop_after: int | None,
) -> bool:
    """Run (or continue) HGM's loop; returns whether it finished. ``state`` is updated in place.

    ``on_batch(results, steps)`` is told of every round: the agents made and the steps spent."""
    a = cfg.archive
    new = 0
    if not state.records:
        result = start_root(cfg, executor, state)
        state.log_step(step_row(state, len(state.archive), final_agent(cfg, state), step=0, action="root", agent="0"))
        new += 1
        on_batch([result], result.record.train_steps + result.record.eval_steps)
        state.save(writer)
    evaluator = _Evaluator(cfg, state)
    while state.archive and state.total < cfg.budget:
        before = state.total
        specs: list[tuple[int, str, AgentSpec]] = []
        scores: dict[str, float] = {}
        evaluations = 0
        while len(specs) < a.batch_size and evaluations < ROUND_EVALUATIONS:
            committed = sum(spec.budget for _, _, spec in specs)
            spent = state.total
            if spent + committed >= cfg.budget:
                break
            d = len(state.steps) + len(specs)  # the decision's number (the root's row is step 0)
            tau = loop_tau(cfg, spent)
            parents = state.parents(cfg.caps.max_depth)
            room = len(state.records) + len(specs) < cfg.caps.max_agents
            if parents and room and state.episodes**a.alpha >= len(state.archive) + len(specs):
                sel = select(
                    cfg.selector,
                    parents,
                    state.lineage(cfg),
                    1,
                    _rng(cfg, SELECTOR_STREAM, d),
                    dgm_lambda=a.dgm_lambda,
                    hgm_tau=tau,
                    temperature=a.temperature,
                    eval_trials=cfg.eval.episodes * len(cfg.envs),
                )
                (parent,) = sel.picks
                scores |= sel.scores
                specs.append((d, parent, loop_child(cfg, state, d, parent, committed)))
                continue
            agent = _evaluation_pick(cfg, state, d, tau)
            slug, ep = evaluator.run(agent)
            state.episode(cfg, agent, slug, ep.ret, ep.success, ep.steps)
            best = final_agent(cfg, state)
            what = {"step": d, "action": "evaluate", "agent": agent, "env": slug, "success": int(ep.success)}
            state.log_step(step_row(state, len(state.archive), best, None, **what))
            evaluations += 1
        results: list[JobResult] = []
        if specs:
            results = run_jobs(cfg, executor, [spec for _, _, spec in specs])
            for r in sorted(results, key=lambda r: path_key(r.record.id)):
                state.add(r, _eligible(cfg, state, r))
        best = final_agent(cfg, state)
        for d, parent, spec in specs:
            what = {"step": d, "action": "expand", "parent": parent, "agent": spec.id}
            state.log_step(step_row(state, len(state.archive), best, None, **what))
        picks = tuple(parent for _, parent, _ in specs)
        row = _batch_row(state, picks, scores, [spec for _, _, spec in specs], best)
        state.log_batch(row | {"spent": state.total})
        new += len(results)
        on_batch(results, state.total - before)
        state.save(writer)
        if stop_after is not None and new >= stop_after:
            return False
    return True
