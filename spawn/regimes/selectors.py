"""Parent selectors of the archive regime: uniform, greedy, DGM's, HGM's, and any attribution rule.

A selector looks at the archive (the agents that may become parents) and the whole lineage, and
picks ``n`` parents with replacement, drawing only from the generator it is given. It also returns
the score it picked by, for the per-batch report.

Formulas (``../shared/REFERENCES.md``):

- ``dgm``: p_i proportional to sigmoid(lambda (value_i - 0.5)) / (1 + children_i), the Darwin
  Gödel Machine's ``score_child_prop``: a node's own score, and having children is a penalty.
- ``hgm``: one Thompson draw per archived agent from Beta(tau (1 + S_C), tau (1 + F_C)), with S_C
  and F_C the successes and failures pooled over its whole clade (Huxley-Gödel Machine's
  clade-metaproductivity); the highest draw wins; one round of draws per pick.
- ``rule:<spec>``: softmax over an attribution rule's credit with a temperature.

Each is a class registered with :func:`register_selector`, as a plugin's would be. A selector named
``family:<argument>`` (like ``rule:<spec>``) is registered once as a family (``family=True``) and made
with the text after the colon.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from lineage import LineageGraph, clade_sum, path_key
from spawn.config import check_selector
from spawn.registry import SELECTORS

__all__ = [
    "SELECTOR_REGISTRY",
    "SelectOptions",
    "Selection",
    "Selector",
    "check_selector",
    "clade_counts",
    "register_selector",
    "select",
    "selection_probabilities",
    "selector_for",
]


@dataclass(frozen=True)
class Selection:
    picks: tuple[str, ...]
    scores: dict[str, float]  # the score each picked agent (at least) was judged by


def _counts(lineage: LineageGraph, eval_trials: int) -> tuple[np.ndarray, np.ndarray]:
    """Every agent's own successes and failures, in lineage order (see :func:`clade_counts`)."""
    trials = lineage.column("trials")
    counted = ~np.isnan(trials)
    if counted.any():
        # A run's agents all have counts; one that has none was never evaluated (its life failed) and
        # counts for nothing, as the cmp rule leaves it out.
        succ = np.where(counted, np.nan_to_num(lineage.column("successes")), 0.0)
        return succ, np.where(counted, trials, 0.0) - succ
    # A lineage without any counts (read from a file written before every environment had a success):
    # each agent's value stands for its success rate over eval_trials pseudo-trials.
    values = np.nan_to_num(lineage.column("value"), nan=0.0)
    return values * eval_trials, (1.0 - values) * eval_trials


def clade_counts(lineage: LineageGraph, eval_trials: int) -> dict[str, tuple[float, float]]:
    """Successes and failures pooled over each agent's clade (one vectorised pass).

    The counts are the agents' ``successes`` and ``trials`` (every evaluated agent has them: see
    :class:`spawn.life.suite.EnvFacts`), the ones the ``cmp`` rule pools; an agent without them (a
    failed life) adds nothing. A lineage with no counts at all (from an older file) falls back to
    each agent's value times ``eval_trials`` as pseudo-counts.

    Examples
    --------
    >>> g = LineageGraph(); g.add_agent("0", successes=1, trials=4)
    >>> g.add_agent("0.0", parent="0", successes=3, trials=4)
    >>> clade_counts(g, 4)["0"]
    (4.0, 4.0)
    """
    succ, fail = _counts(lineage, eval_trials)
    arrays = lineage.arrays
    s = clade_sum(succ, arrays.parent, arrays.depth)
    f = clade_sum(fail, arrays.parent, arrays.depth)
    return {a: (float(s[i]), float(f[i])) for i, a in enumerate(lineage)}


@dataclass(frozen=True)
class SelectOptions:
    """The ``[archive]`` settings selectors read (and how many trials an agent's value stands for in a
    lineage without success counts)."""

    dgm_lambda: float = 10.0
    hgm_tau: float = 1.0
    temperature: float = 0.1
    eval_trials: int = 10


#: Every parent selector by name (a family, such as ``rule``, names ``rule:<argument>`` selectors).
SELECTOR_REGISTRY = SELECTORS

_T = TypeVar("_T", bound=type)


