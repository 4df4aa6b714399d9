"""Constitutions: named rules forbidding actions and states, and invariances a policy must respect."""

from __future__ import annotations

import difflib
import functools
import json
import math
import types
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from envs.errors import InvalidParameterError, NoAllowedActionError, RuleError, UnknownRuleError

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
#: Floor on a state's compliance in the projection distances (as in attribution.distances): a policy
#: that never complies is at -log2(1e-12) ≈ 39.86 bits per state, large but finite.
PROJECTION_FLOOR = 1e-12
#: Largest orbit of a state under a constitution's invariances; a transform that does not come back
#: (adding a constant to a float, say) is refused once it has made this many states.
MAX_ORBIT_SIZE = 4096


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


# -- description lengths of rules -------------------------------------------------------------------
#: Largest observation space whose rules are measured by their extension (every state enumerated).
MAX_ENUMERATED_STATES = 2**16
#: Largest table (states x actions, or states x actions x states for a transition test) enumerated.
MAX_TABLE_CELLS = 2**18
#: Bits that say which kind a rule is (forbidden action, forbidden state, invariance).
_KIND_BITS = math.log2(3)


def _qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', None)}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def _code_json(obj: Any, depth: int = 0) -> Any:
    """JSON data naming what a rule's function computes: types by qualified name, parameters by value.

    Dataclasses give their fields, other callable objects their attributes, functions their
    qualified name, defaults and closure; never a repr with a memory address.
    """
    if depth > 8:
        return {"type": _qualified(type(obj))}
    deeper = depth + 1
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else repr(obj)
    if isinstance(obj, np.generic):
        return _code_json(obj.item(), depth)
    if isinstance(obj, np.ndarray):
        return {"array": obj.dtype.str, "shape": list(obj.shape), "data": _code_json(obj.tolist(), deeper)}
    if isinstance(obj, bytes):
        return obj.decode("latin-1")
    if isinstance(obj, list | tuple):
        return [_code_json(x, deeper) for x in obj]
    if isinstance(obj, set | frozenset):
        return sorted((_code_json(x, deeper) for x in obj), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(obj, dict):
        return {str(k): _code_json(v, deeper) for k, v in obj.items()}
    if isinstance(obj, gym.Space):
        return {"space": repr(obj)}
    if is_dataclass(obj) and not isinstance(obj, type):
        params = {f.name: _code_json(getattr(obj, f.name), deeper) for f in fields(obj)}
        return {"type": _qualified(type(obj)), "fields": params}
    if isinstance(obj, functools.partial):
        return {
            "partial": _code_json(obj.func, deeper),
            "args": _code_json(obj.args, deeper),
            "keywords": _code_json(obj.keywords, deeper),
        }
    if isinstance(obj, types.MethodType):
        return {"method": _qualified(obj.__func__), "self": _code_json(obj.__self__, deeper)}
    if isinstance(obj, types.FunctionType):
        cells = [c.cell_contents for c in obj.__closure__ or () if c is not None]
        return {
            "function": _qualified(obj),
            "defaults": _code_json(obj.__defaults__, deeper),
            "closure": _code_json(cells, deeper),
        }
    if isinstance(obj, type | types.BuiltinFunctionType):
        return {"function": _qualified(obj)}
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict) and depth <= 4:  # deeper (an environment caught in a closure, say): its type
        return {"type": _qualified(type(obj)), "fields": _code_json(attrs, deeper)}
    return {"type": _qualified(type(obj))}


