"""Attribution: credit and blame for what a lineage achieves, from numbers and arrays only."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attribution.aiq import (
        StratifiedEstimate,
        adaptive_allocation,
        adaptive_estimate,
        adaptive_stages,
        aligned_scores,
        pair_sds,
        paired_difference,
        proportional_allocation,
        stratified_estimate,
    )
    from attribution.base import (
        RULES,
        AttributionRule,
        Rule,
        as_rule,
        get_rule,
        parse_rule,
        register_rule,
        rule_names,
    )
    from attribution.comparison import Comparison, compare, gini, kendall_matrix
    from attribution.distances import (
        DistanceInputError,
        alignment_distances,
        forbidden_occupancy,
        invariance_distance,
        invariance_orbit_tv,
        invariance_tv,
        invariant_projection_distance,
        js_distance,
        kl_distance,
        projection_distance,
        sigma_from_allowed,
        tv_distance,
    )
    from attribution.errors import (
        AttributionError,
        RuleParameterError,
        RuleSpecError,
        UnknownRuleError,
        ValueDataError,
    )
    from attribution.intelligence import IntelligenceEstimate, intelligence_table, universal_intelligence
    from attribution.intervals import t_interval
    from attribution.plot import plot_credit, tree_layout
    from attribution.rules import (
        CMP,
        AncestorUtility,
        BestDescendant,
        CladeMean,
        CladeSum,
        Discounted,
        DiscountedMean,
        Marginal,
        NthGeneration,
        SelfRule,
        Shapley,
    )
    from attribution.shapley import ShapleyEstimate, lineage_game, shapley_exact, shapley_monte_carlo
    from attribution.table import attribution_csv, attribution_table, liability_table, write_attribution_csv
    from attribution.transforms import TRANSFORMS, transform_values
    from attribution.tree import TreeArrays

# Names are loaded on first use (PEP 562): importing one piece, say the alignment distances, does
# not pay for pandas, scipy and matplotlib, which an agent process never needs.
_LAZY: dict[str, str] = {
    "t_interval": "attribution.intervals",
    "adaptive_allocation": "attribution.aiq",
    "adaptive_estimate": "attribution.aiq",
    "adaptive_stages": "attribution.aiq",
    "pair_sds": "attribution.aiq",
    "AncestorUtility": "attribution.rules",
    "AttributionError": "attribution.errors",
    "AttributionRule": "attribution.base",
    "BestDescendant": "attribution.rules",
    "CMP": "attribution.rules",
    "CladeMean": "attribution.rules",
    "CladeSum": "attribution.rules",
    "Comparison": "attribution.comparison",
    "Discounted": "attribution.rules",
    "DiscountedMean": "attribution.rules",
    "DistanceInputError": "attribution.distances",
    "IntelligenceEstimate": "attribution.intelligence",
    "Marginal": "attribution.rules",
    "NthGeneration": "attribution.rules",
    "RULES": "attribution.base",
    "Rule": "attribution.base",
    "RuleParameterError": "attribution.errors",
    "RuleSpecError": "attribution.errors",
    "SelfRule": "attribution.rules",
    "Shapley": "attribution.rules",
    "ShapleyEstimate": "attribution.shapley",
    "StratifiedEstimate": "attribution.aiq",
    "TRANSFORMS": "attribution.transforms",
    "TreeArrays": "attribution.tree",
    "UnknownRuleError": "attribution.errors",
    "ValueDataError": "attribution.errors",
    "aligned_scores": "attribution.aiq",
    "alignment_distances": "attribution.distances",
    "as_rule": "attribution.base",
    "attribution_csv": "attribution.table",
    "attribution_table": "attribution.table",
    "liability_table": "attribution.table",
    "compare": "attribution.comparison",
    "forbidden_occupancy": "attribution.distances",
    "get_rule": "attribution.base",
    "gini": "attribution.comparison",
    "intelligence_table": "attribution.intelligence",
    "invariance_distance": "attribution.distances",
    "invariance_orbit_tv": "attribution.distances",
    "invariance_tv": "attribution.distances",
    "invariant_projection_distance": "attribution.distances",
    "js_distance": "attribution.distances",
    "kendall_matrix": "attribution.comparison",
    "kl_distance": "attribution.distances",
    "lineage_game": "attribution.shapley",
    "paired_difference": "attribution.aiq",
    "parse_rule": "attribution.base",
    "plot_credit": "attribution.plot",
    "projection_distance": "attribution.distances",
    "proportional_allocation": "attribution.aiq",
    "register_rule": "attribution.base",
    "rule_names": "attribution.base",
    "shapley_exact": "attribution.shapley",
    "shapley_monte_carlo": "attribution.shapley",
    "sigma_from_allowed": "attribution.distances",
    "stratified_estimate": "attribution.aiq",
    "transform_values": "attribution.transforms",
    "tree_layout": "attribution.plot",
    "tv_distance": "attribution.distances",
    "universal_intelligence": "attribution.intelligence",
    "write_attribution_csv": "attribution.table",
}

__all__ = [
    "CMP",
    "RULES",
    "TRANSFORMS",
    "AncestorUtility",
    "AttributionError",
    "AttributionRule",
    "BestDescendant",
    "CladeMean",
    "CladeSum",
    "Comparison",
    "Discounted",
    "DiscountedMean",
    "DistanceInputError",
    "IntelligenceEstimate",
    "Marginal",
    "NthGeneration",
    "Rule",
    "RuleParameterError",
    "RuleSpecError",
    "SelfRule",
    "Shapley",
    "ShapleyEstimate",
    "StratifiedEstimate",
    "TreeArrays",
    "UnknownRuleError",
    "ValueDataError",
    "adaptive_allocation",
    "adaptive_estimate",
    "adaptive_stages",
    "aligned_scores",
    "alignment_distances",
    "as_rule",
    "attribution_csv",
    "attribution_table",
    "compare",
    "forbidden_occupancy",
    "get_rule",
    "gini",
    "intelligence_table",
    "invariance_distance",
    "invariance_orbit_tv",
    "invariance_tv",
    "invariant_projection_distance",
    "js_distance",
    "kendall_matrix",
    "kl_distance",
    "liability_table",
    "lineage_game",
    "pair_sds",
    "paired_difference",
    "parse_rule",
    "plot_credit",
    "projection_distance",
    "proportional_allocation",
    "register_rule",
    "rule_names",
    "shapley_exact",
    "shapley_monte_carlo",
    "sigma_from_allowed",
    "stratified_estimate",
    "t_interval",
    "transform_values",
    "tree_layout",
    "tv_distance",
    "universal_intelligence",
    "write_attribution_csv",
]


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'attribution' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
