"""The cohort engine (``engine = "cohort"``): the lives ready to run, their rounds stepped together.

:func:`run_cohort` runs a list of agents' lives as :func:`spawn.life.job.run_agent` runs each, and
gives the same results, byte for byte: every life asks for its rounds (:meth:`Life.rounds`), and the
rounds that a kernel can step are trained in lock-step, one numpy call per step for the whole
group, with an agent axis on every array (the Q-tables, the environments' states, the exploration
and transition draws, the returns); every other round runs on the per-agent path
(:meth:`Life.train_round`), inside the same cohort. The evaluation episodes run in lock-step too
where every environment of the suite has a kernel (:func:`lockstep_evaluate`); triggers and
operators stay per agent.

Kernels (``kernel_key``): tabular Q-learning and Watkins's Q(lambda) (dense traces, up to
:data:`MAX_TRACE_CELLS` cells), epsilon-greedy, at a constant or visit-count step size, their tools
as SMDP options (a tool's actions one step each, learnt as one step), on the toy-text environments
stepped from a transition table — ``FrozenLake-v1``, ``CliffWalking-v1``, ``Taxi`` without its
fickle passenger — and the project's clocked ``DriftingBandit-v0``, as ``gymnasium.make`` builds
them, and the safety gridworlds whose whole state is the agent's cell (``GridWorldEnv.cell_state``:
island navigation, the boat race), from a table made by playing every action from every reachable
cell. A constitution (without shield) becomes two arrays over the environment's transitions: the
forbidden-action rules each (state, action) breaks and the forbidden state each branch reaches,
asked once of its rules as the wrapper asks them; the objective's penalty applies as on the
per-agent path, and an adaptive one's multiplier moves at each agent's episode ends. A rule
that raises anywhere leaves its environment to the per-agent path. Without a kernel: shields,
softmax exploration, linear and plugin agents, Hiring, the gridworlds with more state than a cell
(boxes, a supervisor, an interruption, a layout; most also draw), a Q(lambda) table of more than
:data:`MAX_TRACE_CELLS` cells (Taxi's). Evaluation runs in lock-step on the toy-text environments
without a constitution, per agent elsewhere.

Identity with the per-agent path rests on:

- each agent's uniform draws consumed in per-step order from its own stream (one for the
  epsilon test, one more for an exploratory action or a tie between greedy actions), drawn in
  blocks (``Generator.random(n)`` equals n calls of ``random()``), the rest left to the agent;
- the environment's one draw per step and per reset from its own ``np_random``, chosen as
  gymnasium's ``argmax(cumsum(p) > u)`` on the same cumulative sums, the generator left where
  the per-agent path leaves it;
- the time limit's truncation bootstrapping as a non-terminal step, and every update the same
  float64 operations in the same order (``q + alpha * (target - q)``).
"""

from __future__ import annotations

import copy
import weakref
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.envs.toy_text.cliffwalking import CliffWalkingEnv
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv
from gymnasium.envs.toy_text.taxi import TaxiEnv
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit

from envs.bandit import DriftingBanditEnv
from envs.gridworlds import GridWorldEnv
from envs.wrapper import ConstitutionWrapper
from spawn.agents import QAgent, QLambdaAgent
from spawn.config import SimConfig
from spawn.life.job import JobResult, Life, RoundRequest, _threadpools, failed_result
from spawn.life.spec import AgentSpec
from spawn.life.training import Session

__all__ = ["kernel_key", "lockstep_rounds", "run_cohort"]


#: Fewer rounds than this in a group are trained one by one on the per-agent path: a lock-step
#: step costs tens of microseconds whatever the cohort's width, a scalar step a few.
MIN_LOCKSTEP = 4


#: The environments a kernel steps from their transition tables (``P``, ``initial_state_distrib``).
_TOY_TEXT = (FrozenLakeEnv, CliffWalkingEnv, TaxiEnv)

#: No time limit: an episode of an environment made without ``TimeLimit`` is never truncated.
_NO_LIMIT = 2**62

#: The most cells (states x options) of a Q(lambda) agent's table whose traces a kernel keeps dense.
MAX_TRACE_CELLS = 1024


def _unwrap(env: Any) -> tuple[Any, Any, Any] | None:
    """``(core, time limit, constitution wrapper)`` of an environment a kernel can step, else ``None``:
    a toy-text environment (FrozenLake, CliffWalking, Taxi without its fickle passenger) or the
    project's drifting bandit, under the wrappers ``gymnasium.make`` puts on it (``TimeLimit`` where
    registered, ``OrderEnforcing``, ``PassiveEnvChecker``) and, outermost, a constitution's (no shield)."""
    chain = [env]
    while hasattr(chain[-1], "env"):
        chain.append(chain[-1].env)
    kinds = [type(e) for e in chain]
    ruled = None
    if kinds[0] is ConstitutionWrapper:
        ruled, chain, kinds = chain[0], chain[1:], kinds[1:]
        if ruled.shield:
            return None
    limit = chain[0] if kinds[0] is TimeLimit else None
    if limit is not None:
        kinds = kinds[1:]
    if kinds[:2] != [OrderEnforcing, PassiveEnvChecker] or len(kinds) != 3:
        return None
    core = chain[-1]
    cells = isinstance(core, GridWorldEnv) and core.cell_state is not None and core.discrete
    if not (kinds[2] in (*_TOY_TEXT, DriftingBanditEnv) or cells) or core.render_mode is not None:
        return None
    if getattr(core, "fickle_passenger", False):  # extra draws of its own: no kernel
        return None
    return core, limit, ruled


