"""The rule interface, its frozen-dataclass base, the registry of rules by name and the spec strings."""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from attribution.errors import RuleParameterError, RuleSpecError, UnknownRuleError, ValueDataError
from attribution.transforms import check_transform, transform_values
from attribution.tree import TreeArrays, as_tree, clade_sum

if TYPE_CHECKING:
    import pandas as pd

    from lineage import LineageArrays, LineageGraph

__all__ = [
    "RULES",
    "AttributionRule",
    "Rule",
    "as_rule",
    "get_rule",
    "parse_rule",
    "register_rule",
    "rule_names",
]

FloatArray = npt.NDArray[np.float64]
LineageLike = "LineageGraph | LineageArrays | TreeArrays"

#: Registered rule classes by name (see :func:`register_rule`).
RULES: dict[str, type[Rule]] = {}

_SPEC_FORBIDDEN = set(",=: ")


@runtime_checkable
class AttributionRule(Protocol):
    """What the simulator and :func:`~attribution.comparison.compare` need of a rule."""

    @property
    def spec(self) -> str: ...

    def __call__(self, lineage: Any) -> pd.Series: ...


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Rule:
    """Base of every attribution rule: a frozen dataclass whose fields are the rule's parameters.

    Every rule reads node attributes by name (``value``, ``distance``, ``cost``) and applies the
    value ``transform`` (see :func:`~attribution.transforms.transform_values`, with its ``w`` and
    ``lam``) before crediting. Calling a rule on a lineage returns a pandas Series of credit,
    indexed by agent id in insertion order, named by :attr:`spec`; NaN where the rule has nothing
    to say about an agent.

    Liability flows up under every rule: with ``liability`` > 0 an agent's credit is the rule's
    credit minus ``liability`` times its clade's ``penalty`` (the agent and all its descendants;
    each term discounted by ``gamma ** (depth difference)`` in rules with a ``gamma``), see
    :meth:`apply_liability`. Subclasses implement :meth:`credit` only; the base class charges
    the liability in :meth:`net_credit` and :meth:`__call__`.
    """

    name: ClassVar[str] = ""
    #: Fields a rule does not read; setting them is refused rather than silently ignored.
    unused: ClassVar[frozenset[str]] = frozenset()

    transform: str = "raw"
    w: float = 1.0
    lam: float = 1.0
    value: str = "value"
    distance: str = "distance"
    cost: str = "cost"
    liability: float = 0.0
    penalty: str = "cost"

    # ------------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        for f in self.unused:
            if getattr(self, f) != self.__dataclass_fields__[f].default:
                raise RuleParameterError(
                    f"{self.name}: does not take parameter {f!r}; accepted: {', '.join(self.parameters())}"
                )
        try:
            check_transform(self.transform)
        except RuleParameterError as exc:
            raise RuleParameterError(f"{self.name}: {exc}") from None
        self._number("w", 0.0, math.inf)
        self._number("lam", 0.0, math.inf)
        self._number("liability", 0.0, math.inf)
        for f in ("value", "distance", "cost", "penalty"):
            self._attribute(f)
        self._check()

    def _check(self) -> None:
        """Validate the rule's own parameters (subclasses)."""

    def _fail(self, name: str, expected: str) -> RuleParameterError:
        return RuleParameterError(f"{self.name}: {name} must be {expected}, got {getattr(self, name)!r}")

    def _number(self, name: str, lo: float, hi: float) -> None:
        x = getattr(self, name)
        expected = f"a number in [{lo:g}, {hi:g}]" if math.isfinite(hi) else f"a finite number >= {lo:g}"
        if (
            isinstance(x, bool)
            or not isinstance(x, numbers.Real)
            or not math.isfinite(float(x))
            or not lo <= float(x) <= hi
        ):
            raise self._fail(name, expected)
        object.__setattr__(self, name, float(x))

    def _finite(self, name: str) -> None:
        x = getattr(self, name)
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(float(x)):
            raise self._fail(name, "a finite number")
        object.__setattr__(self, name, float(x))

    def _integer(self, name: str, lo: int, hi: int | None = None) -> None:
        x = getattr(self, name)
        ok = isinstance(x, numbers.Integral) and not isinstance(x, bool)
        if not ok or int(x) < lo or (hi is not None and int(x) > hi):
            raise self._fail(name, f"a whole number >= {lo}" + ("" if hi is None else f" and <= {hi}"))
        object.__setattr__(self, name, int(x))

    def _boolean(self, name: str) -> None:
        if not isinstance(getattr(self, name), bool):
            raise self._fail(name, "true or false")

    def _attribute(self, name: str) -> None:
        x = getattr(self, name)
        if not isinstance(x, str) or not x or _SPEC_FORBIDDEN & set(x):
            raise self._fail(name, "an attribute name (non-empty, without ',', '=', ':' or spaces)")

    # ------------------------------------------------------------------ description
    @classmethod
    def parameters(cls) -> list[str]:
        """Accepted parameter names: the rule's own first, then the shared ones."""
        shared = [f.name for f in dataclasses.fields(Rule)]
        own = [f.name for f in dataclasses.fields(cls) if f.name not in shared]
        return [p for p in own + shared if p not in cls.unused]

    @property
    def params(self) -> dict[str, Any]:
        """Parameters that differ from their defaults, in :meth:`parameters` order."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        return {p: getattr(self, p) for p in self.parameters() if getattr(self, p) != fields[p].default}

    @property
    def spec(self) -> str:
        """The canonical spec string, e.g. ``discounted:gamma=0.5``; :func:`parse_rule` reads it back."""
        params = self.params
        if not params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_format(v)}" for k, v in params.items())

    def __str__(self) -> str:
        return self.spec

    # ------------------------------------------------------------------ computing
    def values(self, tree: TreeArrays) -> FloatArray:
        """The transformed values this rule credits, one per agent."""
        v = tree.column(self.value)
        if self.transform in ("multiplicative", "additive"):
            d = tree.column(self.distance)
            bad = np.flatnonzero(d < 0)
            if len(bad):
                who = int(bad[0]) if tree.ids is None else tree.ids[int(bad[0])]
                raise ValueDataError(
                    f"{self.name}: agent {who!r} has {self.distance}={float(d[bad[0]])!r}; "
                    "alignment distances are in bits and must be >= 0"
                )
            return transform_values(v, distance=d, transform=self.transform, w=self.w)
        if self.transform == "lagrangian":
            return transform_values(v, cost=tree.column(self.cost), transform="lagrangian", lam=self.lam)
        return np.array(v, dtype=np.float64, copy=True)

    def credit(self, tree: TreeArrays) -> FloatArray:
        """The rule's own credit of every agent at once, as an array in insertion order, before any
        liability (what a subclass implements; :meth:`net_credit` charges the liability)."""
        raise NotImplementedError

    @property
    def penalty_gamma(self) -> float:
        """The discount of the clade penalty: the rule's ``gamma`` if it has one, else 1."""
        g = getattr(self, "gamma", None) if "gamma" in self.__dataclass_fields__ else None
        return float(g) if isinstance(g, numbers.Real) and not isinstance(g, bool) else 1.0

    def penalties(self, tree: TreeArrays) -> FloatArray:
        """Each agent's ``penalty`` value, NaN where it does not carry one (checked: the attribute is
        a numeric attribute of the lineage, and every value present is finite and >= 0)."""
        p = tree.column(self.penalty)
        if len(tree) == 0:
            return p
        if (self.penalty not in tree.names) if tree.names is not None else bool(np.all(np.isnan(p))):
            known = "" if tree.names is None else f"; numeric attributes: {', '.join(tree.names) or 'none'}"
            raise ValueDataError(
                f"{self.name}: penalty={self.penalty!r} is not a numeric attribute of the lineage "
                f"(liability={self.liability!r}){known}"
            )
        bad = np.flatnonzero(~np.isnan(p) & ~(np.isfinite(p) & (p >= 0)))
        if len(bad):
            who = int(bad[0]) if tree.ids is None else tree.ids[int(bad[0])]
            raise ValueDataError(
                f"{self.name}: agent {who!r} has {self.penalty}={float(p[bad[0]])!r}; "
                "a penalty must be a finite number >= 0"
            )
        return p

    def apply_liability(self, tree: TreeArrays, credit: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``credit`` with the liability charged, and the charge itself, one per agent.

        The charge is ``liability * P[i]``, ``P[i]`` the sum over the clade of ``i`` of
        ``penalty_gamma ** (depth difference) * penalty``, agents without a penalty counting 0. The
        net credit is ``credit - charge``; where the rule has no credit (NaN) but some agent of the
        clade carries a penalty it is ``-charge``: the agent still answers for its clade. With
        ``liability=0`` the credit is returned unchanged (the same array) with a charge of 0.
        """
        if self.liability == 0:
            return credit, np.zeros(len(credit))
        p = self.penalties(tree)
        known = ~np.isnan(p)
        charge = self.liability * clade_sum(tree, np.where(known, p, 0.0), self.penalty_gamma)
        silent = np.isnan(credit)
        if silent.any():  # the rule has nothing to say here: is the clade liable all the same?
            covered = clade_sum(tree, known.astype(np.float64)) > 0
            credit = np.where(silent & covered, 0.0, credit)
        return credit - charge, charge

    def assess(self, tree: TreeArrays) -> tuple[FloatArray, FloatArray]:
        """Net credit and the liability charged, one per agent (see :meth:`apply_liability`)."""
        return self.apply_liability(tree, self.credit(tree))

    def net_credit(self, tree: TreeArrays) -> FloatArray:
        """Credit after liability: what calling the rule returns, as an array in insertion order."""
        return self.assess(tree)[0]

    def __call__(self, lineage: LineageGraph | LineageArrays | TreeArrays) -> pd.Series:
        import pandas as pd

        tree = as_tree(lineage)
        return pd.Series(self.net_credit(tree), index=tree.index(), name=self.spec)


def _format(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


R = TypeVar("R", bound=type[Rule])


def register_rule(name: str) -> Callable[[R], R]:
    """Class decorator: register a :class:`Rule` subclass under ``name``."""

    def deco(cls: R) -> R:
        if name in RULES:
            raise ValueError(f"a rule named {name!r} is already registered ({RULES[name].__name__})")
        cls.name = name
        RULES[name] = cls
        return cls

    return deco


def _load_builtin_rules() -> None:
    import attribution.rules  # noqa: F401  (importing it registers the built-in rules)


def rule_names() -> list[str]:
    """Registered rule names, in registration order."""
    _load_builtin_rules()
    return list(RULES)


def get_rule(name: str, **params: Any) -> Rule:
    """The rule registered as ``name`` with ``params``; ``name`` may be a whole spec string.

    Raises
    ------
    UnknownRuleError
        Listing the known names and suggesting the closest.
    RuleParameterError
        For an unknown parameter (with the accepted ones) or a value out of range.

    Examples
    --------
    >>> get_rule("discounted", gamma=0.5)
    Discounted(transform='raw', w=1.0, lam=1.0, value='value', distance='distance', cost='cost',
               liability=0.0, penalty='cost', gamma=0.5)
    >>> get_rule("discountd")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    attribution.errors.UnknownRuleError: unknown rule 'discountd'; known rules: ... 'discounted'?)
    """
    _load_builtin_rules()
    if not isinstance(name, str):
        raise UnknownRuleError(f"a rule name is a string, got {name!r}; known rules: {', '.join(RULES)}")
    if ":" in name:
        base = parse_rule(name)
        return get_rule(base.name, **{**base.params, **params})
    cls = RULES.get(name.strip())
    if cls is None:
        known = ", ".join(RULES)
        raise UnknownRuleError(f"unknown rule {name!r}; known rules: {known}{_suggest(name, list(RULES))}")
    accepted = cls.parameters()
    for key in params:
        if key not in accepted:
            raise RuleParameterError(
                f"{cls.name}: unknown parameter {key!r}; accepted: "
                f"{', '.join(accepted)}{_suggest(key, accepted)}"
            )
    try:
        return cls(**params)
    except TypeError as exc:  # pragma: no cover - every accepted name is a field
        raise RuleParameterError(f"{cls.name}: {exc}") from None


def parse_rule(spec: str) -> Rule:
    """Read a spec string ``name`` or ``name:key=value,key=value`` (as in configs and the CLI).

    Values read as ``true``/``false``, whole numbers, numbers, or else text.

    Examples
    --------
    >>> parse_rule("discounted:gamma=0.5,transform=multiplicative").spec
    'discounted:gamma=0.5,transform=multiplicative'
    >>> parse_rule("best-descendant:include_self=false").spec
    'best-descendant:include_self=false'
    >>> parse_rule("shapley:penalty=distance,liability=1").spec
    'shapley:liability=1.0,penalty=distance'
    """
    if not isinstance(spec, str) or not spec.strip():
        raise RuleSpecError(f"a rule spec is 'name' or 'name:key=value,...', got {spec!r}")
    name, sep, rest = spec.strip().partition(":")
    params: dict[str, Any] = {}
    if sep:
        for item in rest.split(","):
            key, eq, text = item.partition("=")
            key, text = key.strip(), text.strip()
            if not eq or not key or not text:
                raise RuleSpecError(f"rule spec {spec!r}: expected key=value, got {item.strip()!r}")
            if key in params:
                raise RuleSpecError(f"rule spec {spec!r}: parameter {key!r} given twice")
            params[key] = _parse_value(text)
    return get_rule(name.strip(), **params)


def as_rule(rule: str | Rule) -> Rule:
    """A rule from a spec string, or the rule itself."""
    if isinstance(rule, Rule):
        return rule
    return parse_rule(rule)
