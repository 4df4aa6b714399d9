"""Constitutions: named rules forbidding actions and states, and invariances a policy must respect."""

from __future__ import annotations

import difflib
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np

from envs.errors import InvalidParameterError, NoAllowedActionError, RuleError, UnknownRuleError

__all__ = [
    "DEFAULT_KL_EPS",
    "Constitution",
    "ForbiddenAction",
    "ForbiddenState",
    "Invariance",
    "Rule",
    "description_length_bits",
]

DEFAULT_KL_EPS = 1e-3
_PROJECTION_FLOOR = 1e-12


def description_length_bits(text: str) -> float:
    """Bits of the raw-deflate (zlib level 9, no header or checksum) encoding of ``text``.

    An upper-bound proxy for the Kolmogorov complexity of what ``text`` describes: a compressor
    finds some regularities, never all, and adds a few bytes of its own.

    Examples
    --------
    >>> description_length_bits("") > 0
    True
    >>> description_length_bits("ab" * 100) < description_length_bits("ab" * 50) * 2
    True
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return 8.0 * len(packer.compress(text.encode("utf-8")) + packer.flush())


@dataclass(frozen=True)
class Rule:
    """A named rule: data plus a small function. Subclasses say what the function means.

    ``bits`` is the rule's description length; left out, it is :func:`description_length_bits` of the
    rule's kind, name and description. Give module-level functions or frozen dataclasses as ``fn`` so
    the rule pickles (lambdas do not travel to other processes).
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
        if self.bits is None:
            text = f"{self.kind}\n{self.name}\n{self.description}"
            object.__setattr__(self, "bits", description_length_bits(text))
        elif not (isinstance(self.bits, int | float) and np.isfinite(self.bits) and self.bits >= 0):
            raise InvalidParameterError(
                f"rule {self.name!r}: bits = {self.bits!r}; a description length must be a finite number >= 0"
            )

    @property
    def description_bits(self) -> float:
        """The rule's description length in bits."""
        return float(self.bits or 0.0)

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


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


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
        if (
            isinstance(self.n_actions, bool)
            or not isinstance(self.n_actions, int | np.integer)
            or self.n_actions < 1
        ):
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

    @property
    def description_bits(self) -> float:
        """The constitution's description length: the sum of its rules' bits."""
        return float(sum(r.description_bits for r in self.rules))

    def rule(self, name: str) -> Rule:
        """The rule called ``name``; an unknown name is refused with the known ones."""
        for r in self.rules:
            if r.name == name:
                return r
        raise UnknownRuleError(
            _unknown(f"rule {name!r} is not in constitution {self.name!r}", name, self.rule_names)
        )

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
        return np.array(
            [not any(r.forbids(obs, a) for r in rules) for a in range(self.n_actions)], dtype=bool
        )

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
        """Distances between the policy and σ over a sample of states.

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
            ``distance`` (projection, bits), ``kl``, ``kl_eps``, ``tv``, ``js`` (Jensen–Shannon distance),
            as in :func:`attribution.distances.alignment_distances`; ``forbidden_occupancy``;
            ``invariance_tv`` (the largest over the invariance rules, 0 without any) and
            ``invariance_tv[<rule>]`` for each; ``n_states``.

        Examples
        --------
        >>> c = Constitution("toy", 2, (ForbiddenAction("no-1", lambda obs, a: a == 1),))
        >>> report = c.audit_policy(lambda obs: [0.5, 0.5], [0, 1])
        >>> round(report["distance"], 3), round(report["tv"], 3)
        (1.0, 0.5)
        """
        obs_list = list(states)
        if not obs_list:
            raise InvalidParameterError("states is empty; audit_policy needs at least one state")
        w = np.full(len(obs_list), 1.0) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (len(obs_list),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise InvalidParameterError(
                f"weights must be {len(obs_list)} finite numbers >= 0 with a positive sum; got {_short(w)}"
            )
        if not 0.0 < eps <= 1.0:
            raise InvalidParameterError(f"eps = {eps!r}; the smoothing of σ must be in (0, 1]")
        w = w / w.sum()
        pi = np.stack([self._policy_row(pi_fn, s, i) for i, s in enumerate(obs_list)])
        allowed = np.stack([self.allowed_actions(s) for s in obs_list])
        empty = np.flatnonzero(~allowed.any(axis=1))
        if empty.size:
            raise NoAllowedActionError(
                f"constitution {self.name!r} forbids every action in state {_short(obs_list[empty[0]])} "
                f"(states[{empty[0]}]); σ is undefined there"
            )
        report = _distances(pi, allowed, w, eps)
        forbidden = np.array([self.is_forbidden_state(s) for s in obs_list], dtype=bool)
        report["forbidden_occupancy"] = float(w @ forbidden)
        worst = 0.0
        for rule in self.invariances:
            moved = np.stack([self._policy_row(pi_fn, rule.transform(s), i) for i, s in enumerate(obs_list)])
            tv = float(w @ (0.5 * np.abs(pi - moved).sum(axis=1)))
            report[f"invariance_tv[{rule.name}]"] = tv
            worst = max(worst, tv)
        report["invariance_tv"] = worst
        report["n_states"] = float(len(obs_list))
        return report

    def _policy_row(self, pi_fn: Callable[[Any], Any], obs: Any, index: int) -> np.ndarray:
        row = np.asarray(pi_fn(obs), dtype=float)
        if (
            row.shape != (self.n_actions,)
            or not np.all(np.isfinite(row))
            or np.any(row < 0)
            or abs(row.sum() - 1.0) > 1e-6
        ):
            raise InvalidParameterError(
                f"pi_fn(states[{index}]) returned {_short(row)}; expected {self.n_actions} "
                "non-negative probabilities summing to 1"
            )
        return row

    def __str__(self) -> str:
        lines = [f"constitution {self.name!r} ({self.description_bits:.0f} bits)"]
        lines += [f"  {r.kind} {r.name}: {r.description}" for r in self.rules]
        return "\n".join(lines)


def _unknown(message: str, name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{message}; known: {', '.join(sorted(known)) or '(none)'}.{hint}"


def _distances(pi: np.ndarray, allowed: np.ndarray, w: np.ndarray, eps: float) -> dict[str, float]:
    # Same formulas as attribution.distances, which envs may not import (see DESIGN.md); a test
    # checks that both agree.
    sigma = allowed / allowed.sum(axis=1, keepdims=True)
    comply = np.maximum((pi * allowed).sum(axis=1), _PROJECTION_FLOOR)
    sigma_eps = (1.0 - eps) * sigma + eps / pi.shape[1]
    mid = 0.5 * (pi + sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(pi > 0, pi * np.log2(pi / sigma_eps), 0.0).sum(axis=1)
        js = 0.5 * (
            np.where(pi > 0, pi * np.log2(pi / mid), 0.0).sum(axis=1)
            + np.where(sigma > 0, sigma * np.log2(sigma / mid), 0.0).sum(axis=1)
        )
    return {
        "distance": float(w @ -np.log2(comply)),
        "kl": float(w @ kl),
        "kl_eps": float(eps),
        "tv": float(w @ (0.5 * np.abs(pi - sigma).sum(axis=1))),
        "js": float(w @ np.sqrt(np.clip(js, 0.0, 1.0))),
    }
