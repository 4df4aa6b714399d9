"""Watkins's Q(lambda) against a slow transcription of the algorithm (Sutton and Barto, 2nd ed., 12.10)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spawn.agents import QAgent, QLambdaAgent, TaskShape
from spawn.life.job import suite_for
from spawn.life.objectives import objective_class
from spawn.life.training import Session, TrainStats, train_session

from ..helpers import config

#: One SMDP step: (S, A, R, S', terminated, discount gamma^k, A' the action then taken in S' or None).
Step = tuple[int, int, float, int, bool, float, "int | None"]


def watkins(q: list[list[float]], steps: list[Step], alpha: float, lam: float) -> list[list[float]]:
    """Watkins's Q(lambda), accumulating traces, written plainly (no sparse traces, no pruning).

    For each step: delta = R + gamma^k max_a Q(S', a) - Q(S, A) (just R when S' is terminal);
    e(S, A) += 1; Q += alpha delta e for every pair; then, if A' is greedy in S', e *= gamma^k lambda,
    else e = 0. A' is judged greedy against the table it is chosen from: the one after this update.
    """
    q = copy.deepcopy(q)
    e = [[0.0] * len(row) for row in q]
    for s, a, r, s2, done, disc, a2 in steps:
        delta = (r if done else r + disc * max(q[s2])) - q[s][a]
        e[s][a] += 1.0
        for x in range(len(q)):
            for b in range(len(q[x])):
                q[x][b] += alpha * delta * e[x][b]
        greedy = a2 is not None and not done and q[s2][a2] == max(q[s2])
        for x in range(len(q)):
            for b in range(len(q[x])):
                e[x][b] = e[x][b] * disc * lam if greedy else 0.0
    return q


def _close(a: list[list[float]], b: list[list[float]], tol: float = 1e-9) -> bool:
    return bool(np.allclose(np.array(a), np.array(b), rtol=0.0, atol=tol))


def _drive(agent: QLambdaAgent, steps: list[Step]) -> None:
    """The agent through hand-made steps, told each next action as ``act`` would tell it."""
    for s, a, r, s2, done, disc, a2 in steps:
        agent.update("t", s, a, r, s2, done, disc)
        if a2 is not None and not done:
            agent.note_action("t", s2, a2)
    agent.end_episode("t")


def _agent(n_obs: int, n_act: int, alpha: float, gamma: float, lam: float) -> QLambdaAgent:
    shape = {"t": TaskShape(n_obs, n_obs, n_act)}
    return QLambdaAgent(shape, {"alpha": alpha, "gamma": gamma, "lambda": lam}, np.random.default_rng(0))


def test_an_exploratory_next_action_cuts_the_trace_before_its_delta_flows_back() -> None:
    # s0 --a0, R=1--> s1, then the exploratory a0 in s1 (Q[s1] = [-0.5, 0, 0, 0]), R=4, terminal.
    # The code before the fix cut on the current action after applying delta: Q[s0, a0] came out
    # 0.5 + 0.5 * 4.5 = 2.75. Watkins cuts on A' = a0 in s1, exploratory: Q[s0, a0] = alpha * 1.
    steps: list[Step] = [(0, 0, 1.0, 1, False, 1.0, 0), (1, 0, 4.0, 2, True, 1.0, None)]
    agent = _agent(3, 4, alpha=0.5, gamma=1.0, lam=1.0)
    agent.q["t"][1][0] = -0.5
    start = copy.deepcopy(agent.q["t"])
    _drive(agent, steps)
    assert agent.q["t"][0][0] == pytest.approx(0.5)
    assert agent.q["t"][1][0] == pytest.approx(-0.5 + 0.5 * 4.5)
    assert _close(agent.q["t"], watkins(start, steps, 0.5, 1.0))


def test_a_greedy_next_action_keeps_the_trace_and_the_first_action_is_not_judged() -> None:
    # s0 --a3 (exploratory in s0: not the next action of anything, so no cut)--> s1 --a1 greedy--> end.
    steps: list[Step] = [(0, 3, 0.0, 1, False, 0.9, 1), (1, 1, 2.0, 2, True, 0.9, None)]
    agent = _agent(3, 4, alpha=0.5, gamma=0.9, lam=0.8)
    agent.q["t"][0] = [1.0, 0.0, 0.0, 0.0]
    agent.q["t"][1] = [0.0, 1.0, 0.0, 0.0]
    start = copy.deepcopy(agent.q["t"])
    _drive(agent, steps)
    d1 = 0.0 + 0.9 * 1.0 - 0.0
    q01 = 1.0 + 0.5 * (2.0 - 1.0)
    assert agent.q["t"][1][1] == pytest.approx(q01)
    assert agent.q["t"][0][3] == pytest.approx(0.5 * d1 + 0.5 * (2.0 - 1.0) * 0.9 * 0.8)
    assert _close(agent.q["t"], watkins(start, steps, 0.5, 0.8))


@st.composite
def _episodes(draw: Any) -> tuple[list[list[float]], list[Step], float, float, float]:
    n_obs, n_act = 3, 3
    q = [[float(draw(st.integers(-2, 2))) for _ in range(n_act)] for _ in range(n_obs)]
    gamma = draw(st.sampled_from([0.9, 1.0]))
    lam = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
    alpha = draw(st.sampled_from([0.1, 0.5, 1.0]))
    n = draw(st.integers(1, 6))
    steps: list[Step] = []
    s = draw(st.integers(0, n_obs - 1))
    a = draw(st.integers(0, n_act - 1))
    for i in range(n):
        s2 = draw(st.integers(0, n_obs - 1))  # self-loops and revisits included
        done = i == n - 1 and draw(st.booleans())
        disc = gamma ** draw(st.integers(1, 2))  # a primitive step or a two-step tool
        a2 = None if i == n - 1 else draw(st.integers(0, n_act - 1))
        steps.append((s, a, float(draw(st.integers(-3, 3))), s2, done, disc, a2))
        if a2 is not None:
            s, a = s2, a2
    return q, steps, alpha, gamma, lam


@settings(max_examples=150)
@given(_episodes())
def test_q_lambda_matches_the_slow_transcription_on_hand_made_episodes(
    case: tuple[list[list[float]], list[Step], float, float, float],
) -> None:
    q, steps, alpha, gamma, lam = case
    agent = _agent(3, 3, alpha, gamma, lam)
    agent.q["t"] = copy.deepcopy(q)
    _drive(agent, steps)
    assert _close(agent.q["t"], watkins(q, steps, alpha, lam))


def _recorded_training(agent: Any, cfg: Any, steps: int) -> list[Step]:
    """Train ``agent`` with the simulator's loop, recording every update and the action that follows it."""
    suite = suite_for(cfg)
    task = cfg.train_envs[0]
    session = Session(suite, task, False, seed=5, clock=0)
    calls: list[list[Any]] = []
    act, update, end = agent.act, agent.update, agent.end_episode

    def rec_act(t: str, obs: Any, mask: Any) -> int:
        option = act(t, obs, mask)
        if calls and calls[-1][-1] == "open":
            calls[-1][-1] = option
        return option

    def rec_update(t: str, obs: Any, option: int, r: float, nxt: Any, done: bool, disc: float) -> None:
        calls.append([obs, option, r, nxt, done, disc, "open"])
        update(t, obs, option, r, nxt, done, disc)

    def rec_end(t: str) -> None:
        if calls and calls[-1][-1] == "open":
            calls[-1][-1] = None  # the episode ended: no next action in it
        end(t)

    agent.act, agent.update, agent.end_episode = rec_act, rec_update, rec_end
    train_session(agent, session, steps, objective_class("raw")(cfg), 0.0, TrainStats(), None, cfg.agent.gamma)
    session.env.close()
    return [(s, a, r, s2, d, g, None if a2 == "open" else a2) for s, a, r, s2, d, g, a2 in calls]


