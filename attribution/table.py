"""Credit tables: one column per rule, and the deterministic ``attribution.csv`` a run writes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from attribution.base import Rule, as_rule
from attribution.errors import RuleSpecError
from attribution.tree import TreeArrays, as_tree
from lineage import LineageArrays, LineageGraph, atomic_write

__all__ = [
    "attribution_csv",
    "attribution_table",
    "frame_csv",
    "liability_column",
    "liability_table",
    "resolve_rules",
    "rule_frame",
    "write_attribution_csv",
]


def liability_column(spec: str) -> str:
    """The name of a rule's liability column beside its credit column: ``liability[<spec>]``.

    The brackets keep it apart from any rule spec and from an agent attribute named ``liability``.

    Examples
    --------
    >>> liability_column("discounted:liability=1.0")
    'liability[discounted:liability=1.0]'
    """
    return f"liability[{spec}]"


def resolve_rules(rules: Iterable[str | Rule] | str | Rule) -> list[Rule]:
    """Rules from spec strings or rule objects; refuses an empty list and duplicates (same spec)."""
    items = [rules] if isinstance(rules, str | Rule) else list(rules)
    out = [as_rule(r) for r in items]
    if not out:
        raise RuleSpecError("no rules given; name at least one, e.g. 'discounted:gamma=0.5'")
    seen: set[str] = set()
    for r in out:
        if r.spec in seen:
            raise RuleSpecError(f"rule {r.spec!r} is given twice (specs are compared in canonical form)")
        seen.add(r.spec)
    return out


def attribution_table(
    lineage: LineageGraph | LineageArrays | TreeArrays, rules: Iterable[str | Rule] | str | Rule
) -> pd.DataFrame:
    """Credit of every agent under every rule: one column per canonical rule spec.

    Rows are agent ids in lineage-path order (``0.2`` before ``0.10``); for bare arrays, rows.

    Examples
    --------
    >>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.6)
    >>> attribution_table(g, ["self", "discounted:gamma=0.5"])
    rule   self  discounted:gamma=0.5
    agent
    0       0.2                   0.5
    0.0     0.6                   0.6
    """
    resolved = resolve_rules(rules)
    tree = as_tree(lineage)
    return rule_frame(tree, {r.spec: r.net_credit(tree) for r in resolved})


def liability_table(
    lineage: LineageGraph | LineageArrays | TreeArrays, rules: Iterable[str | Rule] | str | Rule
) -> pd.DataFrame:
    """The liability each rule charged every agent (``liability`` times the clade's penalty; 0
    for a rule with ``liability=0``), laid out as :func:`attribution_table`.

    Examples
    --------
    >>> g = LineageGraph(); g.add_agent("0", value=0.5, cost=0.0)
    >>> g.add_agent("0.0", parent="0", value=0.9, cost=1.0)
    >>> liability_table(g, ["self", "discounted:liability=1", "best-descendant:liability=0.5"])
    rule   self  discounted:liability=1.0  best-descendant:liability=0.5
    agent
    0       0.0                       0.9                            0.5
    0.0     0.0                       1.0                            0.5
    """
    resolved = resolve_rules(rules)
    tree = as_tree(lineage)
    return rule_frame(tree, {r.spec: r.assess(tree)[1] for r in resolved})


def rule_frame(tree: TreeArrays, columns: Mapping[str, npt.NDArray[np.float64]]) -> pd.DataFrame:
    """One column per rule spec, rows by agent in lineage-path order (rows for bare arrays)."""
    table = pd.DataFrame(dict(columns), index=tree.index())
    order = tree.path_order()
    if order is not None:
        table = table.iloc[order]
    table.columns.name = "rule"
    return table


def _cell(x: float) -> str:
    return "" if math.isnan(x) else "%.12g" % x  # noqa: UP031  # the same bytes on every platform


def attribution_csv(
    lineage: LineageGraph | LineageArrays | TreeArrays,
    rules: Iterable[str | Rule] | str | Rule,
    *,
    liability: bool = False,
) -> str:
    """:func:`attribution_table` as CSV text: an ``agent`` column, then one per rule spec; numbers
    with 12 significant digits, NaN as an empty cell, so the same lineage gives the same bytes.
    With ``liability=True``, then one :func:`liability_column` per rule (what ``compare --csv``
    writes).

    Examples
    --------
    >>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.6)
    >>> print(attribution_csv(g, ["self", "discounted:gamma=0.5", "nth-generation"]), end="")
    agent,self,discounted:gamma=0.5,nth-generation
    0,0.2,0.5,0.6
    0.0,0.6,0.6,
    >>> print(attribution_csv(g, ["self", "self:liability=1,penalty=value"], liability=True), end="")
    agent,self,"self:liability=1.0,penalty=value",liability[self],"liability[self:liability=1.0,penalty=value]"
    0,0.2,-0.6,0,0.8
    0.0,0.6,0,0,0.6
    """
    if not liability:
        return frame_csv(attribution_table(lineage, rules))
    tree = as_tree(lineage)
    assessed = {r.spec: r.assess(tree) for r in resolve_rules(rules)}
    columns = {spec: net for spec, (net, _) in assessed.items()}
    columns.update({liability_column(spec): charge for spec, (_, charge) in assessed.items()})
    return frame_csv(rule_frame(tree, columns))


def frame_csv(table: pd.DataFrame) -> str:
    """A table of numbers by agent as CSV text, in the format of :func:`attribution_csv`."""
    from lineage.text import csv_line

    # csv_line, not csv.writer: an agent id holding "\r" is quoted too, so readers see one row per agent.
    lines = [csv_line(["agent", *table.columns])]
    for agent, row in zip(table.index, table.itertuples(index=False), strict=True):
        lines.append(csv_line([agent, *(_cell(float(x)) for x in row)]))
    return "".join(lines)


def write_attribution_csv(
    lineage: LineageGraph | LineageArrays | TreeArrays,
    rules: Iterable[str | Rule] | str | Rule,
    path: str | Path,
) -> None:
    """Write :func:`attribution_csv` to ``path`` atomically (what ``lineage-sim run`` writes as
    ``attribution.csv`` when the config names ``[attribution] rules``)."""
    atomic_write(path, attribution_csv(lineage, rules))
