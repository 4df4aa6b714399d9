"""Rules side by side: credit table, rank correlation, leaders, alignment tax, concentration, and
how well each rule computed earlier predicts what a clade later reached."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from attribution.base import Rule
from attribution.errors import RuleParameterError
from attribution.rules import Shapley
from attribution.table import liability_column, resolve_rules, rule_frame
from attribution.transforms import check_transform, transform_values
from attribution.tree import TreeArrays, as_tree, clade_max
from lineage import LineageArrays, LineageGraph, path_key

__all__ = ["Comparison", "compare", "gini", "kendall_matrix"]

FloatArray = npt.NDArray[np.float64]


def gini(credit: npt.ArrayLike) -> float:
    """Gini coefficient of how concentrated credit is: 0 when all share equally, near 1 when one
    agent holds it all. Computed on magnitudes (a penalty concentrates as much as a reward);
    NaN ignored; NaN when there is no credit at all.

    Examples
    --------
    >>> gini([1.0, 1.0, 1.0]), gini([0.0, 0.0, 3.0]), gini([1.0, -1.0])
    (0.0, 0.6666666666666667, 0.0)
    """
    x = np.abs(np.asarray(credit, dtype=np.float64))
    x = np.sort(x[~np.isnan(x)])
    n = len(x)
    if n == 0 or x.sum() == 0:
        return math.nan
    ranks = np.arange(1, n + 1)
    return float((2.0 * np.sum(ranks * x)) / (n * x.sum()) - (n + 1.0) / n)


def _tau(a: FloatArray, b: FloatArray) -> float:
    both = ~np.isnan(a) & ~np.isnan(b)
    if both.sum() < 2:
        return math.nan
    from scipy.stats import kendalltau  # imported here: scipy.stats is slow to import

    res = kendalltau(a[both], b[both])
    return float(res.statistic)


def kendall_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau-b between every pair of columns, on the agents both rules credit."""
    cols = list(table.columns)
    data = {c: table[c].to_numpy(dtype=float) for c in cols}
    out = pd.DataFrame(np.nan, index=pd.Index(cols, name="rule"), columns=cols)
    for i, a in enumerate(cols):
        for b in cols[i:]:
            t = 1.0 if a == b and (~np.isnan(data[a])).sum() >= 2 else _tau(data[a], data[b])
            out.loc[a, b] = out.loc[b, a] = t
    return out


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What :func:`compare` found. Every frame is indexed by agent id or by rule spec."""

    #: credit per agent (rows, lineage-path order) per rule (columns)
    table: pd.DataFrame
    #: Kendall tau between every pair of rules
    kendall: pd.DataFrame
    #: per rule: the agent that comes first, its credit, the Gini coefficient of the credit, and the
    #: liability subtracted from the first agent's credit
    leaders: pd.DataFrame
    #: best raw value against best aligned value, whom each picks, and what choosing aligned costs
    alignment_tax: dict[str, Any]
    #: per rule: Kendall tau between credit computed at ``cutoff_time`` and the best value that
    #: each agent's clade reached after it; ``None`` without birth times
    prediction: pd.DataFrame | None
    #: how estimates were made (Monte Carlo Shapley: orderings, seed, largest standard error)
    notes: tuple[str, ...] = ()
    #: per agent (rows, as ``table``) per rule (columns): the liability each rule subtracted from
    #: the credit in ``table`` (``liability`` times the clade's penalty; 0 for ``liability=0``)
    liability: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)

    def credit_and_liability(self) -> pd.DataFrame:
        """``table`` followed by one ``liability[<rule>]`` column per rule (see
        :func:`~attribution.table.liability_column`): what ``compare --csv`` writes."""
        charged = self.liability.reindex(index=self.table.index, columns=self.table.columns, fill_value=0.0)
        out = pd.concat([self.table, charged.rename(columns=liability_column)], axis=1)
        out.columns.name = "rule"
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON data (NaN as ``None``): what ``compare --json`` writes.

        ``table`` holds one record per agent with its ``agent`` id, then the credit under each rule
        and each rule's ``liability[<rule>]``, the columns of :meth:`credit_and_liability`.
        """

        def num(x: Any) -> Any:
            if x is None:
                return None
            if isinstance(x, numbers.Integral) and not isinstance(x, bool):
                return int(x)
            if isinstance(x, numbers.Real) and not isinstance(x, bool):
                return None if math.isnan(float(x)) else float(x)
            return x

        def frame(df: pd.DataFrame | None) -> dict[str, dict[str, Any]] | None:
            if df is None:
                return None
            return {str(r): {str(k): num(v) for k, v in row.items()} for r, row in df.iterrows()}

        full = self.credit_and_liability()
        records = [
            {"agent": num(agent), **{str(k): num(v) for k, v in row.items()}} for agent, row in full.iterrows()
        ]
        return {
            "rules": [str(c) for c in self.table.columns],
            "table": records,
            "leaders": frame(self.leaders),
            "kendall": frame(self.kendall),
            "alignment_tax": {k: num(v) for k, v in self.alignment_tax.items()},
            "prediction": frame(self.prediction),
            "notes": list(self.notes),
        }

    def top(self, n: int = 10) -> pd.DataFrame:
        """Agents that rank in the first ``n`` under any rule, ordered by the first rule's credit."""
        if self.table.empty:
            return self.table
        keep: set[Any] = set()
        for c in self.table.columns:
            keep.update(self.table[c].dropna().sort_values(ascending=False, kind="stable").index[:n])
        first = self.table.columns[0]
        rows = self.table.loc[[a for a in self.table.index if a in keep]]
        return rows.sort_values(first, ascending=False, kind="stable", na_position="last")

    def __rich__(self) -> Any:
        from rich.console import Group

        return Group(*render_comparison(self))


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return "nan" if math.isnan(x) else f"{x:.4g}"
    return str(x)


