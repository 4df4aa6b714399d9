"""Attribution: credit and blame for what a lineage achieves, from numbers and arrays only."""

from __future__ import annotations

from attribution.aiq import (
    StratifiedEstimate,
    aligned_scores,
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
from attribution.compare import Comparison, compare, gini, kendall_matrix
from attribution.distances import (
    DistanceInputError,
    alignment_distances,
    forbidden_occupancy,
    invariance_tv,
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
from attribution.plot import plot_credit, tree_layout
from attribution.rules import (
    CMP,
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
from attribution.table import attribution_csv, attribution_table, write_attribution_csv
from attribution.transforms import TRANSFORMS, transform_values
from attribution.tree import TreeArrays

__all__ = [
    "CMP",
    "RULES",
    "TRANSFORMS",
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
    "invariance_tv",
    "js_distance",
    "kendall_matrix",
    "kl_distance",
    "lineage_game",
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
    "transform_values",
    "tree_layout",
    "tv_distance",
    "universal_intelligence",
    "write_attribution_csv",
]
