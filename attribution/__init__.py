"""Attribution: credit and blame for what a lineage achieves, from numbers and arrays only."""

from __future__ import annotations

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
from attribution.errors import (
    AttributionError,
    RuleParameterError,
    RuleSpecError,
    UnknownRuleError,
    ValueDataError,
)
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
    "Discounted",
    "DiscountedMean",
    "Marginal",
    "NthGeneration",
    "Rule",
    "RuleParameterError",
    "RuleSpecError",
    "SelfRule",
    "Shapley",
    "ShapleyEstimate",
    "TreeArrays",
    "UnknownRuleError",
    "ValueDataError",
    "as_rule",
    "get_rule",
    "lineage_game",
    "parse_rule",
    "register_rule",
    "rule_names",
    "shapley_exact",
    "shapley_monte_carlo",
    "transform_values",
]