def render_comparison(c: Comparison, top: int = 10) -> list[Any]:
    """Rich tables: top agents, leaders with Gini and prediction, rank correlations, alignment tax.

    Agent ids and rule specs are shown with control characters escaped and never read as markup.
    """
    from rich.table import Table

    from lineage.text import plain

    def cell(x: Any) -> Any:
        return plain(x if isinstance(x, str) else _fmt(x))

    out: list[Any] = []
    t = Table(
        title=f"credit per rule (top {top} under any rule), and the liability each rule subtracted",
        title_justify="left",
    )
    t.add_column("agent", overflow="fold")
    full = c.credit_and_liability()
    for col in full.columns:
        t.add_column(cell(str(col)), justify="right", overflow="fold")
    for agent, row in full.loc[c.top(top).index].iterrows():
        t.add_row(cell(str(agent)), *(_fmt(float(x)) for x in row))
    out.append(t)

    t = Table(title="who comes first", title_justify="left")
    for name, just in (
        ("rule", "left"),
        ("first", "left"),
        ("credit", "right"),
        ("liability", "right"),
        ("gini", "right"),
    ):
        t.add_column(name, justify=just, overflow="fold")  # type: ignore[arg-type]
    if c.prediction is not None:
        t.add_column("predicts later best (tau)", justify="right")
        t.add_column("agents", justify="right")
    for rule, row in c.leaders.iterrows():
        cells = [
            cell(str(rule)),
            cell(_fmt(row["agent"])),
            _fmt(row["credit"]),
            _fmt(row.get("liability", 0.0)),
            _fmt(row["gini"]),
        ]
        if c.prediction is not None:
            cells += [_fmt(c.prediction.loc[rule, "kendall_tau"]), str(int(c.prediction.loc[rule, "agents"]))]
        t.add_row(*cells)
    out.append(t)

    t = Table(title="rank correlation (Kendall tau)", title_justify="left")
    t.add_column("", overflow="fold")
    for col in c.kendall.columns:
        t.add_column(cell(str(col)), justify="right", overflow="fold")
    for rule, row in c.kendall.iterrows():
        t.add_row(cell(str(rule)), *(_fmt(float(x)) for x in row))
    out.append(t)

    tax = c.alignment_tax
    out.append(
        plain(
            f"alignment tax ({tax['transform']}): best raw value {_fmt(tax['raw_best_value'])} "
            f"({_fmt(tax['raw_best_agent'])}), best aligned value {_fmt(tax['aligned_best_value'])} "
            f"({_fmt(tax['aligned_best_agent'])}, raw {_fmt(tax['aligned_pick_raw_value'])}); "
            f"tax {_fmt(tax['tax'])}"
        )
    )
    if c.prediction is not None and len(c.prediction):
        cut = c.prediction["cutoff_time"].iloc[0]
        out.append(
            plain(
                f"prediction: rules computed on the lineage as it stood at birth time {_fmt(cut)}, "
                "against the best value each agent's clade reached afterwards"
            )
        )
    out.extend(plain(n) for n in c.notes)
    return out


def _ids(tree: TreeArrays, rows: npt.NDArray[np.int64]) -> list[Any]:
    return [int(i) if tree.ids is None else tree.ids[int(i)] for i in rows]


def _best(values: FloatArray, tree: TreeArrays) -> tuple[Any, float]:
    if np.all(np.isnan(values)):
        return None, math.nan
    top = np.nanmax(values)
    rows = np.flatnonzero(values == top)
    agents = sorted(_ids(tree, rows), key=lambda a: path_key(str(a)))
    return agents[0], float(top)


