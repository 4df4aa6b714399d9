"""The attribution rules: self, discounted clade, clade mean, CMP, best descendant, Nth generation,
marginal, Shapley, ancestor utility."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from attribution.base import Rule, register_rule
from attribution.errors import ValueDataError
from attribution.shapley import EXACT_LIMIT, ShapleyEstimate, shapley_exact, shapley_monte_carlo
from attribution.transforms import transform_values
from attribution.tree import TreeArrays, as_tree, clade_max, clade_sum, nth_ancestor, strict_clade_max

if TYPE_CHECKING:
    import pandas as pd

    from lineage import LineageArrays, LineageGraph

__all__ = [
    "CMP",
    "AncestorUtility",
    "BestDescendant",
    "CladeMean",
    "CladeSum",
    "Discounted",
    "DiscountedMean",
    "Marginal",
    "NthGeneration",
    "SelfRule",
    "Shapley",
]

FloatArray = npt.NDArray[np.float64]

_rule = dataclasses.dataclass(frozen=True, kw_only=True)


def _weighted(tree: TreeArrays, v: FloatArray, gamma: float) -> tuple[FloatArray, FloatArray]:
    """Discounted clade sums of the known values and of their weights (missing values skipped)."""
    known = ~np.isnan(v)
    return clade_sum(tree, np.where(known, v, 0.0), gamma), clade_sum(tree, known.astype(np.float64), gamma)


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(len(num), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


@register_rule("self")
@_rule
class SelfRule(Rule):
    """The agent's own (transformed) value; descendants earn it nothing.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", value=0.2, distance=1.0)
    >>> g.add_agent("0.0", parent="0", value=0.6)
    >>> SelfRule()(g).tolist(), SelfRule(transform="multiplicative")(g).tolist()
    ([0.2, 0.6], [0.1, nan])
    """

    def credit(self, tree: TreeArrays) -> FloatArray:
        return self.values(tree)


@register_rule("discounted")
@_rule
class Discounted(Rule):
    """Sum over the clade of ``gamma ** (depth difference) * value``, the agent's own term weight 1.

    ``gamma=0`` is :class:`SelfRule`, ``gamma=1`` :class:`CladeSum`; eligibility-trace credit is
    this rule with ``gamma * lambda``. Missing values are skipped; NaN where the whole weighted
    clade has none.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.6)
    >>> g.add_agent("0.0.0", parent="0.0", value=0.4)
    >>> Discounted(gamma=0.5)(g).round(6).tolist()
    [0.6, 0.8, 0.4]
    """

    gamma: float = 0.9

    def _check(self) -> None:
        self._number("gamma", 0.0, 1.0)

    def credit(self, tree: TreeArrays) -> FloatArray:
        total, weight = _weighted(tree, self.values(tree), self.gamma)
        return np.where(weight > 0, total, np.nan)


@register_rule("discounted-mean")
@_rule
class DiscountedMean(Rule):
    """The discounted clade sum divided by the sum of its weights: numbers of descendants buy nothing.

    ``gamma=0`` is :class:`SelfRule`, ``gamma=1`` :class:`CladeMean`.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.6)
    >>> g.add_agent("0.0.0", parent="0.0", value=0.4)
    >>> DiscountedMean(gamma=0.5)(g).round(6).tolist()
    [0.342857, 0.533333, 0.4]
    """

    gamma: float = 0.9

    def _check(self) -> None:
        self._number("gamma", 0.0, 1.0)

    def credit(self, tree: TreeArrays) -> FloatArray:
        return _ratio(*_weighted(tree, self.values(tree), self.gamma))


@register_rule("clade-sum")
@_rule
class CladeSum(Rule):
    """The plain sum of values over the clade (``discounted`` with ``gamma=1``)."""

    def credit(self, tree: TreeArrays) -> FloatArray:
        total, weight = _weighted(tree, self.values(tree), 1.0)
        return np.where(weight > 0, total, np.nan)


@register_rule("clade-mean")
@_rule
class CladeMean(Rule):
    """The mean value over the clade (agents without a value left out).

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.6)
    >>> g.add_agent("0.1", parent="0")
    >>> CladeMean()(g).round(6).tolist()
    [0.4, 0.6, nan]
    """

    def credit(self, tree: TreeArrays) -> FloatArray:
        return _ratio(*_weighted(tree, self.values(tree), 1.0))


@register_rule("cmp")
@_rule
class CMP(Rule):
    """HGM's clade-metaproductivity estimate: the clade's pooled successes over its pooled trials.

    No depth discount. NaN where the clade has no trials. A ``transform`` applies to each agent's
    own success rate before pooling (its successes become ``trials * T(successes / trials)``).

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", successes=1, trials=4)
    >>> g.add_agent("0.0", parent="0", successes=5, trials=6)
    >>> g.add_agent("0.1", parent="0")
    >>> CMP()(g).tolist()
    [0.6, 0.8333333333333334, nan]
    """

    unused = frozenset({"value"})

    successes: str = "successes"
    trials: str = "trials"

    def _check(self) -> None:
        self._attribute("successes")
        self._attribute("trials")

    def credit(self, tree: TreeArrays) -> FloatArray:
        s, t = tree.column(self.successes), tree.column(self.trials)
        known = ~np.isnan(s) & ~np.isnan(t)
        bad = np.flatnonzero(known & ((s < 0) | (t < 0) | (s > t)))
        if len(bad):
            who = int(bad[0]) if tree.ids is None else tree.ids[int(bad[0])]
            raise ValueDataError(
                f"cmp: agent {who!r} has {self.successes}={float(s[bad[0]])!r} and "
                f"{self.trials}={float(t[bad[0]])!r}; "
                f"expected 0 <= {self.successes} <= {self.trials}"
            )
        if self.transform != "raw":
            rate = _ratio(np.where(known, s, 0.0), np.where(known, t, 0.0))
            shifted = transform_values(
                rate,
                distance=tree.column(self.distance),
                cost=tree.column(self.cost),
                transform=self.transform,
                w=self.w,
                lam=self.lam,
            )
            s = t * shifted
            known &= ~np.isnan(s)
        wins = clade_sum(tree, np.where(known, s, 0.0))
        tries = clade_sum(tree, np.where(known, t, 0.0))
        return _ratio(wins, tries)


@register_rule("best-descendant")
@_rule
class BestDescendant(Rule):
    """The highest value in the clade; with ``include_self=False``, among descendants only (HGM's
    empirical CMP), NaN for a leaf.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", value=0.9); g.add_agent("0.0", parent="0", value=0.6)
    >>> BestDescendant()(g).tolist(), BestDescendant(include_self=False)(g).tolist()
    ([0.9, 0.6], [0.6, nan])

    With a liability each agent answers for its clade's cost (the root for its child's too):

    >>> g.update("0", cost=0.0); g.update("0.0", cost=1.0)
    >>> BestDescendant(liability=0.5)(g).tolist()
    [0.4, 0.09999999999999998]
    """

    include_self: bool = True

    def _check(self) -> None:
        self._boolean("include_self")

    def credit(self, tree: TreeArrays) -> FloatArray:
        v = self.values(tree)
        return clade_max(tree, v) if self.include_self else strict_clade_max(tree, v)


@register_rule("nth-generation")
@_rule
class NthGeneration(Rule):
    """The mean value of the agent's descendants exactly ``n`` generations below; NaN where none.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", value=0.1); g.add_agent("0.0", parent="0", value=0.3)
    >>> g.add_agent("0.1", parent="0", value=0.5); g.add_agent("0.0.0", parent="0.0", value=0.9)
    >>> NthGeneration(n=1)(g).tolist(), NthGeneration(n=2)(g).tolist()
    ([0.4, 0.9, nan, nan], [0.9, nan, nan, nan])
    """

    n: int = 1

    def _check(self) -> None:
        self._integer("n", 0)

    def credit(self, tree: TreeArrays) -> FloatArray:
        v = self.values(tree)
        anc = nth_ancestor(tree, self.n)
        use = (anc >= 0) & ~np.isnan(v)
        total = np.bincount(anc[use], weights=v[use], minlength=len(v)).astype(np.float64)
        count: FloatArray = np.bincount(anc[use], minlength=len(v)).astype(np.float64)
        return _ratio(total, count)


@register_rule("marginal")
@_rule
class Marginal(Rule):
    """A difference reward: the agent's value minus its parent's; a root against ``baseline``.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", value=0.25); g.add_agent("0.0", parent="0", value=0.75)
    >>> Marginal()(g).tolist(), Marginal(baseline=0.5)(g).tolist()
    ([0.25, 0.5], [-0.25, 0.5])
    """

    baseline: float = 0.0

    def _check(self) -> None:
        self._finite("baseline")

    def credit(self, tree: TreeArrays) -> FloatArray:
        v = self.values(tree)
        p = tree.parent
        before = np.where(p >= 0, v[np.maximum(p, 0)], self.baseline)
        return v - before


@register_rule("shapley")
@_rule
class Shapley(Rule):
    """The Shapley value of the lineage game (see :func:`~attribution.shapley.lineage_game`).

    v(S) is the best value among the agents of S whose whole ancestor chain lies in S (0 if none),
    so no descendant counts without its ancestors and the credits sum to the best value in the
    lineage. Exact for at most ``exact_max`` agents (default 12); beyond, a Monte Carlo estimate
    over ``samples`` orderings drawn from ``numpy.random.default_rng(seed)``, whose standard
    errors :meth:`estimate` returns (the Series carries the largest in ``attrs["max_stderr"]``).
    A ``liability`` is charged after the game is shared out (see :meth:`Rule.apply_liability`), so
    the net credits then sum to the best value minus the charges.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.5)
    >>> Shapley()(g).round(6).tolist()
    [0.35, 0.15]
    """

    samples: int = 1000
    seed: int = 0
    exact_max: int = 12

    def _check(self) -> None:
        self._integer("samples", 1)
        self._integer("seed", 0)
        self._integer("exact_max", 0, EXACT_LIMIT)

    def estimate(self, lineage: LineageGraph | LineageArrays | TreeArrays) -> ShapleyEstimate:
        """Credit, standard errors, and whether they are exact."""
        tree = as_tree(lineage)
        v = self.values(tree)
        if len(tree) <= self.exact_max:
            return ShapleyEstimate(shapley_exact(tree.parent, v), np.zeros(len(tree)), "exact", 0, None)
        return shapley_monte_carlo(tree, v, self.samples, self.seed)

    def credit(self, tree: TreeArrays) -> FloatArray:
        return self.estimate(tree).credit

    def __call__(self, lineage: LineageGraph | LineageArrays | TreeArrays) -> pd.Series:
        import pandas as pd

        tree = as_tree(lineage)
        est = self.estimate(tree)
        net, _ = self.apply_liability(tree, est.credit)
        out = pd.Series(net, index=tree.index(), name=self.spec)
        out.attrs.update(
            method=est.method,
            samples=est.samples,
            seed=est.seed,
            max_stderr=float(est.stderr.max()) if len(est.stderr) else 0.0,
        )
        return out


@register_rule("ancestor-utility")
@_rule
class AncestorUtility(Rule):
    """The discounted clade sum of every descendant's value as the agent's OWN utility measures it
    (Everitt et al. 2016: an agent judges the future with its current utility, so goal drift downstream
    does not fool it).

    ``credit[i] = sum over the clade j of i of gamma ** (d_j - d_i) * U_i(j)``, with
    ``U_i(j) = value_j - a_i * violations_j - b_i * episode_cost_j``: ``a_i`` and ``b_i`` are agent
    ``i``'s attributes ``weight_violations`` and ``weight_cost`` (what :mod:`spawn.life.utility` records
    from its objective and penalty weight), ``value`` transformed as every rule's; ``violations`` and
    ``episode_cost`` name the attributes ``scaled_violations`` and ``scaled_episode_cost`` by default,
    the counts per episode in value's units (over the width of each environment's return range). A missing weight,
    violations or episode cost counts 0; agents without a value are skipped; NaN where the weighted
    clade has none. With every weight 0 it is :class:`Discounted`.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph()
    >>> g.add_agent("0", value=0.5, scaled_violations=0.0, utility_violations=1.0, utility_cost=1.0)
    >>> g.add_agent("0.0", parent="0", value=0.9, scaled_violations=0.4, scaled_episode_cost=0.1)
    >>> AncestorUtility(gamma=0.5)(g).round(6).tolist()  # the root: 0.5 + 0.5 * (0.9 - 0.4 - 0.1)
    [0.7, 0.9]
    """

    gamma: float = 0.9
    violations: str = "scaled_violations"
    episode_cost: str = "scaled_episode_cost"
    weight_violations: str = "utility_violations"
    weight_cost: str = "utility_cost"

    def _check(self) -> None:
        self._number("gamma", 0.0, 1.0)
        for f in ("violations", "episode_cost", "weight_violations", "weight_cost"):
            self._attribute(f)

    def credit(self, tree: TreeArrays) -> FloatArray:
        v = self.values(tree)
        known = ~np.isnan(v)

        def zero(name: str) -> FloatArray:
            c = tree.column(name)
            return np.where(np.isfinite(c), c, 0.0)

        total, weight = _weighted(tree, v, self.gamma)
        viol = clade_sum(tree, np.where(known, zero(self.violations), 0.0), self.gamma)
        cost = clade_sum(tree, np.where(known, zero(self.episode_cost), 0.0), self.gamma)
        own = total - zero(self.weight_violations) * viol - zero(self.weight_cost) * cost
        return np.where(weight > 0, own, np.nan)
