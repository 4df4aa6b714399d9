"""The environment suite of a run: making environments, encoding observations, reading their facts."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import envs
from spawn.agents import TaskShape
from spawn.config import EnvConfig, SimConfig, import_plugins, plugin_env_module
from spawn.errors import ConfigError

__all__ = ["EnvFacts", "Suite", "encode_obs", "make_encoder", "task_shape"]


def task_shape(env: gym.Env, slug: str, tools: tuple[tuple[int, ...], ...] = ()) -> TaskShape:
    """Sizes an agent needs for ``env``; refuses spaces the built-in agents cannot use."""
    a, o = env.action_space, env.observation_space
    if not isinstance(a, spaces.Discrete):
        raise ConfigError(f"environment {slug!r} has action space {a}; accepted: Discrete action spaces")
    if isinstance(o, spaces.Discrete):
        return TaskShape(int(o.n), int(o.n), int(a.n), tools)
    if isinstance(o, spaces.Box):
        return TaskShape(None, int(np.prod(o.shape)) + 1, int(a.n), tools)
    raise ConfigError(f"environment {slug!r} has observation space {o}; accepted: Discrete or Box")


def encode_obs(space: gym.Space, obs: Any) -> Any:
    """An observation as the agents see it: an ``int`` index, or a flat float vector with a bias."""
    if isinstance(space, spaces.Discrete):
        return int(obs) - int(space.start)
    flat = np.asarray(obs, dtype=float).ravel()
    return np.append(flat, 1.0)


def make_encoder(space: gym.Space) -> Callable[[Any], Any]:
    """:func:`encode_obs` specialised to ``space`` (the training loop calls it every step)."""
    if isinstance(space, spaces.Discrete) and int(space.start) == 0:
        return int
    return functools.partial(encode_obs, space)


@dataclass(frozen=True)
class EnvFacts:
    """What the simulator reads of one environment without knowing it.

    Every environment has a success, counted per evaluation episode (``successes`` of ``trials``, what
    HGM's clade-metaproductivity pools): ``info["success"]`` at the episode's end where the environment
    reports one (metadata ``has_success``), otherwise an episode return at or above
    ``success_threshold`` (the ``[[envs]]`` key, by default the top of the return range). A
    ``success_threshold`` in the config applies to any environment, overriding its own success.
    """

    slug: str
    return_range: tuple[float, float]
    has_success: bool
    has_hidden: bool
    has_constitution: bool
    clocked: bool  # accepts reset(options={"clock": t}): world time in lineage training steps
    shape: TaskShape
    complexity_bits: float
    #: The episode return at or above which an evaluation episode succeeds; ``None``: the environment's
    #: ``info["success"]`` decides (it reports one and the config sets no ``success_threshold``).
    success_threshold: float | None = None


class Suite:
    """The ``[[envs]]`` of a config, made and checked once (before anything runs)."""

    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.configs: dict[str, EnvConfig] = {e.slug: e for e in cfg.envs}
        self.facts: dict[str, EnvFacts] = {}
        self._training_rules: dict[str, tuple[str, ...]] = {}
        self._idle: dict[tuple[str, bool, tuple[str, ...]], list[gym.Env]] = {}  # see acquire
        # Work limits (spawn.config.check_work) are checked by parse_config, in the driver only: a
        # worker has no --limit flags. Plugins (module:EnvId environments, a module:Class agent) are
        # imported only once every other part of the config has been checked: importing runs their code.
        plain = [(i, ec) for i, ec in enumerate(cfg.envs) if plugin_env_module(ec.id) is None]
        plugged = [(i, ec) for i, ec in enumerate(cfg.envs) if plugin_env_module(ec.id) is not None]
        for i, ec in plain:
            self._add_facts(i, ec)
        import_plugins(cfg)
        for i, ec in plugged:
            self._add_facts(i, ec)
        self.facts = {ec.slug: self.facts[ec.slug] for ec in cfg.envs}  # in config order
        self._check_agent_fits()

    def _add_facts(self, i: int, ec: EnvConfig) -> None:
        env = self.make(ec.slug, shield=False)
        try:
            desc = envs.describe(env)
            rr = ec.return_range or desc.return_range
            if rr is None:
                raise ConfigError(
                    f"envs[{i}] ({ec.id}) declares no return range; give return_range = [low, high]"
                )
            shape = task_shape(env, ec.slug)
            threshold = ec.success_threshold
            if threshold is None and not desc.has_success:
                threshold = float(rr[1])  # no success of its own: reaching the top of the return range
            self.facts[ec.slug] = EnvFacts(
                slug=ec.slug,
                return_range=(float(rr[0]), float(rr[1])),
                has_success=desc.has_success,
                has_hidden=desc.has_hidden,
                has_constitution=ec.constitution is not None,
                clocked=bool(env.unwrapped.metadata.get("clocked", False)),
                shape=shape,
                complexity_bits=float(envs.complexity_bits(env)),
                success_threshold=threshold,
            )
        finally:
            env.close()

    def _check_agent_fits(self) -> None:
        from spawn.agents import agent_class

        kind = self.cfg.agent.kind
        if not getattr(agent_class(kind), "needs_discrete", False):
            return
        for i, ec in enumerate(self.cfg.envs):
            if self.facts[ec.slug].shape.n_obs is None:
                raise ConfigError(
                    f"envs[{i}] ({ec.id}) has non-discrete observations, which agent kind {kind!r} "
                    "cannot use (every agent is evaluated on every environment); use "
                    'kwargs = { discrete = true } where the environment offers it, or [agent] kind = "linear"'
                )

    @property
    def slugs(self) -> list[str]:
        return list(self.configs)

    def reset_options(self, slug: str, clock: int) -> dict[str, Any] | None:
        """Options for the first reset of an environment met at world time ``clock``."""
        return {"clock": clock} if self.facts[slug].clocked else None

    def training_rules(self, slug: str) -> tuple[str, ...]:
        """The names of the constitution rules of ``slug`` that training sees (forbidden actions and
        forbidden states; invariances are only measured), in the constitution's order; ``()`` without one."""
        if self.configs[slug].constitution is None:
            return ()
        if slug not in self._training_rules:
            env = self.make(slug)
            try:
                c = env.constitution  # type: ignore[attr-defined]
                self._training_rules[slug] = tuple(r.name for r in (*c.forbidden_actions, *c.forbidden_states))
            finally:
                env.close()
        return self._training_rules[slug]

    def acquire(self, slug: str, shield: bool = False, dropped: tuple[str, ...] = ()) -> gym.Env:
        """An instance of environment ``slug`` as :meth:`make` makes it, reused when one is idle: every
        environment is made once per process and task, not once per agent. Whoever takes one resets
        it with a seed (and a clocked one with its clock) before using it, which puts it where a
        fresh one would be, and gives it back with :meth:`release`."""
        idle = self._idle.get((slug, shield, dropped))
        return idle.pop() if idle else self.make(slug, shield, dropped)

    def release(self, env: gym.Env, slug: str, shield: bool = False, dropped: tuple[str, ...] = ()) -> None:
        """Give back an environment from :meth:`acquire` for the next agent."""
        self._idle.setdefault((slug, shield, dropped), []).append(env)

    def make(self, slug: str, shield: bool = False, dropped: tuple[str, ...] = ()) -> gym.Env:
        """A fresh instance of environment ``slug``, wrapped in its constitution when it has one
        (without the rules named in ``dropped``: what a goal-drifted agent trains under)."""
        ec = self.configs[slug]
        try:
            env = envs.make(ec.id, constitution=ec.constitution, shield=shield, **ec.kwargs)
            if dropped and ec.constitution is not None:
                c = env.constitution  # type: ignore[attr-defined]
                kept = dataclasses.replace(c, rules=tuple(r for r in c.rules if r.name not in dropped))
                env = envs.attach_constitution(env.env, kept, shield=shield)  # type: ignore[attr-defined]
        except envs.EnvsError as exc:
            raise ConfigError(f"environment {ec.id!r}: {exc}") from None
        except (TypeError, ValueError, AssertionError, KeyError, IndexError, OverflowError) as exc:
            # an environment's constructor refusing its keyword arguments in its own way
            shown = str(dict(ec.kwargs))
            shown = shown if len(shown) <= 200 else shown[:197] + "..."
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"environment {ec.id!r}: bad kwargs {shown} ({msg[:200]})") from None
        return env