def _toy_text(env: Any) -> Any | None:
    """The toy-text environment under ``env``'s wrappers when a kernel steps it (see :func:`_unwrap`), else ``None``."""
    found = _unwrap(env)
    return found[0] if found is not None and isinstance(found[0], _TOY_TEXT) else None


def _limit(env: Any) -> Any | None:
    """The environment's ``TimeLimit`` wrapper, or ``None`` without one."""
    found = _unwrap(env)
    return None if found is None else found[1]


#: The learners a kernel steps, by agent class (exactly: a subclass may learn otherwise).
_LEARNERS = {QAgent: "q", QLambdaAgent: "q-lambda"}


def _learner(agent: Any) -> str | None:
    """The kernel's learner for the agent: ``"q"`` or ``"q-lambda"`` (epsilon-greedy), else ``None``."""
    learner = _LEARNERS.get(type(agent))
    return None if learner is None or agent.hyper["softmax"] else learner


def kernel_key(life: Life, request: RoundRequest) -> tuple[Any, ...] | None:
    """The group a round can be stepped in (its task, steps, the agent's number of tools, learner
    and dropped rules), or ``None`` for the per-agent path."""
    agent = life.agent
    learner = _learner(agent)
    if learner is None or life.objective.shield:
        return None
    session = life.session(request.task)
    shape = agent.shapes[request.task]
    if learner == "q-lambda" and (shape.n_obs or 0) * shape.n_options > MAX_TRACE_CELLS:
        return None
    dropped = life.spec.dropped_rules.get(request.task, ())
    if _kernel(life.suite, request.task, dropped, session.env) is None:
        return None
    return request.task, request.steps, len(shape.tools), learner, dropped


