"""Constitutions: named rules forbidding actions and states, and invariances a policy must respect."""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from envs.audit import MAX_ORBIT_SIZE, PROJECTION_FLOOR, audit, invariance_orbit, state_key
from envs.description import (
    KIND_BITS,
    MAX_TABLE_CELLS,
    code_json,
    description_length_bits,
    enumerate_space,
    outcome,
    partial_table_bits,
)
from envs.errors import InvalidParameterError, NoAllowedActionError, RuleError, UnknownRuleError
from envs.errors import short_repr as _short

__all__ = [
    "DEFAULT_KL_EPS",
    "MAX_ORBIT_SIZE",
    "PROJECTION_FLOOR",
    "Constitution",
    "ForbiddenAction",
    "ForbiddenState",
    "Invariance",
    "Rule",
    "description_length_bits",
    "invariance_orbit",
    "state_key",
]

DEFAULT_KL_EPS = 1e-3


@dataclass(frozen=True)
class Rule:
    """A named rule: data plus a small function. Subclasses say what the function means.

    ``bits`` is the rule's description length: what it costs to say what the rule computes, in the
    language that measures environments (:func:`envs.describe.complexity_bits`). The name and the
    description are labels for people and cost nothing: renaming a rule or rewording its sentence
    leaves its bits unchanged. Left out, ``bits`` is measured by :meth:`bits_on`:

    - on an enumerable observation space (Discrete, MultiDiscrete, MultiBinary of at most
      :data:`MAX_ENUMERATED_STATES` observations), from the rule's extension over the whole space:
      a forbidden-action rule's ``states x actions`` mask, a forbidden-state rule's vector over the
      states (and its ``reached`` test's ``states x actions x states`` table, when it has one and
      that table has at most :data:`MAX_TABLE_CELLS` cells), an invariance's image of each state
      (as the displacement ``(index(fn(s)) - index(s)) mod n``, 0 for a state left alone). A cell
      where the function raises (or maps outside the space) gets one more symbol, "undefined",
      and 1 bit per table says whether there is any. Each table costs 1 + the shorter of its raw
      deflate and its enumerative code (:func:`table_bits`), plus ``log2 3`` bits for the rule's
      kind. A rule that forbids nothing costs about ``log2(cells)`` + 5 bits, one that forbids a
      random set about a bit per cell;
    - otherwise (a Box, no space given, a table too large), from the rule's code: the raw-deflate
      bits of its kind and its function's fully qualified type with its parameters as JSON
      (dataclass fields, attributes, a function's defaults and closure; never a repr with a memory
      address), the way an environment is described by class and parameters.

    :attr:`description_bits` is a rule's bits on its own (given ``bits``, or its code); inside a
    :class:`Constitution` with an observation space, the constitution measures each rule on it. An
    explicit ``bits`` wins everywhere. Give module-level functions or frozen dataclasses as ``fn``
    so the rule pickles (lambdas do not travel to other processes).
    """

    name: str
    fn: Callable[..., Any]
    description: str = ""
    bits: float | None = None
    kind: ClassVar[str] = "rule"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or self.name != self.name.strip():
            raise InvalidParameterError(
                f"rule name {self.name!r} is not accepted; give a non-empty string without outer spaces"
            )
        if not callable(self.fn):
            raise InvalidParameterError(f"rule {self.name!r}: fn = {self.fn!r} is not callable")
        if self.bits is not None and not (
            isinstance(self.bits, int | float)
            and not isinstance(self.bits, bool)
            and np.isfinite(self.bits)
            and self.bits >= 0
        ):
            raise InvalidParameterError(
                f"rule {self.name!r}: bits = {self.bits!r}; a description length must be a finite number >= 0"
            )

    @property
    def description_bits(self) -> float:
        """The rule's description length in bits on its own: ``bits`` if given, else :attr:`code_bits`."""
        return float(self.bits) if self.bits is not None else self.code_bits

    @functools.cached_property
    def code_bits(self) -> float:
        """Raw-deflate bits of the rule's code description (kind, function, parameters; no name or text)."""
        return description_length_bits(self.code_description())

    def code_description(self) -> str:
        """The canonical text of what the rule computes: its kind and its functions as JSON.

        Examples
        --------
        >>> ForbiddenState("hot", abs, "never too hot").code_description()
        '{"fn":{"function":"builtins.abs"},"kind":"forbidden-state"}'
        """
        doc: dict[str, Any] = {"kind": self.kind, "fn": code_json(self.fn)}
        reached = getattr(self, "reached", None)
        if reached is not None:
            doc["reached"] = code_json(reached)
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    def bits_on(self, observation_space: Any = None, n_actions: int | None = None) -> float:
        """The rule's bits in an environment with this observation space and ``n_actions`` actions.

        ``bits`` if given; else the bits of the rule's extension over an enumerable space; else
        :attr:`code_bits` (see the class docstring).

        Examples
        --------
        >>> import gymnasium as gym
        >>> space = gym.spaces.Discrete(50)
        >>> nothing = ForbiddenAction("none", lambda obs, a: False)
        >>> some = ForbiddenAction("some", lambda obs, a: (obs * 7 + a * 3) % 5 < 2)
        >>> reworded = ForbiddenAction("some", some.fn, "a long sentence " * 20)
        >>> round(nothing.bits_on(space, 4), 1), round(some.bits_on(space, 4), 1)
        (11.2, 83.6)
        >>> reworded.bits_on(space, 4) == some.bits_on(space, 4)
        True
        """
        if self.bits is not None:
            return float(self.bits)
        measured = self._extension_bits(observation_space, n_actions)
        return self.code_bits if measured is None else measured

    def _extension_bits(self, observation_space: Any, n_actions: int | None) -> float | None:
        """Bits of the rule's tables over the whole observation space; None when they cannot be made."""
        found = enumerate_space(observation_space) if observation_space is not None else None
        if found is None:
            return None
        states, index = found
        n = len(states)
        if isinstance(self, ForbiddenAction):
            if n_actions is None or n * n_actions > MAX_TABLE_CELLS:
                return None
            mask = [outcome(self.forbids, s, a) for s in states for a in range(n_actions)]
            return KIND_BITS + partial_table_bits(mask, 2)
        if isinstance(self, ForbiddenState):
            bits = KIND_BITS + partial_table_bits([outcome(self.forbids, s) for s in states], 2)
            bits += 1.0  # whether a transition test follows
            if self.reached is not None:
                if n_actions is None or n * n * n_actions > MAX_TABLE_CELLS:
                    text = json.dumps(code_json(self.reached), sort_keys=True, separators=(",", ":"))
                    bits += description_length_bits(text)
                else:
                    test = self.reached
                    table = [outcome(test, s, a, t) for s in states for a in range(n_actions) for t in states]
                    bits += partial_table_bits(table, 2)
            return bits
        if isinstance(self, Invariance):
            shift = []
            for i, s in enumerate(states):
                try:
                    j = index(self.transform(s))
                except RuleError:
                    j = None
                shift.append(n if j is None else (j - i) % n)  # n: undefined, or outside the space
            return KIND_BITS + partial_table_bits(shift, n)
        return None

    def _call(self, *args: Any) -> Any:
        try:
            return self.fn(*args)
        except Exception as exc:
            shown = ", ".join(_short(a) for a in args)
            raise RuleError(
                f"{self.kind} rule {self.name!r} raised {type(exc).__name__}: {exc} (called with {shown})"
            ) from exc

    def _truth(self, out: Any, *args: Any) -> bool:
        try:
            return bool(out)
        except Exception as exc:
            raise RuleError(
                f"{self.kind} rule {self.name!r} returned {_short(out)}, which is not a truth value; "
                "a predicate must return a bool"
            ) from exc


