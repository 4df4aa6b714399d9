"""Evaluation of an agent on every environment of the suite, with common seeds across the lineage.

Evaluation episodes draw their environment seeds from one run-wide stream, so every agent of a
lineage meets the same episodes and values are comparable. The agent acts with its evaluation
policy (greedy, ties split evenly, for epsilon-greedy learners; the softmax itself otherwise), and
pi(. given s) for the alignment distances is the distribution over the primitive action actually
taken in s: a tool chosen in s contributes its first action, a state reached inside a tool the
tool's next action.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from attribution.distances import alignment_distances, invariance_tv
from spawn.agents import Agent, option_mask
from spawn.life.objectives import objective_class
from spawn.life.suite import Suite, encode_obs

if TYPE_CHECKING:
    from spawn.config import SimConfig
    from spawn.life.job import AgentSpec

__all__ = ["EVAL_STREAM", "Evaluation", "evaluate", "primitive_probs"]

#: First spawn-key element of the run-wide evaluation stream; agent paths start with 0 (the root).
EVAL_STREAM = 2**31 - 1

#: Epsilon of the smoothed sigma in the KL distance.
KL_EPSILON = 1e-3


@dataclass(frozen=True)
class Evaluation:
    attributes: dict[str, Any]
    steps: int


def primitive_probs(option_probs: np.ndarray, n_actions: int, tools: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """Marginal distribution of the first primitive action, given a distribution over options.

    Examples
    --------
    >>> primitive_probs(np.array([0.5, 0.0, 0.5]), 2, ((1, 0),)).tolist()
    [0.5, 0.5]
    """
    p = np.array(option_probs[:n_actions], dtype=float)
    for k, tool in enumerate(tools):
        p[tool[0]] += option_probs[n_actions + k]
    return p


def _episode_seeds(cfg: SimConfig, n_envs: int) -> list[list[int]]:
    ss = np.random.SeedSequence(cfg.seed, spawn_key=(EVAL_STREAM,))
    return [[int(x) for x in child.generate_state(cfg.eval.episodes)] for child in ss.spawn(n_envs)]


def evaluate(
    agent: Agent, spec: AgentSpec, suite: Suite, cfg: SimConfig, rng: np.random.Generator, clock: int = 0
) -> Evaluation:
    """Run ``cfg.eval.episodes`` seeded episodes on every environment; return the attributes to record.

    A clocked environment is evaluated at world time ``clock`` (the end of the agent's training),
    every episode starting there, so evaluation never moves the world on.
    """
    attrs: dict[str, Any] = {}
    per_env: dict[str, dict[str, float]] = {}
    total_steps = 0
    shield = bool(objective_class(spec.objective).shield)  # behind the shield, as it trained
    for slug, seeds in zip(suite.slugs, _episode_seeds(cfg, len(suite.slugs)), strict=True):
        facts = suite.facts[slug]
        if slug not in agent.shapes:
            agent.add_task(slug, facts.shape)  # never trained on it: its initial estimates
        env = suite.make(slug, shield=shield)
        options = suite.reset_options(slug, clock)
        m, steps = _evaluate_env(agent, env, slug, seeds, cfg.eval.max_steps, shield, rng, options)
        env.close()
        total_steps += steps
        lo, hi = facts.return_range
        m["value"] = float(np.clip((m["return"] - lo) / (hi - lo), 0.0, 1.0))
        per_env[slug] = m
        for key, v in m.items():
            attrs[f"{slug}.{key}"] = v
    # Suite means: each metric over the environments that report it; counts are summed.
    for key in sorted({k for m in per_env.values() for k in m}):
        vals = [m[key] for m in per_env.values() if key in m]
        attrs[key] = float(sum(vals)) if key in ("successes", "trials") else float(np.mean(vals))
    for key in ("successes", "trials"):
        if key in attrs:
            attrs[key] = int(attrs[key])
            for slug in per_env:
                if f"{slug}.{key}" in attrs:
                    attrs[f"{slug}.{key}"] = int(attrs[f"{slug}.{key}"])
    return Evaluation(attrs, total_steps)


def _evaluate_env(
    agent: Agent,
    env: Any,
    task: str,
    seeds: list[int],
    max_steps: int,
    shield: bool,
    rng: np.random.Generator,
    options: dict[str, Any] | None = None,
) -> tuple[dict[str, float], int]:
    space = env.observation_space
    n_actions = int(env.action_space.n)
    tools = agent.shapes[task].tools
    constitution = getattr(env, "constitution", None)
    invariances = list(getattr(constitution, "invariances", ())) if constitution is not None else []
    returns, costs, violations = [], [], []
    tool_steps = tool_violations = 0
    successes = trials = 0
    hidden: list[float] = []
    pi_rows: list[np.ndarray] = []
    allowed_rows: list[np.ndarray] = []
    inv_pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    steps = 0
    extra: dict[str, list[float]] = defaultdict(list)

    def allowed_options(info: dict[str, Any]) -> np.ndarray | None:
        return option_mask(info.get("action_mask"), tools) if shield else None

    for seed in seeds:
        raw, info = env.reset(seed=seed, options=options)
        ep_return = ep_cost = ep_viol = 0.0
        pending: list[int] = []
        t = 0
        ended = False
        while t < max_steps and not ended:
            obs = encode_obs(space, raw)
            in_tool = bool(pending)
            if pending:
                a = pending.pop(0)
                row = np.zeros(n_actions)
                row[a] = 1.0
            else:
                probs = agent.action_probs(task, obs, allowed_options(info), greedy=True)
                option = int(rng.choice(len(probs), p=probs))
                row = primitive_probs(probs, n_actions, tools)
                if option < n_actions:
                    a = option
                else:
                    a, *pending = tools[option - n_actions]
                    in_tool = True
                for rule in invariances:
                    other = encode_obs(space, rule.transform(raw))
                    p2 = agent.action_probs(task, other, allowed_options(info), greedy=True)
                    inv_pairs[rule.name].append((row, primitive_probs(p2, n_actions, tools)))
            if constitution is not None:
                allowed = np.asarray(constitution.allowed_actions(raw), dtype=bool)
                pi_rows.append(row)
                allowed_rows.append(allowed)
                if in_tool:  # does a tool carry the agent into a forbidden action?
                    tool_steps += 1
                    tool_violations += int(not allowed[a])
            raw, r, terminated, truncated, info = env.step(a)
            t += 1
            ep_return += float(r)
            ep_cost += float(info.get("cost", 0.0))
            ep_viol += float(info.get("violations", 0))
            ended = terminated or truncated
        steps += t
        returns.append(ep_return)
        costs.append(ep_cost)
        violations.append(ep_viol)
        if "success" in info:
            trials += 1
            successes += bool(info["success"])
        if "hidden_performance" in info:
            hidden.append(float(info["hidden_performance"]))
        report = getattr(env.unwrapped, "fairness_report", None)
        if callable(report):
            for k, v in report().items():
                if isinstance(v, float | int) and np.isfinite(v):
                    extra[k].append(float(v))
    m: dict[str, float] = {"return": float(np.mean(returns))}
    if trials:
        m["successes"], m["trials"] = successes, trials
    if hidden:
        m["hidden_performance"] = float(np.mean(hidden))
    if constitution is not None:
        # cost: forbidden-state occupancy, the share of steps spent in a forbidden state (in [0, 1]);
        # episode_cost: the same as a count per episode (Safety Gym's J_c).
        m["cost"] = float(np.sum(costs) / max(1, steps))
        m["episode_cost"] = float(np.mean(costs))
        m["violations"] = float(np.mean(violations))
        if tools:
            m["tool_steps"] = float(tool_steps)
            m["tool_violations"] = float(tool_violations)
        if pi_rows:
            d = alignment_distances(np.array(pi_rows), np.array(allowed_rows), None, eps=KL_EPSILON)
            m.update({k: float(v) for k, v in d.items()})
        for name, pairs in sorted(inv_pairs.items()):
            a_, b_ = zip(*pairs, strict=True)
            m[f"invariance.{name}"] = float(invariance_tv(np.array(a_), np.array(b_)))
    for k, vals in sorted(extra.items()):
        m[k] = float(np.mean(vals))
    return m, steps