def compare(
    lineage: LineageGraph | LineageArrays | TreeArrays,
    rules: Iterable[str | Rule] | str | Rule,
    *,
    aligned: str = "multiplicative",
    value: str = "value",
    distance: str = "distance",
    cost: str = "cost",
    birth_time: str = "birth_time",
    cutoff: float = 0.5,
) -> Comparison:
    """Compare attribution rules on one lineage.

    Parameters
    ----------
    rules
        Spec strings or rules; one column each.
    aligned
        The transform that defines the aligned value for the alignment tax.
    value, distance, cost, birth_time
        Attribute names.
    cutoff
        Where, as a quantile of birth times, the earlier lineage is cut for the prediction check:
        each rule is computed on the agents born by then (and their ancestors), and Kendall's tau
        is taken against the best value among each agent's descendants born after the cut.

    Examples
    --------
    >>> g = LineageGraph(); g.add_agent("0", value=0.2, distance=0.0)
    >>> g.add_agent("0.0", parent="0", value=0.6, distance=2.0)
    >>> g.add_agent("0.1", parent="0", value=0.4, distance=0.0)
    >>> c = compare(g, ["self", "discounted"])
    >>> c.leaders["agent"].tolist(), c.alignment_tax["aligned_best_agent"], round(c.alignment_tax["tax"], 6)
    (['0.0', '0'], '0.1', 0.2)
    """
    resolved = resolve_rules(rules)
    check_transform(aligned)
    if not 0.0 <= cutoff <= 1.0:
        raise RuleParameterError(f"cutoff is a quantile of birth times in [0, 1], got {cutoff!r}")
    tree = as_tree(lineage)
    credit: dict[str, FloatArray] = {}
    charged: dict[str, FloatArray] = {}
    notes = []
    for r in resolved:
        if isinstance(r, Shapley) and len(tree) > r.exact_max:
            est = r.estimate(tree)
            credit[r.spec], charged[r.spec] = r.apply_liability(tree, est.credit)
            notes.append(
                f"{r.spec}: Monte Carlo over {est.samples} orderings (seed {est.seed}), "
                f"largest standard error {float(est.stderr.max()):.2g}"
            )
        else:
            credit[r.spec], charged[r.spec] = r.assess(tree)
    table = rule_frame(tree, credit)
    liability = rule_frame(tree, charged)

    leaders = []
    for col in table.columns:
        s = table[col].dropna()
        if s.empty:
            leaders.append({"rule": col, "agent": None, "credit": math.nan, "gini": math.nan, "liability": math.nan})
            continue
        best = s.max()
        first = next(a for a in s.index if s[a] == best)  # table is in lineage-path order
        leaders.append(
            {
                "rule": col,
                "agent": first,
                "credit": float(best),
                "gini": gini(s.to_numpy()),
                "liability": float(liability.loc[first, col]),
            }
        )
    leader_frame = pd.DataFrame(leaders, columns=["rule", "agent", "credit", "gini", "liability"]).set_index("rule")

    raw = tree.column(value)
    try:
        al = transform_values(raw, distance=tree.column(distance), cost=tree.column(cost), transform=aligned)
    except Exception:  # negative distances etc.: the rules already report these when they read them
        al = np.full(len(raw), np.nan)
    raw_agent, raw_best = _best(raw, tree)
    al_agent, al_best = _best(al, tree)
    if al_agent is None:
        pick_raw = math.nan
    else:
        row = al_agent if tree.ids is None else list(tree.ids).index(al_agent)
        pick_raw = float(raw[row])
    tax = {
        "transform": aligned,
        "raw_best_agent": raw_agent,
        "raw_best_value": raw_best,
        "aligned_best_agent": al_agent,
        "aligned_best_value": al_best,
        "aligned_pick_raw_value": pick_raw,
        "tax": raw_best - pick_raw,
    }

    prediction = _prediction(tree, resolved, value, birth_time, cutoff)
    return Comparison(table, kendall_matrix(table), leader_frame, tax, prediction, tuple(notes), liability)


def _prediction(
    tree: TreeArrays, rules: list[Rule], value: str, birth_time: str, cutoff: float
) -> pd.DataFrame | None:
    born = tree.column(birth_time)
    if len(tree) == 0 or np.all(np.isnan(born)):
        return None
    cut = float(np.nanquantile(born, cutoff, method="lower"))
    keep = born <= cut
    for level in tree.levels[1:]:
        keep[level] &= keep[tree.parent[level]]
    later = np.where(born > cut, tree.column(value), np.nan)
    target = clade_max(tree, later)[keep]
    earlier = tree.subset(keep)
    rows = []
    for r in rules:
        credit = r.net_credit(earlier)
        both = ~np.isnan(credit) & ~np.isnan(target)
        rows.append(
            {
                "rule": r.spec,
                "kendall_tau": _tau(credit, target),
                "agents": int(both.sum()),
                "cutoff_time": cut,
            }
        )
    return pd.DataFrame(rows).set_index("rule")