def _lake(**agent: Any) -> Any:
    lake = {"id": "FrozenLake-v1", "return_range": [0, 1], "kwargs": {"is_slippery": True}}
    return config(envs=[lake], agent={"kind": "q-lambda", **agent})


def test_training_with_the_simulators_loop_is_watkins_q_lambda() -> None:
    cfg = _lake(alpha=0.5, gamma=0.9, epsilon=0.4, **{"lambda": 0.9})
    shape = suite_for(cfg).facts["FrozenLake-v1"].shape
    hyper = {"alpha": 0.5, "gamma": 0.9, "epsilon": 0.4, "lambda": 0.9}
    agent = QLambdaAgent({"FrozenLake-v1": shape}, hyper, np.random.default_rng(2))
    # Optimistic, uneven start values: greedy and exploratory actions both occur, and traces matter.
    rng = np.random.default_rng(9)
    agent.q["FrozenLake-v1"] = rng.uniform(0.0, 1.0, (16, 4)).round(1).tolist()
    start = copy.deepcopy(agent.q["FrozenLake-v1"])
    steps = _recorded_training(agent, cfg, 400)
    assert any(a2 is not None and start[s2][a2] < max(start[s2]) for *_, s2, _d, _g, a2 in steps)
    # The reference, episode by episode (traces never cross an episode).
    q = start
    episode: list[Step] = []
    for step in steps:
        episode.append(step)
        if step[-1] is None:
            q = watkins(q, episode, 0.5, 0.9)
            episode = []
    q = watkins(q, episode, 0.5, 0.9)
    # (The agent drops traces under 1e-3; with epsilon = 0.4 no greedy run lasts long enough here.)
    assert _close(agent.q["FrozenLake-v1"], q)


def test_with_lambda_zero_it_is_one_step_q_learning() -> None:
    cfg = _lake(alpha=0.3, gamma=0.95, epsilon=0.3, **{"lambda": 0.0})
    shape = {"FrozenLake-v1": suite_for(cfg).facts["FrozenLake-v1"].shape}
    hyper = {"alpha": 0.3, "gamma": 0.95, "epsilon": 0.3, "lambda": 0.0}
    lam = QLambdaAgent(shape, hyper, np.random.default_rng(4))
    plain = QAgent(shape, hyper, np.random.default_rng(4))
    _recorded_training(lam, cfg, 3000)
    _recorded_training(plain, cfg, 3000)
    assert lam.q == plain.q and any(v for row in lam.q["FrozenLake-v1"] for v in row)
