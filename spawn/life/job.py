"""An agent's life as a pure job: ``run_agent(spec, config) -> (record, child specs)``.

Everything an agent does depends on its :class:`AgentSpec` and the run's config alone: its random
streams come from ``SeedSequence(seed, spawn_key=path)``, evaluation episodes use seeds common to
the whole run, and birth times are logical (training steps), never wall-clock. So every runtime,
in any order, on any number of processes, gives the same lineage.
"""

from __future__ import annotations

import copy
import functools
import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from lineage.paths import child_id
from spawn.agents import Agent, agent_class, option_mask
from spawn.config import SimConfig, load_plugins
from spawn.errors import AgentFailedError, SpawnError
from spawn.life.evaluate import evaluate
from spawn.life.objectives import Objective, objective_class
from spawn.life.operators import Birth, apply_operator, draw_operator, lineage_fields, operator_kind
from spawn.life.suite import Suite, make_encoder
from spawn.life.triggers import TRIGGERS, Round

__all__ = [
    "AgentRecord",
    "AgentSpec",
    "JobResult",
    "Life",
    "live",
    "root_spec",
    "run_agent",
    "seed_sequence",
    "suite_for",
]


def path_ints(agent_id: str) -> tuple[int, ...]:
    return tuple(int(p) for p in agent_id.split("."))


def seed_sequence(seed: int, agent_id: str) -> np.random.SeedSequence:
    """The agent's own seed sequence: ``SeedSequence(seed, spawn_key=path)``."""
    return np.random.SeedSequence(seed, spawn_key=path_ints(agent_id))


@dataclass(frozen=True)
class AgentSpec:
    """The whole input of one agent's life."""

    id: str
    parent: str | None
    depth: int
    operator: str | None
    agent_kind: str
    hyper: dict[str, float]
    objective: str
    tasks: tuple[str, ...]
    tools: dict[str, tuple[tuple[int, ...], ...]]
    params: dict[str, Any] | None
    budget: int
    quota: int  # descendants this agent's clade may still create
    birth_time: int
    liability: float  # violations + cost accumulated along the ancestor chain
    lagrange: float = 0.0
    trigger: str | None = None  # what made the parent create this agent
    keep_final: bool = False  # return the final agent state (the archive regime breeds from it later)


@dataclass(frozen=True)
class AgentRecord:
    """What an agent did and measured: its lineage node."""

    id: str
    parent: str | None
    operator: str | None
    attributes: dict[str, Any]
    train_steps: int
    eval_steps: int


@dataclass(frozen=True)
class JobResult:
    record: AgentRecord
    children: tuple[AgentSpec, ...] = field(default_factory=tuple)
    #: With ``spec.keep_final``: the agent as it ended, as a template for children made later
    #: (the archive regime), and its best training episodes per task (for ``add-tool``).
    final: AgentSpec | None = None
    best: dict[str, tuple[tuple[float, tuple[int, ...]], ...]] | None = None


def root_spec(cfg: SimConfig) -> AgentSpec:
    """The spec of the lineage's first agent."""
    a = cfg.agent
    # What the kind declares (every built-in: alpha, gamma, epsilon, temperature, lambda, lr), then how it acts.
    hyper = a.hyper(agent_class(a.kind)) | {
        "softmax": 1.0 if a.selection == "softmax" else 0.0,
        "visits": 1.0 if a.step_size == "visits" else 0.0,
    }
    return AgentSpec(
        id="0",
        parent=None,
        depth=0,
        operator=None,
        agent_kind=a.kind,
        hyper=hyper,
        objective=a.objective,
        tasks=cfg.train_envs,
        tools={},
        params=None,
        budget=cfg.budget,
        quota=cfg.caps.max_agents - 1,
        birth_time=0,
        liability=0.0,
    )


@functools.lru_cache(maxsize=4)
def _suite_cached(cfg_json: str) -> Suite:
    return Suite(SimConfig.model_validate_json(cfg_json))


def suite_for(cfg: SimConfig) -> Suite:
    """The run's suite, made once per process."""
    return _suite_cached(cfg.model_dump_json())


def build_agent(spec: AgentSpec, suite: Suite, rng: np.random.Generator) -> Agent:
    shapes = {t: replace(suite.facts[t].shape, tools=spec.tools.get(t, ())) for t in spec.tasks}
    cls = agent_class(spec.agent_kind)
    agent: Agent = cls(shapes, spec.hyper, rng, copy.deepcopy(spec.params))
    return agent


