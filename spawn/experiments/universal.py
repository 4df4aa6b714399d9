"""The intelligence of a lineage, per environment: any rule applied to each environment's measurements
and combined with the environments' complexity K into Legg and Hutter's Upsilon and the essay's Sigma.

For a rule ``R`` and the suite's environments ``e`` (complexity ``K_e`` in bits, ``K_e^c`` with the
environment's constitution, see :func:`envs.complexity_bits`), the credit of the first agent is
computed on every environment alone (:func:`environment_view`: ``value`` reads ``<e>.value``,
``distance`` reads ``<e>.distance``, and so on), then:

``upsilon``
    ``sum_e 2**-K_e R_e`` with ``R``'s transform set to ``raw``: Upsilon of the rule's credit.
``sigma``
    the same sum with ``R``'s own transform, or ``multiplicative`` (``V' = V 2**-D``) when ``R`` has
    none: alignment as the agent's imperative.
``sigma_k``
    ``sum_e 2**-K_e^c R_e`` raw: alignment as more environment complexity; an environment governed by
    a constitution of ``k`` bits weighs ``2**-k`` as much.
``tax``, ``relative_tax`` (and ``tax_k``, ``relative_tax_k``)
    ``upsilon - sigma`` and ``1 - sigma / upsilon``, computed in log space (the relative tax is exact
    where both sums underflow).
``dominant``, ``dominant_share``
    the environment whose term is the largest part of ``upsilon``, and that part.
``mix_upsilon``, ``mix_sigma``, ``mix_relative_tax``
    the same with every environment weighted equally: **a departure from Legg and Hutter**, offered
    because ``2**-K`` weights are unreadable when K differ by more than a few bits.

What the weights mean: environments described by a few thousand bits each (the gridworlds and
Hiring are 1,200-2,100 bits) give sums of order ``2**-1200``, which underflow to 0 as floats; the
``log2_*`` columns are exact. Two environments whose K differ by ``d`` bits weigh ``2**-d`` apart: at
``d = 10`` the simpler one is 99.9% of the sum, at a few hundred bits or more it is all of it, and
the other environment decides nothing, however well or badly an agent does there. ``dominant_share``
shows it. The equal-weight mix answers a different question (how the agent does on this suite, each
environment counting once) and is labelled as such everywhere.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from attribution.base import Rule
from attribution.tree import TreeArrays, as_tree

if TYPE_CHECKING:
    from lineage import LineageGraph
    from spawn.config import SimConfig

__all__ = [
    "ALIGNMENT_ATTRIBUTES",
    "ENVIRONMENT_COLUMNS",
    "UNIVERSAL_COLUMNS",
    "EnvironmentComplexity",
    "UniversalCredit",
    "environment_view",
    "relative_loss",
    "render_universal",
    "run_complexities",
    "suite_complexities",
    "universal_credit",
]

#: Measurements against a constitution: on an environment without one nothing is forbidden, so an
#: agent's per-environment view reads them as 0 there (never as the suite's mean).
ALIGNMENT_ATTRIBUTES = (
    "distance",
    "distance.forbidden",
    "distance.invariance",
    "cost",
    "violations",
    "episode_cost",
    "scaled_violations",
    "scaled_episode_cost",
)
#: The columns of :attr:`UniversalCredit.table`, one row per rule.
UNIVERSAL_COLUMNS = (
    "rule",
    "upsilon",
    "log2_upsilon",
    "sigma",
    "log2_sigma",
    "tax",
    "relative_tax",
    "sigma_k",
    "log2_sigma_k",
    "tax_k",
    "relative_tax_k",
    "dominant",
    "dominant_share",
    "mix_upsilon",
    "mix_sigma",
    "mix_relative_tax",
)
#: The columns of :attr:`UniversalCredit.environments`, one row per rule and environment.
ENVIRONMENT_COLUMNS = ("rule", "env", "k", "k_constitution", "weight", "credit", "aligned_credit", "share")
_LN2 = math.log(2.0)


@dataclasses.dataclass(frozen=True)
class EnvironmentComplexity:
    """One environment of a suite: its slug, K without and with its constitution, its return range."""

    slug: str
    k: float
    k_constitution: float
    return_range: tuple[float, float]


def suite_complexities(cfg: SimConfig) -> list[EnvironmentComplexity]:
    """K of every environment of ``cfg`` (in config order), bare and wrapped in its constitution.

    Raises :class:`~spawn.errors.ConfigError` as :class:`~spawn.life.suite.Suite` does.
    """
    import envs
    from spawn.life.suite import Suite

    suite = Suite(cfg)  # checks the config and imports its plugins
    out = []
    for slug, facts in suite.facts.items():
        ec = suite.configs[slug]
        bare = envs.make(ec.id, constitution=None, **ec.kwargs)  # type: ignore[arg-type]
        try:
            k = float(envs.complexity_bits(bare))
        finally:
            bare.close()
        out.append(EnvironmentComplexity(slug, k, facts.complexity_bits, facts.return_range))
    return out


def run_complexities(lineage_path: Path) -> list[EnvironmentComplexity]:
    """:func:`suite_complexities` of the run whose lineage file is ``lineage_path`` (its ``config.toml``
    beside it). Raises :class:`~spawn.errors.ConfigError` (a missing or unreadable config included)."""
    from spawn.config import load_config
    from spawn.errors import ConfigError

    config = lineage_path.parent / "config.toml"
    if not config.is_file():
        raise ConfigError(
            f"{lineage_path}: no config.toml beside it; per-environment credit needs the run's "
            "config (it names the environments and their constitutions): give a run directory"
        )
    return suite_complexities(load_config(config))


def environment_view(tree: TreeArrays, env: EnvironmentComplexity, slugs: Sequence[str]) -> TreeArrays:
    """The lineage as seen on one environment alone: every attribute that is measured per environment
    (``<slug>.<name>`` for some slug of ``slugs``) reads ``<env>.<name>``; the rest (an agent's
    budget, objective, birth time) read as they are.

    Where ``env`` lacks a per-environment measurement, an alignment one
    (:data:`ALIGNMENT_ATTRIBUTES`: no constitution, nothing forbidden) is 0 and any other is NaN.
    ``scaled_violations`` and ``scaled_episode_cost`` are ``<env>.violations`` and
    ``<env>.episode_cost`` over the width of the environment's return range, as
    :func:`spawn.life.evaluate.scaled_penalties` scales them for the suite.

    Examples
    --------
    >>> t = TreeArrays.from_parent([-1, 0], {"value": [0.5, 0.6], "a.value": [0.2, 0.3], "b.value": [0.8, 0.9],
    ...                                      "a.distance": [1.0, 2.0], "distance": [0.5, 1.0], "budget": [10, 5]})
    >>> b = environment_view(t, EnvironmentComplexity("b", 1.0, 1.0, (0.0, 1.0)), ["a", "b"])
    >>> b.column("value").tolist(), b.column("distance").tolist(), b.column("budget").tolist()
    ([0.8, 0.9], [0.0, 0.0], [10.0, 5.0])
    """
    names = tree.names or []
    prefixes = tuple(f"{s}." for s in slugs)
    own = f"{env.slug}."
    mine = {n[len(own) :] for n in names if n.startswith(own)}
    per_env = {n[len(p) :] for n in names for p in prefixes if n.startswith(p)}
    width = env.return_range[1] - env.return_range[0]
    n = len(tree)

    def column(name: str) -> Any:
        if name in mine:
            return tree.column(own + name)
        if name in ("scaled_violations", "scaled_episode_cost"):
            raw = name.removeprefix("scaled_")
            return tree.column(own + raw) / width if raw in mine else np.zeros(n)
        if name in ALIGNMENT_ATTRIBUTES:
            return np.zeros(n)
        if name in per_env:
            return np.full(n, np.nan)
        return tree.column(name)

    shared = [x for x in names if not x.startswith(prefixes)]
    return TreeArrays(
        tree.parent,
        tree.depth,
        column,
        tree.ids,
        sorted(set(shared) | mine | set(ALIGNMENT_ATTRIBUTES)),
    )


def _log2_sum(log2_weights: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """``(log2 |sum 2**log2_weights * x|, sign)`` over the finite ``x``, without underflow."""
    use = np.isfinite(x)
    if not use.any() or not np.any(x[use] != 0):
        return -math.inf, 0.0
    out, sign = logsumexp(log2_weights[use] * _LN2, b=x[use], return_sign=True)
    return float(out) / _LN2, float(sign)


def _value(log2: float, sign: float) -> float:
    return sign * math.exp2(log2) + 0.0 if math.isfinite(log2) else 0.0  # + 0.0: never -0.0


def _relative(log2_a: float, sign_a: float, log2_b: float, sign_b: float) -> float:
    """``1 - b / a`` from log magnitudes and signs (NaN when ``a`` is 0)."""
    if sign_a == 0:
        return math.nan
    if sign_b == 0:
        return 1.0
    return 1.0 - sign_a * sign_b * math.exp2(log2_b - log2_a)


def _difference(log2_a: float, sign_a: float, log2_b: float, sign_b: float) -> float:
    """``a - b`` as a float, as ``a * (1 - b / a)``: exact where ``a`` and ``b`` are close (0 where it underflows)."""
    if sign_a == 0:
        return -_value(log2_b, sign_b)
    rel = _relative(log2_a, sign_a, log2_b, sign_b)
    if rel == 0 or not math.isfinite(rel):
        return 0.0 if rel == 0 else math.nan
    return sign_a * math.copysign(math.exp2(log2_a + math.log2(abs(rel))), rel) + 0.0


@dataclasses.dataclass(frozen=True)
class UniversalCredit:
    """What :func:`universal_credit` found for one agent (the root by default)."""

    #: the agent whose credit is summed
    agent: str
    #: the suite's environments, in config order
    environments_k: tuple[EnvironmentComplexity, ...]
    #: one row per rule: the columns of :data:`UNIVERSAL_COLUMNS`; a ``log2_*`` is ``-inf`` for a sum
    #: of 0 and NaN for a negative one
    table: pd.DataFrame
    #: one row per rule and environment: the columns of :data:`ENVIRONMENT_COLUMNS`
    environments: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (NaN and infinities as ``None``)."""

        def clean(x: Any) -> Any:
            if isinstance(x, float | np.floating):
                return float(x) if math.isfinite(x) else None
            return x

        return {
            "agent": self.agent,
            "environments": [
                {"env": e.slug, "k": e.k, "k_constitution": e.k_constitution} for e in self.environments_k
            ],
            "rules": [{k: clean(v) for k, v in r.items()} for r in self.table.to_dict("records")],
            "per_environment": [{k: clean(v) for k, v in r.items()} for r in self.environments.to_dict("records")],
            "note": (
                "upsilon, sigma, sigma_k: sums over environments weighted 2**-K (Legg and Hutter); "
                "mix_*: every environment weighted equally, a departure from Legg and Hutter"
            ),
        }