def _enumerate_space(space: Any) -> tuple[list[Any], Callable[[Any], int | None]] | None:
    """Every observation of an enumerable space (in a canonical order) and the index of an observation.

    Discrete, MultiDiscrete and MultiBinary spaces of at most :data:`MAX_ENUMERATED_STATES`
    observations; None for any other space (a Box, say) and for larger ones. The index is None for
    something that is not an observation of the space.
    """
    if isinstance(space, gym.spaces.Discrete):
        n, start = int(space.n), int(space.start)
        if n > MAX_ENUMERATED_STATES:
            return None

        def discrete_index(obs: Any) -> int | None:
            try:
                i = int(np.asarray(obs).item()) - start
            except (TypeError, ValueError):
                return None
            return i if 0 <= i < n else None

        return [np.int64(start + i) for i in range(n)], discrete_index
    if isinstance(space, gym.spaces.MultiDiscrete | gym.spaces.MultiBinary):
        if isinstance(space, gym.spaces.MultiBinary):
            nvec: np.ndarray = np.full(space.shape, 2, dtype=np.int64)
            low: np.ndarray = np.zeros(space.shape, dtype=np.int64)
        else:
            nvec, low = np.asarray(space.nvec, dtype=np.int64), np.asarray(space.start, dtype=np.int64)
        if math.prod(int(x) for x in nvec.ravel()) > MAX_ENUMERATED_STATES:
            return None
        shape, dtype = nvec.shape, space.dtype
        flat = nvec.ravel()
        states = [(np.array(ix, dtype=np.int64).reshape(shape) + low).astype(dtype) for ix in np.ndindex(*flat)]

        def multi_index(obs: Any) -> int | None:
            try:
                digits = np.asarray(obs, dtype=np.int64) - low
            except (TypeError, ValueError):
                return None
            if digits.shape != shape or np.any(digits < 0) or np.any(digits >= nvec):
                return None
            return int(np.ravel_multi_index(tuple(digits.ravel()), tuple(flat)))

        return states, multi_index
    return None


def _table_bits(table: npt.ArrayLike, alphabet: int) -> float:
    """Bits of a table of symbols in ``[0, alphabet)``, given its size: 1 + the shorter of two codes.

    One code is the raw deflate of the table's canonical bytes (bits packed eight to a byte for
    ``alphabet == 2``, else one or two bytes per symbol, big-endian), the compressor that measures
    environments (:func:`description_length_bits`); it finds repeated patterns. The other is the
    enumerative code: the symbol counts, then the table's index among the tables with those counts,
    ``log2 C(N + m - 1, m - 1) + log2(N! / prod(c!))`` bits; it is short for a table that is nearly
    constant, where deflate's framing (a few bytes) would dominate. The extra bit says which code.

    Examples
    --------
    >>> round(_table_bits([0] * 25, 2), 2), round(_table_bits([0] * 24 + [1], 2), 2)
    (5.7, 10.34)
    """
    t = np.asarray(table, dtype=np.int64).ravel()
    n, m = len(t), int(alphabet)
    if m < 1 or (n and (t.min() < 0 or t.max() >= m)):
        raise InvalidParameterError(f"table has symbols outside [0, {m}); a table needs symbols below its alphabet")
    if m == 2:
        raw = np.packbits(t.astype(np.uint8)).tobytes()
    else:
        raw = t.astype(">u1" if m <= 2**8 else (">u2" if m <= 2**16 else ">u4")).tobytes()
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = 8.0 * len(packer.compress(raw) + packer.flush())
    counts = np.bincount(t, minlength=m) if n else np.zeros(m, dtype=np.int64)
    ln_counts = math.lgamma(n + m) - math.lgamma(m) - math.lgamma(n + 1)  # ln C(N + m - 1, m - 1)
    ln_order = math.lgamma(n + 1) - float(sum(math.lgamma(int(c) + 1) for c in counts if c > 1))
    enumerative = max(0.0, (ln_counts + ln_order) / math.log(2.0))
    return 1.0 + min(deflated, enumerative)


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
      deflate and its enumerative code (:func:`_table_bits`), plus ``log2 3`` bits for the rule's
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
        doc: dict[str, Any] = {"kind": self.kind, "fn": _code_json(self.fn)}
        reached = getattr(self, "reached", None)
        if reached is not None:
            doc["reached"] = _code_json(reached)
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
        found = _enumerate_space(observation_space) if observation_space is not None else None
        if found is None:
            return None
        states, index = found
        n = len(states)
        if isinstance(self, ForbiddenAction):
            if n_actions is None or n * n_actions > MAX_TABLE_CELLS:
                return None
            mask = [_outcome(self.forbids, s, a) for s in states for a in range(n_actions)]
            return _KIND_BITS + _partial_table_bits(mask, 2)
        if isinstance(self, ForbiddenState):
            bits = _KIND_BITS + _partial_table_bits([_outcome(self.forbids, s) for s in states], 2)
            bits += 1.0  # whether a transition test follows
            if self.reached is not None:
                if n_actions is None or n * n * n_actions > MAX_TABLE_CELLS:
                    text = json.dumps(_code_json(self.reached), sort_keys=True, separators=(",", ":"))
                    bits += description_length_bits(text)
                else:
                    test = self.reached
                    table = [_outcome(test, s, a, t) for s in states for a in range(n_actions) for t in states]
                    bits += _partial_table_bits(table, 2)
            return bits
        if isinstance(self, Invariance):
            shift = []
            for i, s in enumerate(states):
                try:
                    j = index(self.transform(s))
                except RuleError:
                    j = None
                shift.append(n if j is None else (j - i) % n)  # n: undefined, or outside the space
            return _KIND_BITS + _partial_table_bits(shift, n)
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


