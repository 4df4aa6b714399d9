"""An agent's life as a pure job: ``run_agent(spec, config) -> (record, child specs)``.

Everything an agent does depends on its :class:`AgentSpec` and the run's config alone: its random
streams come from ``SeedSequence(seed, spawn_key=path)``, evaluation episodes use seeds common to
the whole run, and birth times are logical (training steps), never wall-clock. So every runtime,
in any order, on any number of processes, gives the same lineage.

The spec and record types live in :mod:`spawn.life.spec` (re-exported here), the training step
loop in :mod:`spawn.life.training`, evaluation in :mod:`spawn.life.evaluate`.
"""

from __future__ import annotations

import copy
import functools
import math
from collections import deque
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from lineage.paths import child_id
from spawn.agents import Agent, agent_class
from spawn.config import SimConfig, load_plugins
from spawn.errors import AgentFailedError, SpawnError
from spawn.life.evaluate import Observer, evaluate
from spawn.life.objectives import Objective
from spawn.life.operators import Birth, apply_operator, draw_operator, first_task, lineage_fields, operator_kind
from spawn.life.spec import AgentRecord, AgentSpec, CurveRow, JobResult, path_ints, root_spec, seed_sequence
from spawn.life.suite import Suite
from spawn.life.training import Session, TrainStats, train_session
from spawn.life.triggers import TRIGGERS, Round
from spawn.life.utility import agent_objective, root_utility, utility_attributes

__all__ = [
    "AgentRecord",
    "AgentSpec",
    "JobResult",
    "Life",
    "RoundRequest",
    "build_agent",
    "failed_result",
    "live",
    "path_ints",
    "root_spec",
    "run_agent",
    "seed_sequence",
    "suite_for",
]


@functools.cache
def _threadpools() -> ThreadpoolController:
    """The process's BLAS and OpenMP thread pools, found once (finding them reads /proc/self/maps:
    done per agent it took a seventh of a many-agent run)."""
    return ThreadpoolController()


@functools.lru_cache(maxsize=4)
def _suite_cached(cfg_json: str) -> Suite:
    return Suite(SimConfig.model_validate_json(cfg_json))


#: The suite of the config objects seen last (by identity; the config kept alive beside it): a
#: life's first step need not dump its config to find the run's suite.
_SUITES: dict[int, tuple[SimConfig, Suite]] = {}


def suite_for(cfg: SimConfig) -> Suite:
    """The run's suite, made once per process."""
    seen = _SUITES.get(id(cfg))
    if seen is not None and seen[0] is cfg:
        return seen[1]
    suite = _suite_cached(cfg.model_dump_json())
    if len(_SUITES) >= 8:
        _SUITES.clear()
    _SUITES[id(cfg)] = (cfg, suite)
    return suite


def build_agent(spec: AgentSpec, suite: Suite, rng: np.random.Generator) -> Agent:
    """The agent ``spec`` describes, on the suite's tasks it trains on, with a copy of its parameters."""
    shapes = {}
    for t in spec.tasks:
        shape, tools = suite.facts[t].shape, spec.tools.get(t, ())
        shapes[t] = shape if shape.tools == tools else replace(shape, tools=tools)
    cls = agent_class(spec.agent_kind)
    params = spec.params if getattr(cls, "copies_params", False) else copy.deepcopy(spec.params)
    agent: Agent = cls(shapes, spec.hyper, rng, params)
    return agent


@dataclass(frozen=True)
class RoundRequest:
    """A round of training an agent's life asks for: ``steps`` on ``task``, every reward shown to
    ``watch`` (or ``None``), SMDP steps discounted by ``gamma``."""

    task: str
    steps: int
    watch: Any
    gamma: float


def _watcher(triggers: list[tuple[str, Any]], task: str) -> Any:
    """One function of the reward calling every trigger's watch of ``task``, or ``None``."""
    fns = [f for f in (getattr(t, "watch", lambda task: None)(task) for _, t in triggers) if f is not None]
    if len(fns) <= 1:
        return fns[0] if fns else None

    def watch(r: float) -> None:
        for f in fns:
            f(r)

    return watch