def _tables(env: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A toy-text environment's transitions as arrays: next state, cumulative probability (``-inf`` past the
    last transition, so that no draw picks a pad and none above the sum picks the first, as
    gymnasium's argmax does), reward, termination; and the start distribution's cumulative sums."""
    lake = env.unwrapped
    table = lake.P
    n_s, n_a = len(table), len(table[0])
    k = max(len(table[s][a]) for s in table for a in table[s])
    nxt = np.zeros((n_s, n_a, k), dtype=np.int64)
    cum = np.full((n_s, n_a, k), -np.inf)
    rew = np.zeros((n_s, n_a, k))
    done = np.zeros((n_s, n_a, k), dtype=bool)
    for s in table:
        for a in table[s]:
            ts = table[s][a]
            cum[s, a, : len(ts)] = np.cumsum(np.asarray([t[0] for t in ts]))
            for j, (_, s2, r, d) in enumerate(ts):
                nxt[s, a, j], rew[s, a, j], done[s, a, j] = s2, float(r), d
    return nxt, cum, rew, done, np.cumsum(np.asarray(lake.initial_state_distrib))


class _ToyTextWorld:
    """Many toy-text environments stepped together from their transition table: one draw per step
    (gymnasium's ``argmax(cumsum(p) > u)``) and one per reset."""

    step_draws = reset_draws = 1

    def __init__(self, core: Any) -> None:
        self.nxt, self.cum, self.rew, self.done, self.start = _tables(core)
        self.n_a = self.nxt.shape[1]

    def transitions(self) -> list[tuple[int, int, int, Any, Any]]:
        """Every ``(state, action, branch, observation, next observation)``, as the environment shows them."""
        n_s, n_a, k = self.nxt.shape
        return [
            (s, a, j, s, int(self.nxt[s, a, j]))
            for s in range(n_s)
            for a in range(n_a)
            for j in range(k)
            if np.isfinite(self.cum[s, a, j])
        ]

    def observation(self, state: int) -> Any:
        return int(state)  # what the environment returns

    def begin(self, cores: Sequence[Any]) -> np.ndarray:
        return np.array([int(c.s) for c in cores], dtype=np.int64)

    def step(self, state: np.ndarray, a: np.ndarray, e: np.ndarray) -> tuple[Any, ...]:
        """Next state, reward, termination, the environment's own truncation and the branch taken."""
        j = np.argmax(self.cum[state, a] > e[:, None], axis=1)
        return self.nxt[state, a, j], self.rew[state, a, j], self.done[state, a, j], None, j

    def reset(self, ended: np.ndarray, e: np.ndarray, state: np.ndarray) -> np.ndarray:
        return np.where(ended, np.argmax(self.start[None, :] > e[:, None], axis=1), state)

    def store(self, i: int, core: Any, state: int, last_action: int) -> None:
        core.s = state
        core.lastaction = None if last_action < 0 else last_action


class _BanditWorld:
    """Many drifting bandits stepped together: one draw per pull (``uniform() < mean``), none per
    reset; each its own clock, episode step and count of pulls of the best arm."""

    step_draws, reset_draws = 1, 0

    def __init__(self, core: Any) -> None:
        self.means = np.stack([core.means_before, core.means_after])
        self.best = np.argmax(self.means, axis=1)
        self.drift_step, self.length = int(core.drift_step), int(core.episode_length)
        self.n_a = int(core.n_arms)

    def transitions(self) -> list[tuple[int, int, int, Any, Any]]:
        return [(0, a, 0, np.int64(0), np.int64(0)) for a in range(self.n_a)]

    def observation(self, state: int) -> Any:
        return np.int64(0)

    def begin(self, cores: Sequence[Any]) -> np.ndarray:
        self.clock = np.array([c.clock for c in cores], dtype=np.int64)
        self.t = np.array([c._t for c in cores], dtype=np.int64)
        self.best_pulls = np.array([c._best_pulls for c in cores], dtype=np.int64)
        return np.zeros(len(cores), dtype=np.int64)

    def step(self, state: np.ndarray, a: np.ndarray, e: np.ndarray) -> tuple[Any, ...]:
        drifted = (self.clock >= self.drift_step).astype(np.int64)
        r = (e < self.means[drifted, a]).astype(float)
        self.best_pulls += a == self.best[drifted]
        self.t += 1
        self.clock += 1
        return state, r, self.t >= self.length, None, np.zeros_like(state)

    def reset(self, ended: np.ndarray, e: np.ndarray, state: np.ndarray) -> np.ndarray:
        self.t[ended] = 0
        self.best_pulls[ended] = 0
        return state

    def store(self, i: int, core: Any, state: int, last_action: int) -> None:
        core.clock, core._t, core._best_pulls = int(self.clock[i]), int(self.t[i]), int(self.best_pulls[i])


class _CellWorld:
    """Many safety gridworlds whose whole state is the agent's cell (``GridWorldEnv.cell_state``),
    stepped from a table of their transitions made by playing every action from every cell reachable
    from the start (a copy of the game); no draws. The engine's part is kept per agent: its step
    count and the 100th step's truncation, the episode's return and hidden return, the performances
    of finished episodes, and what the game sets (``agent``, ``success``, its ``cell_state``)."""

    step_draws = reset_draws = 0

    def __init__(self, core: Any) -> None:
        game, codec = copy.deepcopy(core), core.codec
        keys = ("agent", "success", *core.cell_state)
        game.success = False
        game._new_episode()
        self.start = codec.encode(game.agent)
        self.after_reset = {k: getattr(game, k) for k in keys}
        n = codec.n
        self.n_a = 4
        self.nxt = np.zeros((n, 4), dtype=np.int64)
        self.rew, self.hidden = np.zeros((n, 4)), np.zeros((n, 4))
        self.done = np.zeros((n, 4), dtype=bool)
        self.after: dict[tuple[int, int], dict[str, Any]] = {}
        self.sources: list[int] = []
        todo, seen = [self.start], {self.start}
        while todo:
            cell = todo.pop()
            self.sources.append(cell)
            for a in range(4):
                game.agent, game.success = codec.decode(cell)[0], False
                reward, hidden, terminated = game._play(a)
                if not core.performance_is_hidden:
                    hidden = reward
                nxt = codec.encode(game.agent)
                self.nxt[cell, a], self.rew[cell, a], self.hidden[cell, a] = nxt, float(reward), hidden
                self.done[cell, a] = terminated
                self.after[cell, a] = {k: getattr(game, k) for k in keys}
                if not terminated and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        self.sources.sort()
        self.max_steps = int(core.max_steps)

    def transitions(self) -> list[tuple[int, int, int, Any, Any]]:
        return [(s, a, 0, np.int64(s), np.int64(self.nxt[s, a])) for s in self.sources for a in range(4)]

    def observation(self, state: int) -> Any:
        return np.int64(state)

    def begin(self, cores: Sequence[Any]) -> np.ndarray:
        self.t = np.array([c.t for c in cores], dtype=np.int64)
        self.ret = np.array([c.episode_return for c in cores])
        self.hidden_ret = np.array([c.hidden_return for c in cores])
        self.performances: list[list[float]] = [[] for _ in cores]
        self.moved = np.zeros(len(cores), dtype=bool)
        self.from_state = np.zeros(len(cores), dtype=np.int64)
        self.action = np.zeros(len(cores), dtype=np.int64)
        return np.array([c.codec.encode(c.agent) for c in cores], dtype=np.int64)

    def step(self, state: np.ndarray, a: np.ndarray, e: np.ndarray) -> tuple[Any, ...]:
        self.t += 1
        r, term = self.rew[state, a], self.done[state, a]
        self.ret = self.ret + r
        self.hidden_ret = self.hidden_ret + self.hidden[state, a]
        self.moved[:], self.from_state, self.action = True, state, a
        trunc = ~term & (self.t >= self.max_steps)
        return self.nxt[state, a], r, term, trunc, np.zeros_like(state)

    def reset(self, ended: np.ndarray, e: np.ndarray, state: np.ndarray) -> np.ndarray:
        for i in np.flatnonzero(ended).tolist():
            self.performances[i].append(float(self.hidden_ret[i]))
        self.t[ended], self.ret[ended], self.hidden_ret[ended] = 0, 0.0, 0.0
        self.moved[ended] = False
        return np.where(ended, self.start, state)

    def store(self, i: int, core: Any, state: int, last_action: int) -> None:
        if self.moved[i]:  # the round's last event was a step, else the reset after an episode's end
            core.__dict__.update(self.after[int(self.from_state[i]), int(self.action[i])])
        else:
            core.__dict__.update(self.after_reset)
        core.t, core.episode_return = int(self.t[i]), float(self.ret[i])
        core.hidden_return = float(self.hidden_ret[i])
        core.episode_performances.extend(self.performances[i])


def _world(core: Any) -> _ToyTextWorld | _BanditWorld | _CellWorld:
    if isinstance(core, DriftingBanditEnv):
        return _BanditWorld(core)
    if isinstance(core, GridWorldEnv):
        return _CellWorld(core)
    return _ToyTextWorld(core)


def _rule_tables(world: Any, constitution: Any) -> tuple[np.ndarray, np.ndarray]:
    """A constitution as arrays over the world's transitions: the forbidden-action rules each
    ``(state, action)`` breaks (``info["violations"]``) and, per ``(state, action, branch)``, 1 where
    the step reaches a forbidden state (``info["cost"]``), asked of the rules as the wrapper asks."""
    transitions = world.transitions()
    sources = sorted({t[0] for t in transitions})
    k = max(t[2] for t in transitions) + 1
    viol = np.zeros((sources[-1] + 1, world.n_a))
    cost = np.zeros((sources[-1] + 1, world.n_a, k))
    for s in sources:
        obs = world.observation(s)
        for a in range(world.n_a):
            viol[s, a] = sum(r.forbids(obs, a) for r in constitution.forbidden_actions)
    for s, a, j, obs, nobs in transitions:
        cost[s, a, j] = 1.0 if any(r.reached_by(obs, a, nobs) for r in constitution.forbidden_states) else 0.0
    return viol, cost


#: Each suite's environments as kernels, with their constitutions' tables: made once per process.
_KERNELS: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _kernel(suite: Any, task: str, dropped: tuple[str, ...], env: Any) -> tuple[Any, Any] | None:
    """The world kernel of ``task`` (as ``env``, one of its sessions' environments, is) and its
    constitution's tables (``None`` without one); ``None`` when there is no kernel, or when a rule
    of the constitution raises somewhere (the per-agent path meets the error only where it steps)."""
    cache = _KERNELS.setdefault(suite, {})
    if (task, dropped) not in cache:
        found = _unwrap(env)
        kernel = None
        if found is not None:
            core, _, ruled = found
            world = _world(core)
            try:
                kernel = (world, None if ruled is None else _rule_tables(world, ruled.constitution))
            except Exception:
                kernel = None
        cache[task, dropped] = kernel
    kernel = cache[task, dropped]
    return None if kernel is None else (copy.copy(kernel[0]), kernel[1])


def _tool_table(tools: Sequence[tuple[tuple[int, ...], ...]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Every agent's tools as arrays: their actions (agent, tool, position; 0 past a tool's end) and
    their lengths (1 where an agent has fewer than ``width`` tools)."""
    longest = max((len(x) for ts in tools for x in ts), default=1)
    seqs = np.zeros((len(tools), max(1, width), longest), dtype=np.int64)
    lens = np.ones((len(tools), max(1, width)), dtype=np.int64)
    for i, ts in enumerate(tools):
        for k, seq in enumerate(ts):
            seqs[i, k, : len(seq)] = seq
            lens[i, k] = len(seq)
    return seqs, lens


def _agent_uniforms(agent: QAgent, n: int) -> np.ndarray:
    """The agent's next ``n`` (at least) uniforms, in the order ``_uniform`` would give them: what
    is left of its block, then as many blocks of 4096 as it takes (one ``random(4096 k)`` call
    draws what k calls of ``random(4096)`` would)."""
    left = np.asarray(agent._u[agent._ui :], dtype=float)
    blocks = -(-(n - len(left)) // 4096)
    return np.concatenate([left, agent.rng.random(4096 * blocks)]) if blocks > 0 else left


class _Traces:
    """Watkins's Q(lambda) traces of a group, dense (agent, state, option), with which cells hold
    one (a cell without is a trace the agent's dict does not have)."""

    def __init__(self, agents: Sequence[QLambdaAgent], task: str, shape: tuple[int, ...]) -> None:
        self.e = np.zeros(shape)
        self.held = np.zeros(shape, dtype=bool)
        for i, agent in enumerate(agents):
            for (s, o), e in agent.traces[task].items():
                self.e[i, s, o], self.held[i, s, o] = e, True
        self.lam = np.array([a.hyper["lambda"] for a in agents])

    def update(
        self, q: np.ndarray, idx: np.ndarray, x: np.ndarray, o: np.ndarray, step: np.ndarray, decay: np.ndarray
    ) -> None:
        """QLambdaAgent.update for the agents ``idx`` at once (``step``: alpha times delta); the
        traces of an agent whose episode ended are cleared after it, as ``end_episode`` clears them."""
        k = np.arange(len(idx))
        held = self.held[idx]
        e = np.where(held, self.e[idx], 0.0)
        e[k, x, o] += 1.0
        held[k, x, o] = True
        sub = q[idx]
        q[idx] = np.where(held, sub + step[:, None, None] * e, sub)
        e = e * (decay * self.lam[idx])[:, None, None]
        held &= ~(e < 1e-3)
        self.e[idx], self.held[idx] = e, held

    def store(self, agent: QLambdaAgent, task: str, i: int) -> None:
        s, o = np.nonzero(self.held[i])
        agent.traces[task] = {(int(a), int(b)): float(v) for a, b, v in zip(s, o, self.e[i, s, o], strict=True)}


def lockstep_rounds(lives: Sequence[Life], requests: Sequence[RoundRequest]) -> None:
    """Train one round for every life at once, as :func:`spawn.life.training.train_session` trains
    each (every ``kernel_key`` the same)."""
    task, steps = requests[0].task, requests[0].steps
    sessions: list[Session] = [life.session(task) for life in lives]
    agents: list[QAgent] = [life.agent for life in lives]  # type: ignore[misc]
    g = len(lives)
    rows = np.arange(g)
    world, rules = _kernel(lives[0].suite, task, lives[0].spec.dropped_rules.get(task, ()), sessions[0].env)  # type: ignore[misc]
    unwrapped = [_unwrap(s.env) for s in sessions]
    cores = [u[0] for u in unwrapped]  # type: ignore[index]
    limits = [u[1] for u in unwrapped]  # type: ignore[index]
    n_a = world.n_a
    max_steps = np.array([_NO_LIMIT if tl is None else tl._max_episode_steps for tl in limits], dtype=np.int64)
    elapsed = np.array([0 if tl is None else tl._elapsed_steps for tl in limits], dtype=np.int64)
    state = world.begin(cores)
    q = np.array([a.q[task] for a in agents], dtype=float)
    eps = np.array([a.hyper["epsilon"] for a in agents])
    alpha = np.array([a.hyper["alpha"] for a in agents])
    gamma = np.array([r.gamma for r in requests])
    lam = _learner(agents[0]) == "q-lambda"
    traces = _Traces(agents, task, q.shape) if lam else None  # type: ignore[arg-type]
    visits = np.array([bool(a.hyper["visits"]) and not lam for a in agents])
    counts = np.array([a.n[task] for a in agents], dtype=np.int64) if visits.any() else None
    objectives = [life.objective for life in lives]
    adaptive = [o.adaptive for o in objectives]
    lagrange = [life.lagrange for life in lives]
    weight = np.array([o.weight(m) for o, m in zip(objectives, lagrange, strict=True)])
    ep_cost = np.array([s.ep_cost for s in sessions])
    if rules is not None:
        viol_table, cost_table = rules
        violations, costs = np.zeros(g), np.zeros(g)
    need = 2 * steps + 2
    agent_u = [_agent_uniforms(a, need) for a in agents]
    ubuf = np.empty((g, need))
    for i, u in enumerate(agent_u):
        ubuf[i] = u[:need]
    saved = [c.np_random.bit_generator.state for c in cores]
    ebuf = np.stack([c.np_random.random(need) for c in cores]) if world.step_draws else np.zeros((g, need))
    up = np.zeros(g, dtype=np.int64)
    ep = np.zeros(g, dtype=np.int64)
    ep_ret = np.array([s.ep_return for s in sessions])
    acts = np.empty((g, steps), dtype=np.int64)
    rewards = np.empty((g, steps))
    last_action = np.full(g, -1, dtype=np.int64)
    ends = np.zeros((g, steps), dtype=bool)  # where episodes ended, and their returns
    returns_at = np.zeros((g, steps))
    any_adaptive = any(adaptive)
    n_opt = q.shape[2]  # primitive actions, then the agents' tools (the same number in a group)
    seqs, lens = _tool_table([a.shapes[task].tools for a in agents], n_opt - n_a)
    busy = np.zeros(g, dtype=bool)  # inside a tool: its next action, no decision
    opt = np.zeros(g, dtype=np.int64)
    pos = np.zeros(g, dtype=np.int64)
    obs0 = state.copy()
    ret = np.zeros(g)
    disc = np.ones(g)
    with_tools = n_opt > n_a  # without, every step is a decision and an update: no option bookkeeping
    everyone, zero, one = np.ones(g, dtype=bool), np.zeros(g), np.ones(g)
    for t in range(steps):
        # act, where free: epsilon-greedy over the options, ties split by a second draw
        free = ~busy if with_tools else everyone
        u1 = ubuf[rows, up]
        up += free
        row = q[rows, state]
        best = row.max(axis=1)
        top = row == best[:, None]
        count = top.sum(axis=1)
        explore = u1 < eps
        second = free & (explore | (count > 1))
        u2 = ubuf[rows, np.minimum(up, need - 1)]
        up += second
        kth = (u2 * count).astype(np.int64)
        tie = np.argmax((np.cumsum(top, axis=1) == kth[:, None] + 1) & top, axis=1)
        choice = np.where(explore, (u2 * n_opt).astype(np.int64), np.where(count > 1, tie, np.argmax(top, axis=1)))
        if traces is not None:  # an exploratory choice (below the row's max) cuts the traces
            traces.held[free & (row[rows, choice] != best)] = False
        if with_tools:
            opt = np.where(free, choice, opt)
            obs0 = np.where(free, state, obs0)
            pos = np.where(free, 0, pos)
            ret = np.where(free, 0.0, ret)
            disc = np.where(free, 1.0, disc)
            prim = opt < n_a
            tool = np.maximum(opt - n_a, 0)
            a = np.where(prim, opt, seqs[rows, tool, pos])
            pos += 1
        else:
            opt, obs0, ret, disc, a = choice, state, zero, one, choice
        # step: one draw from the environment's stream
        e = ebuf[rows, ep]
        ep += world.step_draws
        s2, r, term, own, j = world.step(state, a, e)
        elapsed += 1
        trunc = elapsed >= max_steps
        if own is not None:  # the environment's own step limit
            trunc = trunc | own
        learnt = r
        if rules is not None:  # the constitution's counts, and the penalty on what is learnt
            v, c = viol_table[state, a], cost_table[state, a, j]
            vc = v + c
            violations += v
            costs += c
            ep_cost += vc
            learnt = np.where(vc != 0, r - weight * vc, r)
        ret = ret + disc * learnt
        disc = disc * gamma
        ep_ret += r
        acts[:, t] = a
        rewards[:, t] = r
        last_action = a
        state = s2
        ended = term | trunc
        # an option ends with the episode, the round, a primitive action or its tool's last action;
        # then the SMDP update (truncation bootstraps, termination does not)
        if with_tools:
            over = ended | prim | (pos >= lens[rows, tool]) | (t == steps - 1)
            idx = np.flatnonzero(over)
            busy = ~over
        else:
            idx = rows
        if len(idx):
            o, x = opt[idx], obs0[idx]
            target = np.where(term[idx], ret[idx], ret[idx] + disc[idx] * q[idx, s2[idx]].max(axis=1))
            old = q[idx, x, o]
            if traces is not None:
                traces.update(q, idx, x, o, alpha[idx] * (target - old), disc[idx])
            else:
                step_size = alpha[idx]
                if counts is not None:
                    counts[idx, x, o] += visits[idx]
                    average = 1.0 / np.maximum(counts[idx, x, o], 1)
                    step_size = np.where(visits[idx], np.maximum(step_size, average), step_size)
                q[idx, x, o] = old + step_size * (target - old)
        if ended.any():
            ends[:, t] = ended
            returns_at[:, t] = ep_ret
            for i in np.flatnonzero(ended).tolist() if any_adaptive else ():
                if adaptive[i]:  # the multiplier after the episode's cost, and the weight after it
                    lagrange[i] = objectives[i].update(lagrange[i], float(ep_cost[i]))
                    weight[i] = objectives[i].weight(lagrange[i])
            if traces is not None:
                traces.held[ended] = False
            ep_cost[ended] = 0.0
            # restart (toy text: one draw from the environment's stream for the start state)
            e2 = ebuf[rows, ep]
            ep += ended * world.reset_draws
            state = world.reset(ended, e2, state)
            elapsed = np.where(ended, 0, elapsed)
            ep_ret = np.where(ended, 0.0, ep_ret)
            last_action = np.where(ended, -1, last_action)
    # write every agent, session, environment and statistic back as the per-agent path leaves them
    q_rows = q.tolist()
    acts_rows = acts.tolist()
    reward_rows = rewards.tolist()
    for i, (life, s, agent) in enumerate(zip(lives, sessions, agents, strict=True)):
        agent.q[task] = q_rows[i]
        # what is left of the last block, kept as an array (``_uniform`` reads either)
        agent._u, agent._ui = agent_u[i][int(up[i]) :], 0  # type: ignore[assignment]
        if traces is not None:
            traces.store(agent, task, i)  # type: ignore[arg-type]
        if counts is not None and visits[i]:
            agent.n[task] = counts[i].tolist()
        core = cores[i]
        core.np_random.bit_generator.state = saved[i]
        core.np_random.random(int(ep[i]))  # the draws the per-agent path would have taken
        world.store(i, core, int(state[i]), int(last_action[i]))
        if limits[i] is not None:
            limits[i]._elapsed_steps = int(elapsed[i])
        stats = life.stats
        life.lagrange = lagrange[i]
        s.ep_cost = float(ep_cost[i])
        if rules is not None:
            stats.violations += float(violations[i])
            stats.cost += float(costs[i])
            unwrapped[i][2]._last_obs = world.observation(int(state[i]))  # type: ignore[index]
        at = np.flatnonzero(ends[i]).tolist()
        episode_returns = returns_at[i, at].tolist()
        stats.episodes += len(at)
        stats.returns.extend(episode_returns)
        row = acts_rows[i]
        # only the episodes the deque of the most recent keeps: the last maxlen of them
        for k in range(max(0, len(at) - (s.best.maxlen or len(at))), len(at)):
            actions = s.ep_actions + row[: at[0] + 1] if k == 0 else row[at[k - 1] + 1 : at[k] + 1]
            s.best.append((episode_returns[k], tuple(actions[:256])))
        s.ep_actions = row[at[-1] + 1 :] if at else s.ep_actions + row
        s.ep_return = float(ep_ret[i])
        s.obs = int(state[i])
        stats.steps += steps
        watch = requests[i].watch
        if watch is not None:
            for reward in reward_rows[i]:
                watch(reward)


def suite_kernel(suite: Any) -> bool:
    """Whether every environment of the suite can be evaluated in lock-step, without constitution: a
    toy-text kernel's with its success a threshold on the return, or the drifting bandit."""
    for slug in suite.slugs:
        facts = suite.facts[slug]
        if facts.has_constitution:
            return False
        env = suite.acquire(slug)
        try:
            found = _unwrap(env)
            core = None if found is None else found[0]
            if isinstance(core, DriftingBanditEnv):
                continue
            if not isinstance(core, _TOY_TEXT) or facts.success_threshold is None:
                return False
        finally:
            suite.release(env, slug)
    return True


def _greedy_q(life: Life) -> bool:
    """A tabular Q agent acting greedily by its table, no shield: what the evaluation kernel plays."""
    agent = life.agent
    return isinstance(agent, QAgent) and not agent.hyper["softmax"] and not life.objective.shield


def evaluation_kernel(life: Life) -> bool:
    """Whether the life's evaluation can be run in lock-step: a greedy tabular Q agent, no shield,
    on a suite where :func:`suite_kernel` holds."""
    return _greedy_q(life) and suite_kernel(life.suite)


def lockstep_evaluate(lives: Sequence[Life]) -> list[dict[str, tuple[dict[str, float], int]]]:
    """Every life's evaluation episodes (``[eval] episodes`` per environment, the run's common seeds),
    stepped together: per life and environment the metrics and steps
    :func:`spawn.life.evaluate.evaluate` would have found (``evaluation_kernel`` true for each).

    The agent acts greedily, ties drawn as ``Generator.choice`` draws (one uniform, ``cumsum`` of
    the probabilities over their last, ``searchsorted`` to the right), from its evaluation stream in
    per-step order across the environments in suite order; a tool's remaining actions follow
    without a draw. Each episode's lake starts from its seed, so its draws are the same for every
    agent: one for the start, one per step. The drifting bandit draws once a pull (none at the
    start), each agent's world at its own clock (its birth time and training steps, moved on a step
    a pull within the episode, as the environment's ``step`` does), its success ``info``'s (pulls
    of the arm best at the time, against ``success_fraction``) unless the config sets a threshold."""
    from spawn.life.evaluate import _Tally, episode_seeds

    suite, cfg = lives[0].suite, lives[0].cfg
    g = len(lives)
    rows = np.arange(g)
    agents: list[QAgent] = [life.agent for life in lives]  # type: ignore[misc]
    for a in agents:
        for slug in suite.slugs:
            if slug not in a.shapes:
                a.add_task(slug, suite.facts[slug].shape)  # never trained on it: its initial estimates
    need = sum(cfg.eval.episodes * cfg.eval.max_steps for _ in suite.slugs) + 1
    ubuf = np.stack([life.eval_rng().random(need) for life in lives])
    up = np.zeros(g, dtype=np.int64)
    out: list[dict[str, tuple[dict[str, float], int]]] = [{} for _ in lives]
    for slug, seeds in zip(suite.slugs, episode_seeds(cfg, len(suite.slugs)), strict=True):
        env = suite.acquire(slug)
        try:
            world, _ = _kernel(suite, slug, (), env)  # type: ignore[misc]  # the tables made once per process
            bandit = isinstance(world, _BanditWorld)
            if bandit:
                core = _unwrap(env)[0]  # type: ignore[index]
                pulls_needed = core.success_fraction * core.episode_length  # as info["success"] counts
                clocks = np.array([life.spec.birth_time + life.stats.steps for life in lives], dtype=np.int64)
                n_s, n_a = 1, world.n_a
            else:
                nxt, cum, rew, done, start = world.nxt, world.cum, world.rew, world.done, world.start
                n_s, n_a = nxt.shape[0], nxt.shape[1]
            timed = _limit(env)
            limit = cfg.eval.max_steps if timed is None else min(cfg.eval.max_steps, int(timed._max_episode_steps))
        finally:
            suite.release(env, slug)
        tools = [a.shapes[slug].tools for a in agents]
        width = n_a + max(len(ts) for ts in tools)
        q = np.full((g, n_s, width), -np.inf)  # options past an agent's own never win
        for i, a in enumerate(agents):
            table = np.asarray(a.q[slug], dtype=float)
            q[i, :, : table.shape[1]] = table
        seqs, lens = _tool_table(tools, width - n_a)
        longest = seqs.shape[2]
        threshold = suite.facts[slug].success_threshold
        tallies = [_Tally(success_threshold=threshold) for _ in lives]
        returns = [[] for _ in lives]  # type: list[list[float]]
        won = np.zeros(g, dtype=np.int64)  # the bandit's successes by info
        steps_taken = np.zeros(g, dtype=np.int64)
        for seed in seeds:
            lake = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))  # gymnasium's seeding
            draws = lake.random(limit + 1)
            if bandit:  # no draw at the start: pull t draws draws[t]
                state = np.zeros(g, dtype=np.int64)
                best_pulls = np.zeros(g, dtype=np.int64)
            else:
                state = np.full(g, int(np.argmax(start > draws[0])), dtype=np.int64)
            active = np.ones(g, dtype=bool)
            pending = np.zeros(g, dtype=bool)
            tool = np.zeros(g, dtype=np.int64)
            pos = np.zeros(g, dtype=np.int64)
            ret = np.zeros(g)
            length = np.zeros(g, dtype=np.int64)
            for t in range(limit):
                decide = active & ~pending
                row = q[rows, state]
                top = row == row.max(axis=1)[:, None]
                p = top / top.sum(axis=1)[:, None]
                cdf = np.cumsum(p, axis=1)
                cdf /= cdf[:, -1:]
                u = ubuf[rows, up]
                up += decide
                option = (cdf <= u[:, None]).sum(axis=1)
                tool = np.where(decide, np.maximum(option - n_a, 0), tool)
                pos = np.where(decide, 0, pos)
                starts = decide & (option >= n_a)
                # an ended episode's row steps on with any action, unrecorded
                inside = seqs[rows, tool, np.minimum(pos, longest - 1)]
                act = np.where(pending | starts, inside, np.minimum(option, n_a - 1))
                pos = pos + (pending | starts)
                pending = (pending | starts) & (pos < lens[rows, tool])
                if bandit:
                    drifted = (clocks + t >= world.drift_step).astype(np.int64)
                    r = (draws[t] < world.means[drifted, act]).astype(float)
                    best_pulls += act == world.best[drifted]
                    over = np.full(g, t + 1 >= world.length)
                    won += active & over & (best_pulls >= pulls_needed)
                else:
                    j = np.argmax(cum[state, act] > draws[t + 1], axis=1)
                    r = rew[state, act, j]
                    over = done[state, act, j]
                    state = nxt[state, act, j]
                ret = np.where(active, ret + r, ret)
                length += active
                ended = active & (over | (t + 1 >= limit))
                active &= ~ended
                pending &= active
                if not active.any():
                    break
            steps_taken += length
            for i, x in enumerate(ret.tolist()):
                returns[i].append(x)
        for i, tally in enumerate(tallies):
            tally.returns = returns[i]
            tally.steps = int(steps_taken[i])
            tally.trials = len(returns[i])
            tally.successes = sum(x >= threshold for x in returns[i]) if threshold is not None else int(won[i])
            out[i][slug] = (tally.metrics(False, tools[i]), tally.steps)
    return out


def run_cohort(specs: Sequence[AgentSpec], cfg: SimConfig) -> list[JobResult]:
    """Run every spec's life, their rounds stepped together where a kernel can (see the module);
    the results are :func:`~spawn.life.job.run_agent`'s, in the order of ``specs``."""
    results: list[JobResult | None] = [None] * len(specs)
    lives: dict[int, Life] = {}
    gens: dict[int, Any] = {}
    asks: dict[int, RoundRequest] = {}
    with _threadpools().limit(limits=1):

        trained: list[int] = []  # lives whose training is over, to be evaluated together

        def advance(i: int) -> None:
            try:
                asks[i] = next(gens[i])
            except StopIteration:
                asks.pop(i, None)
                trained.append(i)
            except Exception as exc:
                asks.pop(i, None)
                results[i] = failed_result(specs[i], cfg, lives.get(i), exc)

        def train_alone(i: int) -> None:
            try:
                lives[i].train_round(asks[i])
            except Exception as exc:
                del asks[i]
                results[i] = failed_result(specs[i], cfg, lives[i], exc)

        def finish_all() -> None:
            # the suite is the cohort's; only the agents differ
            kernel = bool(trained) and suite_kernel(lives[trained[0]].suite)
            together = [i for i in trained if kernel and _greedy_q(lives[i])]
            done = {}
            if len(together) >= MIN_LOCKSTEP:
                done = dict(zip(together, lockstep_evaluate([lives[i] for i in together]), strict=True))
            for i in trained:
                try:
                    results[i] = lives[i].finish(done.get(i))
                except Exception as exc:
                    results[i] = failed_result(specs[i], cfg, lives[i], exc)
            trained.clear()

        for i, spec in enumerate(specs):
            try:
                lives[i] = Life(spec, cfg)
                gens[i] = lives[i].rounds()
            except Exception as exc:
                results[i] = failed_result(spec, cfg, lives.get(i), exc)
                continue
            advance(i)
        while asks:
            groups: defaultdict[tuple[Any, ...], list[int]] = defaultdict(list)
            for i in sorted(asks):
                try:
                    key = kernel_key(lives[i], asks[i])
                except Exception as exc:
                    del asks[i]
                    results[i] = failed_result(specs[i], cfg, lives[i], exc)
                    continue
                if key is None:
                    train_alone(i)
                else:
                    groups[key].append(i)
            for members in groups.values():
                if len(members) < MIN_LOCKSTEP:  # a narrow cohort: the scalar loop is faster
                    for i in members:
                        train_alone(i)
                else:
                    lockstep_rounds([lives[i] for i in members], [asks[i] for i in members])
            for i in sorted(asks):
                advance(i)
            finish_all()
        finish_all()
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]