def _outcome(fn: Callable[..., Any], *args: Any) -> int:
    """1 if ``fn(*args)`` is true, 0 if false, 2 if it raises (a rule undefined there)."""
    try:
        return 1 if bool(fn(*args)) else 0
    except Exception:
        return 2


def _partial_table_bits(table: list[int], alphabet: int) -> float:
    """1 bit (is the rule undefined anywhere?) plus the table's bits, with one more symbol if so."""
    partial = bool(table) and max(table) >= alphabet
    return 1.0 + _table_bits(table, alphabet + 1 if partial else alphabet)


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
        rows: dict[Any, np.ndarray] = {}  # the policy's row and the allowed actions, once per distinct state
        masks: dict[Any, np.ndarray] = {}

        def row(obs: Any, where: int | str) -> np.ndarray:
            key = state_key(obs)
            if key not in rows:
                rows[key] = self._policy_row(pi_fn, obs, where)
            return rows[key]

        def mask(obs: Any) -> np.ndarray:
            key = state_key(obs)
            if key not in masks:
                masks[key] = self.allowed_actions(obs)
            return masks[key]

        pi = np.stack([row(s, i) for i, s in enumerate(obs_list)])
        allowed = np.stack([mask(s) for s in obs_list])
        empty = np.flatnonzero(~allowed.any(axis=1))
        if empty.size:
            raise NoAllowedActionError(
                f"constitution {self.name!r} forbids every action in state {_short(obs_list[empty[0]])} "
                f"(states[{empty[0]}]); σ is undefined there"
            )
        invariances = self.invariances
        orbits = None
        if invariances:
            found: dict[Any, list[Any]] = {}
            orbit_rows, orbit_masks, sizes = [], [], []
            for i, s in enumerate(obs_list):
                key = state_key(s)
                if key not in found:
                    found[key] = invariance_orbit(s, invariances)
                orbit = found[key]
                where = f"a state in the orbit of states[{i}], {_short(s)},"
                orbit_rows += [row(t, where) for t in orbit]
                common = np.logical_and.reduce([mask(t) for t in orbit])
                if not common.any():
                    raise NoAllowedActionError(
                        f"constitution {self.name!r}: no action is allowed in every state of the orbit of "
                        f"states[{i}], {_short(s)}, under its invariances; no invariant policy complies there"
                    )
                orbit_masks += [mask(t) for t in orbit]
                sizes.append(len(orbit))
            orbits = (np.stack(orbit_rows), np.stack(orbit_masks), np.array(sizes, dtype=np.int64))
        report = _distances(pi, allowed, w, eps, orbits)
        forbidden = np.array([self.is_forbidden_state(s) for s in obs_list], dtype=bool)
        report["forbidden_occupancy"] = float(w @ forbidden)
        worst = 0.0
        for rule in invariances:
            tv = np.zeros(len(obs_list))
            for i, s in enumerate(obs_list):
                where = f"a state in the orbit of states[{i}], {_short(s)},"
                moved = np.stack([row(t, where) for t in invariance_orbit(s, (rule,))])
                tv[i] = float(np.max(0.5 * np.abs(moved - pi[i]).sum(axis=1)))
            report[f"invariance_tv[{rule.name}]"] = float(w @ tv)
            worst = max(worst, report[f"invariance_tv[{rule.name}]"])
        report["invariance_tv"] = worst
        report["n_states"] = float(len(obs_list))
        return report

    def _policy_row(self, pi_fn: Callable[[Any], Any], obs: Any, where: int | str) -> np.ndarray:
        row = np.asarray(pi_fn(obs), dtype=float)
        if (
            row.shape != (self.n_actions,)
            or not np.all(np.isfinite(row))
            or np.any(row < 0)
            or abs(row.sum() - 1.0) > 1e-6
        ):
            shown = f"states[{where}]" if isinstance(where, int) else where
            raise InvalidParameterError(
                f"pi_fn({shown}) returned {_short(row)}; expected {self.n_actions} "
                "non-negative probabilities summing to 1"
            )
        return row

    def __str__(self) -> str:
        lines = [f"constitution {self.name!r} ({self.description_bits:.0f} bits)"]
        bits = self.rule_bits
        lines += [f"  {r.kind} {r.name} ({bits[r.name]:.0f} bits): {r.description}" for r in self.rules]
        return "\n".join(lines)