def register_selector(name: str, *, family: bool = False, **meta: Any) -> Callable[[_T], _T]:
    """Class decorator: register a parent selector as ``name`` (``family=True``: ``name:<argument>``).

    The class is made as ``cls(argument)`` (``None`` unless a family) and must have
    ``select(archive, lineage, n, rng, options) -> Selection``; :class:`Selector` gives one from
    ``probabilities``. An optional classmethod ``check(argument)`` refuses a bad argument at config time
    (raising ``ValueError`` or :class:`~spawn.errors.ConfigError`, one line).
    """
    if not isinstance(name, str) or not name or ":" in name:
        raise ValueError(f"a selector needs a non-empty name without ':', got {name!r}")
    register = SELECTOR_REGISTRY.register(name, family=bool(family), **meta)

    def deco(cls: _T) -> _T:
        if not isinstance(cls, type) or not callable(getattr(cls, "select", None)):
            raise TypeError(f"register_selector({name!r}) decorates a class with a select method")
        register(cls)
        return cls

    return deco


def selector_for(selector: str) -> Any:
    """The selector object for a config's ``selector`` (``rule:<spec>`` makes the rule family's)."""
    cls, arg = SELECTORS.lookup(selector)
    return cls(arg)


class Selector:
    """A selector by its pick probabilities: ``select`` draws ``n`` indices at once with ``rng.choice``."""

    def __init__(self, argument: str | None = None) -> None:
        self.argument = argument

    def probabilities(
        self, archive: Sequence[str], lineage: LineageGraph, options: SelectOptions
    ) -> dict[str, float] | None:
        """Each archived agent's probability of being picked, or ``None`` when there is no closed form."""
        return None

    def scores(
        self, archive: Sequence[str], lineage: LineageGraph, options: SelectOptions, probs: dict[str, float]
    ) -> dict[str, float]:
        """The score each archived agent was judged by (for the per-batch report): its probability."""
        return probs

    def select(
        self, archive: Sequence[str], lineage: LineageGraph, n: int, rng: np.random.Generator, options: SelectOptions
    ) -> Selection:
        probs = self.probabilities(archive, lineage, options)
        if probs is None:
            raise NotImplementedError(f"{type(self).__name__} has neither probabilities nor its own select")
        p = np.array([probs[a] for a in archive])
        idx = rng.choice(len(archive), size=n, p=p / p.sum())
        return Selection(tuple(archive[int(i)] for i in idx), self.scores(archive, lineage, options, probs))


def _value(lineage: LineageGraph, agent: str) -> float:
    v = lineage.get(agent, "value")
    return float(v) if v is not None else 0.0


@register_selector("uniform")
class Uniform(Selector):
    """Every archived agent alike."""

    def probabilities(self, archive: Sequence[str], lineage: LineageGraph, options: SelectOptions) -> dict[str, float]:
        return {a: 1.0 / len(archive) for a in archive}

    def select(
        self, archive: Sequence[str], lineage: LineageGraph, n: int, rng: np.random.Generator, options: SelectOptions
    ) -> Selection:
        # Selector.select's draws, without a dict and a list over the whole archive for every batch
        # (at 10^6 agents, a tenth of a second each)
        p = np.full(len(archive), 1.0 / len(archive))
        idx = rng.choice(len(archive), size=n, p=p / p.sum())
        picks = tuple(archive[int(i)] for i in idx)
        return Selection(picks, dict.fromkeys(picks, 1.0 / len(archive)))


@register_selector("greedy")
class Greedy(Selector):
    """The best value (the earliest of equals), always."""

    def probabilities(self, archive: Sequence[str], lineage: LineageGraph, options: SelectOptions) -> dict[str, float]:
        best = min(archive, key=lambda a: (-_value(lineage, a), path_key(a)))  # ties by id
        return {a: float(a == best) for a in archive}

    def scores(
        self, archive: Sequence[str], lineage: LineageGraph, options: SelectOptions, probs: dict[str, float]
    ) -> dict[str, float]:
        return {a: _value(lineage, a) for a in archive}


