"""Rules by name and spec string: lookup, validation, round trips, and the error messages."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from attribution import (
    RULES,
    AttributionError,
    AttributionRule,
    Discounted,
    RuleParameterError,
    RuleSpecError,
    UnknownRuleError,
    as_rule,
    get_rule,
    parse_rule,
    rule_names,
)

ISSUE_RULES = [
    "self",
    "discounted",
    "discounted-mean",
    "clade-mean",
    "cmp",
    "best-descendant",
    "nth-generation",
    "marginal",
    "shapley",
]


def test_every_rule_of_the_issue_is_registered_with_its_pinned_defaults() -> None:
    assert set(ISSUE_RULES) <= set(rule_names())
    assert get_rule("discounted").gamma == 0.9  # type: ignore[attr-defined]
    assert get_rule("best-descendant").include_self is True  # type: ignore[attr-defined]
    assert get_rule("nth-generation").n == 1  # type: ignore[attr-defined]
    assert get_rule("marginal").baseline == 0.0  # type: ignore[attr-defined]
    r = get_rule("self")
    assert (r.transform, r.w, r.value, r.distance, r.cost) == ("raw", 1.0, "value", "distance", "cost")
    assert get_rule("cmp").successes == "successes" and get_rule("cmp").trials == "trials"  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ISSUE_RULES)
def test_rules_are_frozen_picklable_and_satisfy_the_protocol(name: str) -> None:
    rule = get_rule(name)
    assert isinstance(rule, AttributionRule)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.transform = "additive"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(rule)) == rule
    assert parse_rule(rule.spec) == rule and rule.spec == name


@pytest.mark.parametrize(
    "spec",
    [
        "discounted:gamma=0.5",
        "discounted:gamma=0.5,transform=multiplicative",
        "best-descendant:include_self=false",
        "nth-generation:n=3",
        "marginal:baseline=-0.25",
        "shapley:samples=50,seed=7,exact_max=4",
        "cmp:successes=wins,trials=games,transform=lagrangian,lam=0.5",
        "self:transform=additive,w=2.5,distance=kl",
    ],
)
def test_spec_round_trips(spec: str) -> None:
    rule = parse_rule(spec)
    assert rule.spec == spec
    assert parse_rule(rule.spec) == rule == get_rule(spec) == as_rule(spec) == as_rule(rule)


def test_spec_is_canonical() -> None:
    assert parse_rule(" discounted : gamma = 0.9 ").spec == "discounted"  # the default is left out
    assert (
        parse_rule("discounted:transform=additive,gamma=1").spec == "discounted:gamma=1.0,transform=additive"
    )
    assert get_rule("discounted:gamma=0.5", gamma=0.25) == Discounted(gamma=0.25)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: get_rule("discountd"),
            UnknownRuleError,
            r"unknown rule 'discountd'; known rules: self, .*shapley.*"
            r"\(did you mean 'discounted'\?\)",
        ),
        (
            lambda: get_rule("zzz"),
            UnknownRuleError,
            r"unknown rule 'zzz'; known rules: self, discounted, [^(]*$",
        ),
        (lambda: parse_rule("shaply:seed=1"), UnknownRuleError, r"did you mean 'shapley'"),
        (
            lambda: get_rule("discounted", gama=0.5),
            RuleParameterError,
            r"discounted: unknown parameter 'gama'; "
            r"accepted: gamma, transform, w, lam, value, distance, cost, liability, penalty "
            r"\(did you mean 'gamma'\?\)",
        ),
        (
            lambda: get_rule("discounted", gamma=1.5),
            RuleParameterError,
            r"discounted: gamma must be a number in \[0, 1\], got 1\.5",
        ),
        (
            lambda: parse_rule("discounted:gamma=abc"),
            RuleParameterError,
            r"gamma must be a number in \[0, 1\], got 'abc'",
        ),
        (lambda: get_rule("discounted", gamma=True), RuleParameterError, r"got True"),
        (lambda: get_rule("discounted", gamma=float("nan")), RuleParameterError, r"got nan"),
        (
            lambda: parse_rule("self:transform=multiplicativ"),
            RuleParameterError,
            r"self: unknown transform 'multiplicativ'; accepted: raw, multiplicative, additive, lagrangian "
            r"\(did you mean 'multiplicative'\?\)",
        ),
        (
            lambda: parse_rule("self:w=-1"),
            RuleParameterError,
            r"self: w must be a finite number >= 0, got -1\.0|got -1",
        ),
        (
            lambda: parse_rule("nth-generation:n=1.5"),
            RuleParameterError,
            r"n must be a whole number >= 0, got 1\.5",
        ),
        (
            lambda: parse_rule("nth-generation:n=-1"),
            RuleParameterError,
            r"n must be a whole number >= 0, got -1",
        ),
        (
            lambda: parse_rule("best-descendant:include_self=1"),
            RuleParameterError,
            r"include_self must be true or false",
        ),
        (
            lambda: parse_rule("marginal:baseline=inf"),
            RuleParameterError,
            r"baseline must be a finite number",
        ),
        (
            lambda: parse_rule("shapley:samples=0"),
            RuleParameterError,
            r"samples must be a whole number >= 1, got 0",
        ),
        (
            lambda: parse_rule("shapley:exact_max=30"),
            RuleParameterError,
            r"exact_max must be .*<= 16, got 30",
        ),
        (
            lambda: parse_rule("cmp:value=x"),
            RuleParameterError,
            r"cmp: unknown parameter 'value'; accepted: successes, trials, transform",
        ),
        (lambda: parse_rule("self:value=a,b"), RuleSpecError, r"expected key=value, got 'b'"),
        (lambda: parse_rule("self:value="), RuleSpecError, r"expected key=value, got 'value='"),
        (lambda: parse_rule("self:w=1,w=2"), RuleSpecError, r"parameter 'w' given twice"),
        (lambda: parse_rule(""), RuleSpecError, r"a rule spec is 'name' or 'name:key=value,...', got ''"),
        (lambda: get_rule("self", value=""), RuleParameterError, r"value must be an attribute name"),
        (lambda: as_rule(3), RuleSpecError, r"got 3"),  # type: ignore[arg-type]
        (
            lambda: parse_rule("shapley:liability=-1"),
            RuleParameterError,
            r"shapley: liability must be a finite number >= 0, got -1",
        ),
        (lambda: parse_rule("cmp:liability=inf"), RuleParameterError, r"cmp: liability must be .* got inf"),
        (lambda: parse_rule("self:liability=nan"), RuleParameterError, r"liability must be .* got nan"),
        (lambda: parse_rule("self:liability=high"), RuleParameterError, r"liability must be .* got 'high'"),
        (lambda: get_rule("self", liability=True), RuleParameterError, r"liability must be .* got True"),
        (
            lambda: get_rule("marginal", penalty="a b"),
            RuleParameterError,
            r"marginal: penalty must be an attribute name .* got 'a b'",
        ),
        (lambda: get_rule("self", penalty=3), RuleParameterError, r"penalty must be an attribute name"),
        (
            lambda: get_rule("best-descendant", liabilty=1),
            RuleParameterError,
            r"unknown parameter 'liabilty'.*\(did you mean 'liability'\?\)",
        ),
    ],
)
def test_bad_names_and_parameters_are_refused_clearly(call, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=message) as info:
        call()
    assert isinstance(info.value, AttributionError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("name", [*ISSUE_RULES, "clade-sum"])
def test_every_rule_takes_liability_and_penalty_and_spells_them_canonically(name: str) -> None:
    rule = get_rule(name, liability=2, penalty="train_cost")
    assert (rule.liability, rule.penalty) == (2.0, "train_cost")
    assert rule.spec == f"{name}:liability=2.0,penalty=train_cost"
    assert parse_rule(rule.spec) == rule
    # the defaults leave the spec, and so every column name and file, exactly as before
    assert get_rule(name, liability=0, penalty="cost").spec == name
    assert (get_rule(name).liability, get_rule(name).penalty) == (0.0, "cost")


def test_registry_lists_rules_in_registration_order() -> None:
    assert rule_names() == list(RULES) and rule_names()[0] == "self"