def _unknown(message: str, name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"{message}; known: {', '.join(sorted(known)) or '(none)'}.{hint}"


def _distances(
    pi: np.ndarray,
    allowed: np.ndarray,
    w: np.ndarray,
    eps: float,
    orbits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """The distances of :meth:`Constitution.audit_policy` from checked arrays (``w`` normalised).

    ``orbits`` is ``(rows, masks, sizes)``: every visited state's orbit rows and allowed masks, one
    orbit after the other, ``sizes[i]`` rows for state ``i``; None when there are no invariances
    (every orbit the state alone).
    """
    # Same formulas as attribution.distances (projection_distance, invariant_projection_distance,
    # invariance_distance, kl_distance, tv_distance, js_distance), which envs may not import (see
    # DESIGN.md); a test checks that both agree.
    sigma = allowed / allowed.sum(axis=1, keepdims=True)
    # compliance as 1 - forbidden mass, clipped to [floor, 1]: a compliant row is at exactly 0 bits
    comply = np.clip(1.0 - (pi * ~allowed).sum(axis=1), PROJECTION_FLOOR, 1.0)
    forbidden = float(w @ -np.log2(comply))
    whole, invariance = forbidden, 0.0
    if orbits is not None:
        rows, masks, sizes = orbits
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        z = _orbit_compliance(rows, masks, starts, sizes)
        whole = float(w @ -np.log2(np.clip(z, PROJECTION_FLOOR, 1.0)))
        z = _orbit_compliance(rows, np.ones_like(masks, dtype=bool), starts, sizes)
        invariance = float(w @ -np.log2(np.clip(z, PROJECTION_FLOOR, 1.0)))
    sigma_eps = (1.0 - eps) * sigma + eps / pi.shape[1]
    mid = 0.5 * (pi + sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(pi > 0, pi * np.log2(pi / sigma_eps), 0.0).sum(axis=1)
        js = 0.5 * (
            np.where(pi > 0, pi * np.log2(pi / mid), 0.0).sum(axis=1)
            + np.where(sigma > 0, sigma * np.log2(sigma / mid), 0.0).sum(axis=1)
        )
    return {
        "distance": whole,
        "distance.forbidden": forbidden,
        "distance.invariance": invariance,
        "kl": float(w @ kl),
        "kl_eps": float(eps),
        "tv": float(w @ (0.5 * np.abs(pi - sigma).sum(axis=1))),
        "js": float(w @ np.sqrt(np.clip(js, 0.0, 1.0))),
    }


def _orbit_compliance(pi: np.ndarray, allowed: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Z(s) = Σ_{a ∈ A(s)} Π_{s' ∈ O(s)} π(a | s')^{1/|O(s)|} per orbit (attribution.distances' twin).

    Directly when small; near 1 as ``1 - Σ_{a ∉ A} mean - Σ_{a ∈ A} (mean - geometric mean)``, which
    is exactly ``1 - forbidden mass`` on an orbit where the policy is constant.
    """
    k = sizes[:, None].astype(float)
    with np.errstate(divide="ignore"):
        logs = np.log2(pi)
    g = np.exp2(np.add.reduceat(logs, starts, axis=0) / k)
    hi = np.maximum.reduceat(pi, starts, axis=0)
    constant = hi == np.minimum.reduceat(pi, starts, axis=0)
    mean = np.where(constant, hi, np.add.reduceat(pi, starts, axis=0) / k)
    gap = np.where(constant, 0.0, np.maximum(mean - g, 0.0))
    common = np.logical_and.reduceat(allowed, starts, axis=0)
    direct = (g * common).sum(axis=1)
    complement = 1.0 - (mean * ~common).sum(axis=1) - (gap * common).sum(axis=1)
    out: np.ndarray = np.where(constant.all(axis=1) | (complement >= 0.5), complement, direct)
    return out


def state_key(obs: Any) -> Any:
    """A hashable key of an observation: dtype, shape and bytes (numpy ints and float arrays alike).

    Examples
    --------
    >>> state_key(np.int64(3)) == state_key(3), state_key(np.float32([0.5])) == state_key(np.float64([0.5]))
    (True, False)
    """
    arr = np.asarray(obs)
    if arr.dtype.hasobject:
        return ("object", repr(obs))
    return (arr.dtype.str, arr.shape, arr.tobytes())


def invariance_orbit(obs: Any, invariances: Iterable[Invariance], max_size: int = MAX_ORBIT_SIZE) -> list[Any]:
    """Every state reachable from ``obs`` by applying the invariances' transforms repeatedly, ``obs`` first.

    States are told apart by dtype, shape and bytes. An orbit that grows past ``max_size`` states
    is refused, naming the rule that made the state too many: a transform must come back to where
    it started after a few applications (a flip, a cyclic shift), as its orbit is enumerated.

    Examples
    --------
    >>> shift = Invariance("shift", lambda obs: (obs + 1) % 3)
    >>> invariance_orbit(5 % 3, [shift])
    [2, 0, 1]
    >>> import numpy as np
    >>> flip = Invariance("flip-first", lambda obs: np.array([1.0 - obs[0], obs[1]], dtype=np.float32))
    >>> [o.tolist() for o in invariance_orbit(np.array([0.0, 0.5], dtype=np.float32), [flip])]
    [[0.0, 0.5], [1.0, 0.5]]
    """
    rules = tuple(invariances)
    seen = {state_key(obs)}
    orbit = [obs]
    i = 0
    while i < len(orbit):
        state = orbit[i]
        i += 1
        for rule in rules:
            moved = rule.transform(state)
            key = state_key(moved)
            if key in seen:
                continue
            if len(orbit) >= max_size:
                raise RuleError(
                    f"invariance rule {rule.name!r}: the orbit of {_short(obs)} under "
                    f"{', '.join(repr(r.name) for r in rules)} has more than {max_size} states; a transform must "
                    "return to its start after a few applications (a flip, a cyclic shift of a few values)"
                )
            seen.add(key)
            orbit.append(moved)
    return orbit