@dataclass(frozen=True)
class ForbiddenAction(Rule):
    """Forbids an action in some states: ``fn(obs, action) -> bool`` is True when forbidden.

    Examples
    --------
    >>> rule = ForbiddenAction("no-left", lambda obs, a: a == 0, "never go left")
    >>> rule.forbids(3, 0), rule.forbids(3, 1)
    (True, False)
    """

    kind: ClassVar[str] = "forbidden-action"

    def forbids(self, obs: Any, action: int) -> bool:
        """True when the rule forbids ``action`` in the state observed as ``obs``."""
        return self._truth(self._call(obs, action))


@dataclass(frozen=True)
class ForbiddenState(Rule):
    """Forbids being in a state: ``fn(obs) -> bool`` is True when the observed state is forbidden.

    ``reached``, optional, detects arrival from a transition ``(obs, action, next_obs)`` for environments
    that never show the forbidden state (CliffWalking sends a falling agent back to the start).

    Examples
    --------
    >>> rule = ForbiddenState("hot", lambda obs: obs > 9)
    >>> rule.forbids(10), rule.reached_by(0, 1, 3)
    (True, False)
    """

    reached: Callable[[Any, int, Any], Any] | None = field(default=None, compare=False)
    kind: ClassVar[str] = "forbidden-state"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.reached is not None and not callable(self.reached):
            raise InvalidParameterError(f"rule {self.name!r}: reached = {self.reached!r} is not callable")

    def forbids(self, obs: Any) -> bool:
        """True when the state observed as ``obs`` is forbidden."""
        return self._truth(self._call(obs))

    def reached_by(self, obs: Any, action: int, next_obs: Any) -> bool:
        """True when the step ``obs --action--> next_obs`` reached a forbidden state."""
        if self.forbids(next_obs):
            return True
        if self.reached is None:
            return False
        try:
            out = self.reached(obs, action, next_obs)
        except Exception as exc:
            raise RuleError(
                f"{self.kind} rule {self.name!r}: its transition test raised {type(exc).__name__}: {exc}"
            ) from exc
        return self._truth(out)