# ---------------------------------------------------------------------- training
class _Session:
    """One environment the agent trains on, kept open across rounds (episodes span rounds)."""

    def __init__(self, suite: Suite, task: str, shield: bool, seed: int, clock: int) -> None:
        self.task = task
        self.env = suite.make(task, shield=shield)
        self.space = self.env.observation_space
        self.n_actions = int(self.env.action_space.n)  # type: ignore[attr-defined]
        self.constrained = suite.facts[task].has_constitution
        self.encode = make_encoder(self.space)
        raw, info = self.env.reset(seed=seed, options=suite.reset_options(task, clock))
        self.obs = self.encode(raw)
        self.info = info
        self.ep_return = 0.0
        self.ep_cost = 0.0
        self.ep_actions: list[int] = []
        self.best: deque[tuple[float, tuple[int, ...]]] = deque(maxlen=64)  # (return, actions), for add-tool

    def restart(self) -> None:
        raw, self.info = self.env.reset()
        self.obs = self.encode(raw)
        self.ep_return = self.ep_cost = 0.0
        self.ep_actions = []


@dataclass
class _Stats:
    steps: int = 0
    violations: float = 0.0
    cost: float = 0.0
    episodes: int = 0
    drift_alarms: int = 0
    returns: list[float] = field(default_factory=list)