@register_selector("dgm")
class DGM(Selector):
    """The Darwin Gödel Machine's ``score_child_prop``: sigmoid of the value, over one plus the children."""

    def probabilities(self, archive: Sequence[str], lineage: LineageGraph, options: SelectOptions) -> dict[str, float]:
        lam = options.dgm_lambda
        w = np.array(
            [
                1.0 / (1.0 + math.exp(-lam * (_value(lineage, a) - 0.5))) / (1 + len(lineage.children(a)))
                for a in archive
            ]
        )
        return dict(zip(archive, (w / w.sum()).tolist(), strict=True))


@register_selector("hgm")
class HGM(Selector):
    """The Huxley-Gödel Machine's Thompson draws over clade-pooled successes (no closed form)."""

    def select(
        self, archive: Sequence[str], lineage: LineageGraph, n: int, rng: np.random.Generator, options: SelectOptions
    ) -> Selection:
        counts = clade_counts(lineage, options.eval_trials)
        tau = options.hgm_tau
        alpha = np.array([tau * (1 + counts[a][0]) for a in archive])
        beta = np.array([tau * (1 + counts[a][1]) for a in archive])
        picks = [archive[int(np.argmax(rng.beta(alpha, beta)))] for _ in range(n)]
        scores = {a: counts[a][0] / max(1e-12, counts[a][0] + counts[a][1]) for a in archive}
        return Selection(tuple(picks), scores)


@register_selector("rule", family=True)
class RuleSelector(Selector):
    """``rule:<spec>``: softmax over an attribution rule's credit, at ``[archive] temperature``."""

    @classmethod
    def check(cls, argument: str | None) -> None:
        from attribution import AttributionError, parse_rule

        try:
            parse_rule(str(argument))
        except AttributionError as exc:
            raise ValueError(str(exc)) from None

    def credit(self, archive: Sequence[str], lineage: LineageGraph) -> dict[str, float]:
        from attribution import parse_rule

        values = parse_rule(str(self.argument))(lineage)
        return {a: float(values[a]) for a in archive}

    def probabilities(self, archive: Sequence[str], lineage: LineageGraph, options: SelectOptions) -> dict[str, float]:
        credit = self.credit(archive, lineage)
        z = np.array([credit[a] for a in archive]) / options.temperature
        z = np.where(np.isfinite(z), z, -np.inf)
        if not np.isfinite(z).any():
            return {a: 1.0 / len(archive) for a in archive}
        p = np.exp(z - z.max())
        return dict(zip(archive, (p / p.sum()).tolist(), strict=True))

    def scores(
        self, archive: Sequence[str], lineage: LineageGraph, options: SelectOptions, probs: dict[str, float]
    ) -> dict[str, float]:
        return self.credit(archive, lineage)


def selection_probabilities(
    selector: str,
    archive: Sequence[str],
    lineage: LineageGraph,
    *,
    dgm_lambda: float = 10.0,
    temperature: float = 0.1,
) -> dict[str, float]:
    """Each archived agent's probability of being picked, for the selectors that have a closed form.

    ``hgm`` has none (it is the probability of winning a Thompson draw); use its frequencies.

    Examples
    --------
    >>> g = LineageGraph(); g.add_agent("0", value=0.5); g.add_agent("0.0", parent="0", value=0.5)
    >>> selection_probabilities("dgm", ["0", "0.0"], g)  # same score, but "0" has a child
    {'0': 0.333..., '0.0': 0.666...}
    """
    probs = selector_for(selector).probabilities(
        archive, lineage, SelectOptions(dgm_lambda=dgm_lambda, temperature=temperature)
    )
    if probs is None:
        raise ValueError(f"selector {selector!r} has no closed-form probabilities")
    return dict(probs)


def select(
    selector: str,
    archive: Sequence[str],
    lineage: LineageGraph,
    n: int,
    rng: np.random.Generator,
    *,
    dgm_lambda: float = 10.0,
    hgm_tau: float = 1.0,
    temperature: float = 0.1,
    eval_trials: int = 10,
) -> Selection:
    """Pick ``n`` parents from ``archive`` (with replacement), drawing only from ``rng``."""
    if not archive:
        raise ValueError("the archive is empty: nothing to select from")
    options = SelectOptions(dgm_lambda=dgm_lambda, hgm_tau=hgm_tau, temperature=temperature, eval_trials=eval_trials)
    result: Selection = selector_for(selector).select(archive, lineage, n, rng, options)
    return result