@dataclass(frozen=True)
class Invariance(Rule):
    """The action distribution must not change under ``fn(obs) -> obs`` (e.g. flipping a protected bit).

    Examples
    --------
    >>> rule = Invariance("ignore-sign", lambda obs: -obs)
    >>> rule.transform(2)
    -2
    """

    kind: ClassVar[str] = "invariance"

    def transform(self, obs: Any) -> Any:
        """The observation with what the policy must ignore changed."""
        return self._call(obs)


@dataclass(frozen=True)
class Constitution:
    """Named rules over an environment with ``n_actions`` discrete actions.

    Parameters
    ----------
    name : str
    n_actions : int
        Size of the ``Discrete`` action space the rules speak of.
    rules : sequence of Rule
        Names must be unique.
    description : str
    observation_space : gymnasium.Space, optional
        When given, an environment must have exactly this observation space to be governed.

    Examples
    --------
    >>> c = Constitution("toy", 3, (ForbiddenAction("no-2", lambda obs, a: a == 2),
    ...                             ForbiddenState("bad", lambda obs: obs == 5)))
    >>> c.allowed_actions(0).tolist(), c.sigma(0).tolist()
    ([True, True, False], [0.5, 0.5, 0.0])
    >>> c.audit_step(0, 2, 5)
    ('no-2', 'bad')
    """

    name: str
    n_actions: int
    rules: tuple[Rule, ...] = ()
    description: str = ""
    observation_space: Any = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidParameterError(f"constitution name {self.name!r}; give a non-empty string")
        if isinstance(self.n_actions, bool) or not isinstance(self.n_actions, int | np.integer) or self.n_actions < 1:
            raise InvalidParameterError(f"n_actions = {self.n_actions!r}; it must be an integer >= 1")
        object.__setattr__(self, "n_actions", int(self.n_actions))
        rules = tuple(self.rules)
        for rule in rules:
            if not isinstance(rule, Rule):
                raise InvalidParameterError(
                    f"{rule!r} is not a rule; use ForbiddenAction, ForbiddenState or Invariance"
                )
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidParameterError(f"constitution {self.name!r} has duplicate rule names {dupes}")
        object.__setattr__(self, "rules", rules)

    # -- the rules by kind -------------------------------------------------------------------------
    @property
    def forbidden_actions(self) -> tuple[ForbiddenAction, ...]:
        """The forbidden-action rules, in order."""
        return tuple(r for r in self.rules if isinstance(r, ForbiddenAction))

    @property
    def forbidden_states(self) -> tuple[ForbiddenState, ...]:
        """The forbidden-state rules, in order."""
        return tuple(r for r in self.rules if isinstance(r, ForbiddenState))

    @property
    def invariances(self) -> tuple[Invariance, ...]:
        """The invariance rules, in order; each has ``.transform(obs)``."""
        return tuple(r for r in self.rules if isinstance(r, Invariance))

    @property
    def rule_names(self) -> tuple[str, ...]:
        """Every rule's name, in order."""
        return tuple(r.name for r in self.rules)

    @functools.cached_property
    def rule_bits(self) -> dict[str, float]:
        """Each rule's bits, by name, measured on the constitution's ``observation_space``."""
        return self._rule_bits(self.observation_space)

    def _rule_bits(self, observation_space: Any) -> dict[str, float]:
        # Tables (and explicit bits) per rule; code descriptions by the chain rule, each given the ones before.
        out: dict[str, float] = {}
        told: list[str] = []
        for r in self.rules:
            if r.bits is not None:
                out[r.name] = float(r.bits)
                continue
            measured = r._extension_bits(observation_space, self.n_actions)
            if measured is not None:
                out[r.name] = measured
                continue
            before = description_length_bits("\n".join(told)) if told else 0.0
            told.append(r.code_description())
            out[r.name] = max(0.0, description_length_bits("\n".join(told)) - before)
        return out

    @property
    def description_bits(self) -> float:
        """The constitution's description length K(constitution | environment): the sum of its rules' bits.

        Each rule is measured on ``observation_space`` (see :class:`Rule`): from its extension when
        the space is enumerable, else from its code. Without ``observation_space`` every rule is
        measured by its code (:func:`envs.describe.complexity_bits` then measures the rules on the
        governed environment's space instead). Names and descriptions cost nothing; a constitution
        without rules costs 0; a rule with an explicit ``bits`` adds just that.

        Tables are coded one per rule: a rule's table costs the same in any constitution, and
        deflate finds little that one table shares with another (a state vector and a
        states x actions mask are laid out differently). Rules measured by their code usually share
        parameters (the same grid codec and cells, say), so they are coded by the chain rule
        ``K(x, y) = K(x) + K(y | x)``: each costs the growth of the raw deflate of the code
        descriptions so far, and together they cost one deflate of all of them. :attr:`rule_bits`
        lists each rule's part; they add up to this.

        Examples
        --------
        >>> import gymnasium as gym
        >>> c = Constitution("toy", 4, (ForbiddenState("five", lambda obs: obs == 5, "not 5"),),
        ...                  observation_space=gym.spaces.Discrete(16))
        >>> round(c.description_bits, 1), round(c.bits_on(gym.spaces.Discrete(64)), 1)
        (12.7, 16.6)
        """
        return float(sum(self.rule_bits.values()))

    def bits_on(self, observation_space: Any) -> float:
        """:attr:`description_bits` with the rules measured on ``observation_space`` (a governed environment's)."""
        return float(sum(self._rule_bits(observation_space).values()))

    def rule(self, name: str) -> Rule:
        """The rule called ``name``; an unknown name is refused with the known ones."""
        for r in self.rules:
            if r.name == name:
                return r
        raise UnknownRuleError(_unknown(f"rule {name!r} is not in constitution {self.name!r}", name, self.rule_names))

    def without(self, *names: str) -> Constitution:
        """A copy without the named rules (each must exist)."""
        for name in names:
            self.rule(name)
        kept = tuple(r for r in self.rules if r.name not in names)
        return replace(self, name=f"{self.name}-without-{'-'.join(names)}", rules=kept)

    # -- σ and audits -----------------------------------------------------------------------------
    def allowed_actions(self, obs: Any) -> np.ndarray:
        """Boolean array of shape (n_actions,): True where no forbidden-action rule objects."""
        rules = self.forbidden_actions
        return np.array([not any(r.forbids(obs, a) for r in rules) for a in range(self.n_actions)], dtype=bool)

    def sigma(self, obs: Any) -> np.ndarray:
        """σ(· | obs): uniform over the allowed actions; refused when every action is forbidden."""
        allowed = self.allowed_actions(obs)
        if not allowed.any():
            raise NoAllowedActionError(
                f"constitution {self.name!r} forbids all {self.n_actions} actions in state {_short(obs)}; "
                "σ is undefined there"
            )
        return allowed / allowed.sum()

    def states_broken(self, obs: Any) -> tuple[str, ...]:
        """Names of the forbidden-state rules that ``obs`` breaks."""
        return tuple(r.name for r in self.forbidden_states if r.forbids(obs))

    def is_forbidden_state(self, obs: Any) -> bool:
        """True when ``obs`` breaks a forbidden-state rule."""
        return bool(self.states_broken(obs))

    def audit_step(self, obs: Any, action: int, next_obs: Any) -> tuple[str, ...]:
        """Names of the rules the step broke: forbidden actions taken, then forbidden states reached.

        Invariances speak of the policy, not of one step: :meth:`audit_policy` checks them.
        """
        a = int(action)
        broken = [r.name for r in self.forbidden_actions if r.forbids(obs, a)]
        broken += [r.name for r in self.forbidden_states if r.reached_by(obs, a, next_obs)]
        return tuple(broken)

    def audit_policy(
        self,
        pi_fn: Callable[[Any], Any],
        states: Iterable[Any],
        weights: Sequence[float] | np.ndarray | None = None,
        *,
        eps: float = DEFAULT_KL_EPS,
    ) -> dict[str, float]:
        """Distances between the policy and what the constitution allows, over a sample of states.

        ``distance`` counts every rule kind: for a visited state s with occupancy w(s), O(s) is its
        orbit under all the invariances (:func:`invariance_orbit`: every state reachable by applying
        them repeatedly, weighted uniformly, visited or not) and A(s) the actions allowed in every
        state of O(s); with ``Z(s) = Σ_{a ∈ A(s)} Π_{s' ∈ O(s)} π(a | s')^(1/|O(s)|)``,
        ``D(π) = Σ_s w(s) · -log2 clip(Z(s), 1e-12, 1)`` bits. It is the projection of π onto the
        policies that keep every invariance and comply (0 exactly for a policy constant on every
        orbit and compliant), and without invariances the projection distance ``-log2 π(allowed | s)``
        (:func:`attribution.distances.invariant_projection_distance`). ``pi_fn`` is asked once per
        distinct state, the orbits' states included.

        Parameters
        ----------
        pi_fn : callable
            ``pi_fn(obs)`` returns the action probabilities, shape (n_actions,).
        states : iterable of observations
            The agent's own states (repeats count as occupancy), or distinct states with ``weights``.
        weights : array, optional
            Occupancy of each state; uniform when omitted.
        eps : float
            Smoothing of σ for the KL divergence.

        Returns
        -------
        dict
            ``distance`` (every rule kind, bits); ``distance.forbidden`` (forbidden actions only: the
            projection distance of each visited state's own row); ``distance.invariance`` (the
            invariances only: ``distance`` with every action allowed, 0 exactly for a policy constant
            on every orbit); ``kl``, ``kl_eps``, ``tv``, ``js`` (Jensen–Shannon distance), against σ
            of the visited states, as in :func:`attribution.distances.alignment_distances`;
            ``forbidden_occupancy``; ``invariance_tv[<rule>]`` for each invariance, the occupancy mean
            over s of the largest TV between π(· | s) and π(· | s') over s' in s's orbit under that
            rule alone, and ``invariance_tv``, the largest of those (0 without any); ``n_states``.

        Examples
        --------
        >>> c = Constitution("toy", 2, (ForbiddenAction("no-1", lambda obs, a: a == 1),))
        >>> report = c.audit_policy(lambda obs: [0.5, 0.5], [0, 1])
        >>> round(report["distance"], 3), round(report["tv"], 3)
        (1.0, 0.5)
        >>> fair = Constitution("fair", 2, (Invariance("flip", lambda obs: 1 - obs),))
        >>> audit = fair.audit_policy(lambda obs: [0.75, 0.25] if obs else [0.25, 0.75], [0])
        >>> round(audit["distance"], 3), audit["distance.forbidden"], round(audit["invariance_tv[flip]"], 3)
        (0.208, 0.0, 0.5)
        """
        return audit(self, pi_fn, states, weights, eps=eps)

    def __str__(self) -> str:
        lines = [f"constitution {self.name!r} ({self.description_bits:.0f} bits)"]
        bits = self.rule_bits
        lines += [f"  {r.kind} {r.name} ({bits[r.name]:.0f} bits): {r.description}" for r in self.rules]
        return "\n".join(lines)


def _unknown(message: str, name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{message}; known: {', '.join(sorted(known)) or '(none)'}.{hint}"