# ---------------------------------------------------------------------- the life
class Life:
    """One agent's life: train in rounds, spawn children when a trigger fires, evaluate, record.

    Its state stays readable when user code (a plugin agent, an environment) raises midway, so
    that the failure can be recorded on the agent's node instead of taking the run down.
    """

    def __init__(self, spec: AgentSpec, cfg: SimConfig) -> None:
        self.spec, self.cfg = spec, cfg
        self.stats = TrainStats()
        self.curve: list[CurveRow] = []  # one row a round: the learning curve
        self.children: list[AgentSpec] = []
        self.sessions: dict[str, Session] = {}
        self._best: dict[str, deque[tuple[float, tuple[int, ...]]]] = {}
        load_plugins(cfg.plugins)  # a worker's first agent imports them
        self.objective: Objective = agent_objective(spec, cfg)  # with the agent's own penalty weight
        self.suite = suite_for(cfg)
        # the agent's four streams, as seed_sequence(...).spawn(4) makes them; the operators' only
        # when a child is made (most agents make none)
        self._ss = seed_sequence(cfg.seed, spec.id)
        agent_ss, env_ss, self._act_ss = self._stream(0), self._stream(1), self._stream(3)
        self.env_seeds = env_ss.generate_state(len(self.suite.slugs))
        self.lagrange = spec.lagrange
        self.agent = build_agent(spec, self.suite, np.random.default_rng(agent_ss))

    def _stream(self, i: int) -> np.random.SeedSequence:
        """``seed_sequence(...).spawn(4)[i]``, made alone."""
        ss = self._ss
        return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, i), pool_size=ss.pool_size)

    @functools.cached_property
    def op_rng(self) -> np.random.Generator:
        """The stream the operators of this agent's births draw from."""
        return np.random.default_rng(self._stream(2))

    def session(self, task: str) -> Session:
        if task not in self.sessions:
            seed = int(self.env_seeds[self.suite.slugs.index(task)])
            # A clocked world is met at the agent's logical time: its birth plus what it trained.
            self.sessions[task] = Session(
                self.suite,
                task,
                self.objective.shield,
                seed,
                self.spec.birth_time + self.stats.steps,
                self.spec.dropped_rules.get(task, ()),
            )
        return self.sessions[task]

    @property
    def liability(self) -> float:
        """Violations and cost accumulated along the ancestor chain, this agent's training included."""
        return self.spec.liability + self.stats.violations + self.stats.cost

    def train(self) -> None:
        """Train the whole budget in rounds (:meth:`rounds`), each on the per-agent path."""
        for request in self.rounds():
            self.train_round(request)

    def train_round(self, request: RoundRequest) -> None:
        """Train one round's steps on its task, this agent alone (the per-agent path)."""
        self.lagrange = train_session(
            self.agent,
            self.session(request.task),
            request.steps,
            self.objective,
            self.lagrange,
            self.stats,
            request.watch,
            request.gamma,
        )

    def rounds(self) -> Iterator[RoundRequest]:
        """The life in rounds: yields each round's training to be done (a :class:`RoundRequest`; the
        caller trains it, alone or in a cohort, before asking for the next), the tasks in turn from
        :func:`first_task`; after each round the triggers are asked, in registration order, and the
        first that fires may make a child (:meth:`_spawn`)."""
        spec, cfg, sp = self.spec, self.cfg, self.cfg.spawn
        triggers = [(n, TRIGGERS.get(n)(spec, cfg)) for n in TRIGGERS.names() if n in sp.triggers]
        watchers = {t: _watcher(triggers, t) for t in spec.tasks}
        gamma = spec.hyper.get("gamma", cfg.agent.gamma)
        remaining, quota, rounds = spec.budget, spec.quota, 0
        first = first_task(spec)  # a new-task child starts with its new task
        while remaining > 0:
            n = min(sp.round_steps, remaining)
            task = spec.tasks[(first + rounds) % len(spec.tasks)]
            rounds += 1
            moment = yield from self._round(rounds, task, n, watchers[task], gamma)
            remaining -= n
            fired = next((name for name, t in triggers if t.fires(moment)), None)
            if fired is None:
                continue
            if fired == "drift":
                self.stats.drift_alarms += 1
            allowance = self._allowance(remaining, quota)
            if allowance is not None and self._spawn(fired, task, *allowance):
                share, child_quota = allowance
                remaining -= share
                quota -= 1 + child_quota
        self.close()

    def _round(
        self, number: int, task: str, steps: int, watch: Any, gamma: float
    ) -> Generator[RoundRequest, None, Round]:
        """One round of ``steps`` on ``task`` (trained by whoever drives :meth:`rounds`); returns the
        moment the triggers are asked about."""
        stats = self.stats
        episodes_before, cost_before, violations_before = stats.episodes, stats.cost, stats.violations
        yield RoundRequest(task, steps, watch, gamma)
        # The round's episode returns (the last one's, when no episode ended this round).
        ended = stats.returns[episodes_before:] or stats.returns[-1:]
        self._record_round(number, task, ended, stats.cost - cost_before, stats.violations - violations_before)
        return Round(number, task, ended, stats.steps, self.spec.birth_time + stats.steps)

    def _record_round(self, number: int, task: str, ended: list[float], cost: float, violations: float) -> None:
        """Add the round's row to the learning curve (see :class:`~spawn.life.spec.CurveRow`)."""
        epsilon = getattr(self.agent, "hyper", {}).get("epsilon")
        self.curve.append(
            CurveRow(
                round=number,
                task=task,
                steps=self.stats.steps,
                ret=float(sum(ended) / len(ended)) if ended else None,
                cost=float(cost),
                violations=float(violations),
                lagrange=float(self.lagrange),
                epsilon=None if epsilon is None else float(epsilon),
            )
        )

    def _allowance(self, remaining: int, quota: int) -> tuple[int, int] | None:
        """The budget and descendant quota of a child made now, or ``None`` when the caps forbid one
        (depth, children, quota, a share below ``min_child_budget``, the liability gate)."""
        spec, cfg, sp = self.spec, self.cfg, self.cfg.spawn
        share = math.floor(remaining * sp.child_share)
        child_quota = math.floor((quota - 1) * sp.child_share) if quota >= 1 else 0
        if (
            spec.depth >= cfg.caps.max_depth
            or len(self.children) >= sp.max_children
            or quota < 1
            or share < sp.min_child_budget
            or (cfg.gate.max_liability is not None and self.liability > cfg.gate.max_liability)
        ):
            return None
        return share, child_quota

    def _spawn(self, fired: str, task: str, budget: int, quota: int) -> bool:
        """Make a child with the operator drawn from the operator stream (``fired``: the trigger that
        fired after a round on ``task``); ``False`` when no operator applies."""
        spec, birth_time = self.spec, self.spec.birth_time + self.stats.steps
        birth = Birth(
            parent=spec,
            agent=self.agent,
            rng=self.op_rng,
            cfg=self.cfg,
            suite=self.suite,
            best={t: s.best for t, s in self.sessions.items()},
            trigger=fired,
            drifted=fired == "drift",
            lineage=lineage_fields(
                id=child_id(spec.id, len(self.children)),
                parent=spec.id,
                depth=spec.depth + 1,
                trigger=fired,
                trigger_task=task,
                budget=budget,
                quota=quota,
                birth_time=birth_time,
                liability=self.liability,
            ),
            start={"lagrange": self.lagrange},
        )
        op = draw_operator(birth, self.cfg.operators)
        if op is None:
            return False
        self.children.append(apply_operator(op, birth))
        return True

    def close(self) -> None:
        for s in self.sessions.values():
            s.close()
        self._best = {t: s.best for t, s in self.sessions.items()}
        self.sessions.clear()

    def _attributes(self) -> dict[str, Any]:
        spec, stats = self.spec, self.stats
        attrs: dict[str, Any] = {
            "kind": operator_kind(spec.operator) if spec.operator else "root",
            "trigger": spec.trigger,
            "trigger_task": spec.trigger_task,
            "agent": spec.agent_kind,
            "objective": spec.objective,
            "birth_time": spec.birth_time,
            "budget": spec.budget,
            "train_steps": stats.steps,
            "episodes": stats.episodes,
            "tasks": ",".join(spec.tasks),
            "tools": sum(len(t) for t in spec.tools.values()),
            "children": len(self.children),
            "train_violations": stats.violations,
            "train_cost": stats.cost,
            "liability": self.liability,
            "drift_alarms": stats.drift_alarms,
        }
        if spec.dropped_rules:  # trained without these rules of its constitution: task:rule, ...
            attrs["dropped_rules"] = ",".join(f"{t}:{r}" for t, names in spec.dropped_rules.items() for r in names)
        attrs.update(self.objective.attributes(self.lagrange))
        attrs.update(utility_attributes(spec, self.cfg))  # its penalty weight and its utility's weights
        for k in ("alpha", "epsilon", "lr", "lambda", "temperature"):
            if k in spec.hyper:
                attrs[f"hp_{k}"] = spec.hyper[k]
        return attrs

    def eval_rng(self) -> np.random.Generator:
        """The stream the evaluation's action draws come from (the same generator every time)."""
        return np.random.default_rng(self._act_ss)

    def finish(
        self, evaluated: Mapping[str, tuple[dict[str, float], int]] | None = None, observe: Observer | None = None
    ) -> JobResult:
        """Evaluate and record (after :meth:`train`); ``evaluated``: episodes already run (see
        :func:`~spawn.life.evaluate.evaluate`'s ``done``); ``observe``: shown every evaluation step."""
        spec, stats = self.spec, self.stats
        clock = spec.birth_time + stats.steps
        ev = evaluate(
            self.agent, spec, self.suite, self.cfg, self.eval_rng(), clock=clock, done=evaluated, observe=observe
        )
        attrs = self._attributes() | {"eval_steps": ev.steps} | ev.attributes
        attrs["root_utility"] = root_utility(self.cfg, attrs)  # the root's utility of this agent
        record = AgentRecord(spec.id, spec.parent, spec.operator, attrs, stats.steps, ev.steps, tuple(self.curve))
        if not spec.keep_final:
            return JobResult(record, tuple(self.children))
        final = replace(
            spec,
            params=self.agent.get_params(),
            hyper=dict(self.agent.hyper) | {"softmax": spec.hyper.get("softmax", 0.0)},
            lagrange=self.lagrange,
            keep_final=False,
        )
        best = {t: tuple(episodes) for t, episodes in self._best.items()}
        return JobResult(record, tuple(self.children), final, best)

    def failed(self, exc: BaseException) -> JobResult:
        """The record of a life that user code ended: the error, what it did, per config its children."""
        self.close()
        attrs = self._attributes() | {"eval_steps": 0, "error": f"{type(exc).__name__}: {exc}"}
        keep = self.cfg.faults.on_error == "continue-clade"
        spec = self.spec
        record = AgentRecord(spec.id, spec.parent, spec.operator, attrs, self.stats.steps, 0, tuple(self.curve))
        return JobResult(record, tuple(self.children) if keep else ())