def _aligned(rule: Rule) -> Rule:
    return rule if rule.transform != "raw" else dataclasses.replace(rule, transform="multiplicative")


def universal_credit(
    lineage: LineageGraph | TreeArrays,
    rules: Sequence[Rule],
    complexities: Sequence[EnvironmentComplexity],
    agent: str | None = None,
) -> UniversalCredit:
    """Upsilon, Sigma and their tax of ``agent``'s credit (the first agent by default) under each rule,
    the rule applied to every environment alone (see the module's documentation for the columns).

    Raises :class:`~attribution.errors.AttributionError` when a rule cannot be computed (an attribute
    it names is missing, ...), and :class:`KeyError` for an unknown ``agent``.
    """
    tree = as_tree(lineage)
    slugs = [e.slug for e in complexities]
    ids = list(tree.ids) if tree.ids is not None else [str(i) for i in range(len(tree))]
    who = ids[0] if agent is None else agent
    row = ids.index(who) if who in ids else None
    if row is None:
        raise KeyError(f"no agent {who!r} in the lineage")
    views = [environment_view(tree, e, slugs) for e in complexities]
    k = np.array([e.k for e in complexities])
    kc = np.array([e.k_constitution for e in complexities])
    log2_w = -k - _log2_sum(-k, np.ones(len(k)))[0] if len(k) else k
    rows, per_env = [], []
    for rule in rules:
        raw_rule, aligned_rule = dataclasses.replace(rule, transform="raw"), _aligned(rule)
        raw = np.array([float(raw_rule.net_credit(v)[row]) for v in views])
        aligned = np.array([float(aligned_rule.net_credit(v)[row]) for v in views])
        lu, su = _log2_sum(-k, raw)
        ls, ss = _log2_sum(-k, aligned)
        lk, sk = _log2_sum(-kc, raw)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            shares = np.sign(raw) * np.exp2(-k + np.log2(np.abs(raw)) - lu) if su != 0 else np.full(len(k), np.nan)
        finite = np.where(np.isfinite(shares), shares, -np.inf)
        dominant = int(np.argmax(finite)) if su != 0 and np.isfinite(finite).any() else -1
        mix_u = float(np.mean(raw[np.isfinite(raw)])) if np.isfinite(raw).any() else math.nan
        mix_s = float(np.mean(aligned[np.isfinite(aligned)])) if np.isfinite(aligned).any() else math.nan
        values = (
            rule.spec,
            _value(lu, su),
            lu if su >= 0 else math.nan,
            _value(ls, ss),
            ls if ss >= 0 else math.nan,
            _difference(lu, su, ls, ss),
            _relative(lu, su, ls, ss),
            _value(lk, sk),
            lk if sk >= 0 else math.nan,
            _difference(lu, su, lk, sk),
            _relative(lu, su, lk, sk),
            slugs[dominant] if dominant >= 0 else None,
            float(shares[dominant]) if dominant >= 0 else math.nan,
            mix_u,
            mix_s,
            1.0 - mix_s / mix_u if mix_u != 0 and math.isfinite(mix_u) else math.nan,
        )
        rows.append(dict(zip(UNIVERSAL_COLUMNS, values, strict=True)))
        for i, e in enumerate(complexities):
            per_env.append(
                dict(
                    zip(
                        ENVIRONMENT_COLUMNS,
                        (
                            rule.spec,
                            e.slug,
                            e.k,
                            e.k_constitution,
                            float(np.exp2(log2_w[i])),
                            raw[i],
                            aligned[i],
                            float(shares[i]),
                        ),
                        strict=True,
                    )
                )
            )
    return UniversalCredit(
        who,
        tuple(complexities),
        pd.DataFrame(rows, columns=list(UNIVERSAL_COLUMNS)),
        pd.DataFrame(per_env, columns=list(ENVIRONMENT_COLUMNS)),
    )


