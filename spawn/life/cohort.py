"""The cohort engine (``engine = "cohort"``): the lives ready to run, their rounds stepped together.

:func:`run_cohort` runs a list of agents' lives as :func:`spawn.life.job.run_agent` runs each, and
gives the same results, byte for byte: every life asks for its rounds (:meth:`Life.rounds`), and the
rounds that a kernel can step are trained in lock-step, one numpy call per step for the whole
group, with an agent axis on every array (the Q-tables, the environments' states, the exploration
and transition draws, the returns); every other round runs on the per-agent path
(:meth:`Life.train_round`), inside the same cohort. The evaluation episodes run in lock-step too
where every environment of the suite has a kernel (:func:`lockstep_evaluate`); triggers and
operators stay per agent.

Kernels (``kernel_key``): tabular Q-learning, epsilon-greedy, at a constant step size, its tools
as SMDP options (a tool's actions one step each, learnt as one step), without shield or
constitution, on the toy-text environments stepped from a transition table — ``FrozenLake-v1``,
``CliffWalking-v1``, ``Taxi`` without its fickle passenger — as ``gymnasium.make`` builds them.
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

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.envs.toy_text.cliffwalking import CliffWalkingEnv
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv
from gymnasium.envs.toy_text.taxi import TaxiEnv
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit

from spawn.agents import QAgent
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


def _toy_text(env: Any) -> Any | None:
    """The toy-text environment (FrozenLake, CliffWalking, Taxi without its fickle passenger) under
    the wrappers ``gymnasium.make`` puts on it (``TimeLimit`` where registered, ``OrderEnforcing``,
    ``PassiveEnvChecker``), else ``None``: a kernel steps them from their transition table."""
    chain = [env]
    while hasattr(chain[-1], "env"):
        chain.append(chain[-1].env)
    kinds = [type(e) for e in chain]
    if kinds[0] is TimeLimit:
        kinds = kinds[1:]
    if kinds[:2] != [OrderEnforcing, PassiveEnvChecker] or len(kinds) != 3:
        return None
    core = chain[-1]
    if kinds[2] not in _TOY_TEXT or core.render_mode is not None:
        return None
    if getattr(core, "fickle_passenger", False):  # extra draws of its own: no kernel
        return None
    return core


def _limit(env: Any) -> Any | None:
    """The environment's ``TimeLimit`` wrapper, or ``None`` without one."""
    return env if isinstance(env, TimeLimit) else None


def kernel_key(life: Life, request: RoundRequest) -> tuple[str, int, int] | None:
    """The group a round can be stepped in (its task, steps and the agent's number of tools), or
    ``None`` for the per-agent path."""
    agent = life.agent
    if type(agent) is not QAgent or agent.hyper["softmax"] or agent.hyper["visits"]:
        return None
    if life.objective.shield or life.objective.adaptive:
        return None
    session = life.session(request.task)
    if session.constrained or _toy_text(session.env) is None:
        return None
    return request.task, request.steps, len(agent.shapes[request.task].tools)


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


def _agent_uniforms(agent: QAgent, n: int) -> list[float]:
    """The agent's next ``n`` (at least) uniforms, in the order ``_uniform`` would give them."""
    u = agent._u[agent._ui :]
    while len(u) < n:
        u += agent.rng.random(4096).tolist()
    return u