def live(spec: AgentSpec, cfg: SimConfig) -> tuple[Agent, JobResult]:
    """Run a life and also return the agent as it ended (for tests and notebooks)."""
    life = Life(spec, cfg)
    life.train()
    return life.agent, life.finish()


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is a KeyboardInterrupt that a library wrapped: in its cause or context chain,
    or named in the message of one that keeps no chain (pydantic's serializer reports
    ``Error calling function ...: KeyboardInterrupt``)."""
    seen: BaseException | None = exc
    for _ in range(16):
        if seen is None:
            return False
        if isinstance(seen, KeyboardInterrupt) or "KeyboardInterrupt" in str(seen).split("\n")[0]:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def run_agent(spec: AgentSpec, cfg: SimConfig, observe: Observer | None = None) -> JobResult:
    """Run one agent's life, a pure function of ``spec`` and ``cfg`` (``observe``, if given, is shown
    every step of its evaluation episodes: see :data:`~spawn.life.evaluate.Observer`).

    An exception from user code (an agent, an environment) is recorded on the agent's node as
    ``error`` and its budget left unspent; ``[faults] on_error`` decides whether the children it
    made before failing live on (``continue-clade``), are dropped (``stop-clade``, the default),
    or whether the whole run stops (``fail``). Errors of the user's config always stop the run.
    """
    life: Life | None = None
    try:
        # One BLAS thread: results must not depend on the machine's thread count.
        with _threadpools().limit(limits=1):
            life = Life(spec, cfg)
            life.train()
            return life.finish(observe=observe)
    except Exception as exc:
        return failed_result(spec, cfg, life, exc)


def failed_result(spec: AgentSpec, cfg: SimConfig, life: Life | None, exc: Exception) -> JobResult:
    """What an exception in an agent's life comes to (see :func:`run_agent`): the config's errors
    and interruptions raised again, a failure recorded on the agent or raised by ``on_error``."""
    if isinstance(exc, SpawnError):
        raise exc
    if _interrupted(exc):  # Ctrl-C inside a library that wrapped it: an interruption, not a failure
        raise KeyboardInterrupt from exc
    if cfg.faults.on_error == "fail" or life is None:
        raise AgentFailedError(f"agent {spec.id} failed: {type(exc).__name__}: {exc}") from exc
    return life.failed(exc)