def _train(
    agent: Agent,
    s: _Session,
    steps: int,
    obj: Objective,
    lagrange: float,
    stats: _Stats,
    watch: Any,
    gamma: float,
) -> float:
    """Train ``steps`` environment steps on one session; returns the updated Lagrange multiplier.

    Violations and cost come from the constitution wrapper's ``info``; the objective turns them
    into the reward the agent learns from (the reward it reports stays the environment's).
    ``watch`` (or ``None``) is called with every reward (the triggers that watch this task).
    """
    # The hot path: locals only, and no work for features a run does not use.
    task = s.task
    tools = agent.shapes[task].tools
    n_prim = s.n_actions
    masked = obj.shield
    adaptive = obj.adaptive
    weight = obj.weight(lagrange)
    constrained = s.constrained
    env_step = s.env.step
    encode = s.encode
    act, update = agent.act, agent.update
    actions = s.ep_actions
    done_steps = 0
    while done_steps < steps:
        obs0 = s.obs
        mask = option_mask(s.info.get("action_mask"), tools) if masked else None
        option = act(task, obs0, mask)
        seq = tools[option - n_prim] if option >= n_prim else None
        ret, disc, terminated, ended, k = 0.0, 1.0, False, False, 0
        while True:
            a = option if seq is None else seq[k]
            raw, r, terminated, truncated, info = env_step(a)
            done_steps += 1
            k += 1
            r = float(r)
            s.ep_return += r
            actions.append(a)
            if watch is not None:
                watch(r)
            if constrained:
                s.info = info
                viol = info.get("violations", 0)
                cost = info.get("cost", 0.0)
                if viol or cost:
                    stats.violations += viol
                    stats.cost += cost
                    s.ep_cost += viol + cost
                    r -= weight * (viol + cost)
            ret += disc * r
            disc *= gamma
            ended = terminated or truncated
            if ended or done_steps >= steps or seq is None or k == len(seq):
                break
        s.obs = encode(raw)
        update(task, obs0, option, ret, s.obs, terminated, disc)
        if ended:
            agent.end_episode(task)
            stats.episodes += 1
            stats.returns.append(s.ep_return)
            s.best.append((s.ep_return, tuple(actions[:256])))
            if adaptive:
                lagrange = obj.update(lagrange, s.ep_cost)
                weight = obj.weight(lagrange)
            s.restart()
            actions = s.ep_actions
    stats.steps += done_steps
    return lagrange


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
        self.stats = _Stats()
        self.children: list[AgentSpec] = []
        self.sessions: dict[str, _Session] = {}
        self._best: dict[str, deque[tuple[float, tuple[int, ...]]]] = {}
        load_plugins(cfg.plugins)  # a worker's first agent imports them
        self.objective: Objective = objective_class(spec.objective)(cfg)
        self.suite = suite_for(cfg)
        agent_ss, env_ss, op_ss, self._act_ss = seed_sequence(cfg.seed, spec.id).spawn(4)
        self.op_rng = np.random.default_rng(op_ss)
        self.env_seeds = env_ss.generate_state(len(self.suite.slugs))
        self.lagrange = spec.lagrange
        self.agent = build_agent(spec, self.suite, np.random.default_rng(agent_ss))

    def session(self, task: str) -> _Session:
        if task not in self.sessions:
            seed = int(self.env_seeds[self.suite.slugs.index(task)])
            # A clocked world is met at the agent's logical time: its birth plus what it trained.
            self.sessions[task] = _Session(
                self.suite, task, self.objective.shield, seed, self.spec.birth_time + self.stats.steps
            )
        return self.sessions[task]

    def train(self) -> None:
        spec, cfg, stats, sp = self.spec, self.cfg, self.stats, self.cfg.spawn
        # The triggers the config names, asked in registration order after every round.
        triggers = [(n, TRIGGERS.get(n)(spec, cfg)) for n in TRIGGERS.names() if n in sp.triggers]
        watchers = {t: _watcher(triggers, t) for t in spec.tasks}
        gamma = spec.hyper.get("gamma", cfg.agent.gamma)
        remaining, quota, rounds = spec.budget, spec.quota, 0
        while remaining > 0:
            n = min(sp.round_steps, remaining)
            task = spec.tasks[rounds % len(spec.tasks)]
            episodes_before = stats.episodes
            self.lagrange = _train(
                self.agent, self.session(task), n, self.objective, self.lagrange, stats, watchers[task], gamma
            )
            remaining -= n
            rounds += 1
            # The round's episode returns (the last one's, when no episode ended this round).
            ended = stats.returns[episodes_before:] or stats.returns[-1:]
            moment = Round(rounds, task, ended, stats.steps, spec.birth_time + stats.steps)
            fired = next((name for name, t in triggers if t.fires(moment)), None)
            if fired is None:
                continue
            if fired == "drift":
                stats.drift_alarms += 1
            share = math.floor(remaining * sp.child_share)
            child_quota = math.floor((quota - 1) * sp.child_share) if quota >= 1 else 0
            liability = spec.liability + stats.violations + stats.cost
            if (
                spec.depth >= cfg.caps.max_depth
                or len(self.children) >= sp.max_children
                or quota < 1
                or share < sp.min_child_budget
                or (cfg.gate.max_liability is not None and liability > cfg.gate.max_liability)
            ):
                continue
            birth = Birth(
                parent=spec,
                agent=self.agent,
                rng=self.op_rng,
                cfg=cfg,
                suite=self.suite,
                best={t: s.best for t, s in self.sessions.items()},
                trigger=fired,
                drifted=fired == "drift",
                lineage=lineage_fields(
                    id=child_id(spec.id, len(self.children)),
                    parent=spec.id,
                    depth=spec.depth + 1,
                    trigger=fired,
                    budget=share,
                    quota=child_quota,
                    birth_time=spec.birth_time + stats.steps,
                    liability=liability,
                ),
                start={"lagrange": self.lagrange},
            )
            op = draw_operator(birth, cfg.operators)
            if op is None:
                continue
            self.children.append(apply_operator(op, birth))
            remaining -= share
            quota -= 1 + child_quota
        self.close()

    def close(self) -> None:
        for s in self.sessions.values():
            s.env.close()
        self._best = {t: s.best for t, s in self.sessions.items()}
        self.sessions.clear()

    def _attributes(self) -> dict[str, Any]:
        spec, stats = self.spec, self.stats
        attrs: dict[str, Any] = {
            "kind": operator_kind(spec.operator) if spec.operator else "root",
            "trigger": spec.trigger,
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
            "liability": spec.liability + stats.violations + stats.cost,
            "drift_alarms": stats.drift_alarms,
        }
        attrs.update(self.objective.attributes(self.lagrange))
        for k in ("alpha", "epsilon", "lr", "lambda", "temperature"):
            if k in spec.hyper:
                attrs[f"hp_{k}"] = spec.hyper[k]
        return attrs

    def finish(self) -> JobResult:
        """Evaluate and record (after :meth:`train`)."""
        spec, stats = self.spec, self.stats
        clock = spec.birth_time + stats.steps
        ev = evaluate(
            self.agent, spec, self.suite, self.cfg, np.random.default_rng(self._act_ss), clock=clock
        )
        attrs = self._attributes() | {"eval_steps": ev.steps} | ev.attributes
        record = AgentRecord(spec.id, spec.parent, spec.operator, attrs, stats.steps, ev.steps)
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
        record = AgentRecord(self.spec.id, self.spec.parent, self.spec.operator, attrs, self.stats.steps, 0)
        return JobResult(record, tuple(self.children) if keep else ())


def live(spec: AgentSpec, cfg: SimConfig) -> tuple[Agent, JobResult]:
    """Run a life and also return the agent as it ended (for tests and notebooks)."""
    life = Life(spec, cfg)
    life.train()
    return life.agent, life.finish()


def run_agent(spec: AgentSpec, cfg: SimConfig) -> JobResult:
    """Run one agent's life, a pure function of ``spec`` and ``cfg``.

    An exception from user code (an agent, an environment) is recorded on the agent's node as
    ``error`` and its budget left unspent; ``[faults] on_error`` decides whether the children it
    made before failing live on (``continue-clade``), are dropped (``stop-clade``, the default),
    or whether the whole run stops (``fail``). Errors of the user's config always stop the run.
    """
    life: Life | None = None
    try:
        # One BLAS thread: results must not depend on the machine's thread count.
        with threadpool_limits(limits=1):
            life = Life(spec, cfg)
            life.train()
            return life.finish()
    except SpawnError:
        raise
    except Exception as exc:
        if cfg.faults.on_error == "fail" or life is None:
            raise AgentFailedError(f"agent {spec.id} failed: {type(exc).__name__}: {exc}") from exc
        return life.failed(exc)