def lockstep_rounds(lives: Sequence[Life], requests: Sequence[RoundRequest]) -> None:
    """Train one round for every life at once, as :func:`spawn.life.training.train_session` trains
    each (every ``kernel_key`` the same)."""
    task, steps = requests[0].task, requests[0].steps
    sessions: list[Session] = [life.session(task) for life in lives]
    agents: list[QAgent] = [life.agent for life in lives]  # type: ignore[misc]
    g = len(lives)
    rows = np.arange(g)
    nxt, cum, rew, done, start = _tables(sessions[0].env)
    n_a = nxt.shape[1]
    limits: list[Any] = [_limit(s.env) for s in sessions]  # the TimeLimit wrappers (or None)
    lakes: list[Any] = [s.env.unwrapped for s in sessions]
    max_steps = np.array([_NO_LIMIT if tl is None else tl._max_episode_steps for tl in limits], dtype=np.int64)
    elapsed = np.array([0 if tl is None else tl._elapsed_steps for tl in limits], dtype=np.int64)
    state = np.array([int(lake.s) for lake in lakes], dtype=np.int64)
    q = np.array([a.q[task] for a in agents], dtype=float)
    eps = np.array([a.hyper["epsilon"] for a in agents])
    alpha = np.array([a.hyper["alpha"] for a in agents])
    gamma = np.array([r.gamma for r in requests])
    need = 2 * steps + 2
    agent_u = [_agent_uniforms(a, need) for a in agents]
    ubuf = np.array([u[:need] for u in agent_u])
    saved = [lake.np_random.bit_generator.state for lake in lakes]
    ebuf = np.stack([lake.np_random.random(need) for lake in lakes])
    up = np.zeros(g, dtype=np.int64)
    ep = np.zeros(g, dtype=np.int64)
    ep_ret = np.array([s.ep_return for s in sessions])
    acts = np.empty((g, steps), dtype=np.int64)
    rewards = np.empty((g, steps))
    last_action = np.full(g, -1, dtype=np.int64)
    ended_at: list[list[tuple[int, float]]] = [[] for _ in range(g)]  # (step, return) of each episode end
    n_opt = q.shape[2]  # primitive actions, then the agents' tools (the same number in a group)
    seqs, lens = _tool_table([a.shapes[task].tools for a in agents], n_opt - n_a)
    busy = np.zeros(g, dtype=bool)  # inside a tool: its next action, no decision
    opt = np.zeros(g, dtype=np.int64)
    pos = np.zeros(g, dtype=np.int64)
    obs0 = state.copy()
    ret = np.zeros(g)
    disc = np.ones(g)
    for t in range(steps):
        # act, where free: epsilon-greedy over the options, ties split by a second draw
        free = ~busy
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
        opt = np.where(free, choice, opt)
        obs0 = np.where(free, state, obs0)
        pos = np.where(free, 0, pos)
        ret = np.where(free, 0.0, ret)
        disc = np.where(free, 1.0, disc)
        prim = opt < n_a
        tool = np.maximum(opt - n_a, 0)
        a = np.where(prim, opt, seqs[rows, tool, pos])
        # step: one draw from the lake's stream
        e = ebuf[rows, ep]
        ep += 1
        j = np.argmax(cum[state, a] > e[:, None], axis=1)
        s2, r, term = nxt[state, a, j], rew[state, a, j], done[state, a, j]
        elapsed += 1
        trunc = elapsed >= max_steps
        pos += 1
        ret = ret + disc * r
        disc = disc * gamma
        ep_ret += r
        acts[:, t] = a
        rewards[:, t] = r
        last_action = a
        state = s2
        ended = term | trunc
        # an option ends with the episode, the round, a primitive action or its tool's last action;
        # then the SMDP update (truncation bootstraps, termination does not)
        over = ended | prim | (pos >= lens[rows, tool]) | (t == steps - 1)
        idx = np.flatnonzero(over)
        if len(idx):
            o, x = opt[idx], obs0[idx]
            target = np.where(term[idx], ret[idx], ret[idx] + disc[idx] * q[idx, s2[idx]].max(axis=1))
            old = q[idx, x, o]
            q[idx, x, o] = old + alpha[idx] * (target - old)
        busy = ~over
        if ended.any():
            for i in np.flatnonzero(ended).tolist():
                ended_at[i].append((t, float(ep_ret[i])))
            # restart: one draw from the lake's stream for the start state
            e2 = ebuf[rows, ep]
            ep += ended
            state = np.where(ended, np.argmax(start[None, :] > e2[:, None], axis=1), state)
            elapsed = np.where(ended, 0, elapsed)
            ep_ret = np.where(ended, 0.0, ep_ret)
            last_action = np.where(ended, -1, last_action)
    # write every agent, session, environment and statistic back as the per-agent path leaves them
    q_rows = q.tolist()
    acts_rows = acts.tolist()
    reward_rows = rewards.tolist()
    for i, (life, s, agent) in enumerate(zip(lives, sessions, agents, strict=True)):
        agent.q[task] = q_rows[i]
        agent._u, agent._ui = agent_u[i][int(up[i]) :], 0
        lake = lakes[i]
        lake.np_random.bit_generator.state = saved[i]
        lake.np_random.random(int(ep[i]))  # the draws the per-agent path would have taken
        lake.s = int(state[i])
        lake.lastaction = None if last_action[i] < 0 else int(last_action[i])
        if limits[i] is not None:
            limits[i]._elapsed_steps = int(elapsed[i])
        stats = life.stats
        actions, begun = s.ep_actions, 0
        for at, episode_return in ended_at[i]:
            actions = actions + acts_rows[i][begun : at + 1]
            stats.episodes += 1
            stats.returns.append(episode_return)
            s.best.append((episode_return, tuple(actions[:256])))
            actions, begun = [], at + 1
        s.ep_actions = actions + acts_rows[i][begun:]
        s.ep_return = float(ep_ret[i])
        s.obs = int(state[i])
        stats.steps += steps
        watch = requests[i].watch
        if watch is not None:
            for reward in reward_rows[i]:
                watch(reward)


def suite_kernel(suite: Any) -> bool:
    """Whether every environment of the suite can be evaluated in lock-step: a kernel's, without
    constitution, its success a threshold on the return."""
    for slug in suite.slugs:
        facts = suite.facts[slug]
        if facts.has_constitution or facts.success_threshold is None:
            return False
        env = suite.acquire(slug)
        try:
            if _toy_text(env) is None:
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
    agent: one for the start, one per step."""
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
            nxt, cum, rew, done, start = _tables(env)
            timed = _limit(env)
            limit = cfg.eval.max_steps if timed is None else min(cfg.eval.max_steps, int(timed._max_episode_steps))
        finally:
            suite.release(env, slug)
        n_a = nxt.shape[1]
        tools = [a.shapes[slug].tools for a in agents]
        width = n_a + max(len(ts) for ts in tools)
        q = np.full((g, nxt.shape[0], width), -np.inf)  # options past an agent's own never win
        for i, a in enumerate(agents):
            table = np.asarray(a.q[slug], dtype=float)
            q[i, :, : table.shape[1]] = table
        seqs, lens = _tool_table(tools, width - n_a)
        longest = seqs.shape[2]
        threshold = suite.facts[slug].success_threshold
        tallies = [_Tally(success_threshold=threshold) for _ in lives]
        returns = [[] for _ in lives]  # type: list[list[float]]
        steps_taken = np.zeros(g, dtype=np.int64)
        for seed in seeds:
            lake = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))  # gymnasium's seeding
            draws = lake.random(limit + 1)
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
                j = np.argmax(cum[state, act] > draws[t + 1], axis=1)
                r = rew[state, act, j]
                ret = np.where(active, ret + r, ret)
                length += active
                ended = active & (done[state, act, j] | (t + 1 >= limit))
                state = nxt[state, act, j]
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
            tally.successes = sum(x >= threshold for x in returns[i]) if threshold is not None else 0
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
            groups: defaultdict[tuple[str, int, int], list[int]] = defaultdict(list)
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