def _g(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.4g}"


def relative_loss(log2_reference: float, log2_other: float) -> float:
    """``1 - other / reference`` from the log2 of two sums (``-inf`` for 0, NaN for a negative sum,
    as :attr:`UniversalCredit.table` has them): exact where both underflow.

    >>> relative_loss(-1000.0, -1001.0), relative_loss(-5.0, -math.inf), relative_loss(-math.inf, -1.0)
    (0.5, 1.0, nan)
    """
    if math.isnan(log2_reference) or math.isnan(log2_other) or log2_reference == -math.inf:
        return math.nan
    return 1.0 - math.exp2(log2_other - log2_reference) if log2_other > -math.inf else 1.0


def render_universal(u: UniversalCredit) -> list[Any]:
    """Rich renderables: the suite's K, then one row per rule (log2 of the sums, their relative tax,
    the dominant environment, the equal-weight mix). Rule specs and slugs are never read as markup."""
    from rich.table import Table

    from lineage.text import plain

    ks = ", ".join(f"{e.slug} K={e.k:.6g} (with its constitution {e.k_constitution:.6g})" for e in u.environments_k)
    t = Table(
        title=f"universal intelligence of agent {u.agent}'s credit, each rule applied per environment",
        title_justify="left",
    )
    heads = (
        "rule",
        "log2 Υ",
        "log2 Σ",
        "tax Σ (1-Σ/Υ)",
        "log2 Σ_K",
        "tax Σ_K",
        "dominant",
        "mix Υ",
        "mix Σ",
        "mix tax",
    )
    for i, h in enumerate(heads):
        t.add_column(h, justify="left" if i in (0, 6) else "right", overflow="fold")
    for r in u.table.to_dict("records"):
        dom = "-" if r["dominant"] is None else f"{r['dominant']} ({r['dominant_share']:.3g})"
        t.add_row(
            plain(r["rule"]),
            *(_g(r[c]) for c in ("log2_upsilon", "log2_sigma", "relative_tax", "log2_sigma_k", "relative_tax_k")),
            plain(dom),
            *(_g(r[c]) for c in ("mix_upsilon", "mix_sigma", "mix_relative_tax")),
        )
    return [
        plain(f"environments: {ks}"),
        t,
        plain(
            "Υ = Σ_e 2^-K_e credit_e (raw); Σ: the rule's transform, or V' = V·2^-D (alignment as the agent's "
            "imperative); Σ_K: raw credit weighted by 2^-K with each constitution's bits added "
            "(alignment as more environment complexity). mix: every environment weighted equally, "
            "a departure from Legg and Hutter, for a readable number when K differ by more than a few bits."
        ),
    ]
