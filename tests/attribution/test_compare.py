"""Tables, the CSV a run writes, compare() on examples/lineage.json, the plot, and the intelligence sums."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attribution import RuleSpecError, ValueDataError
from attribution.comparison import compare, gini, kendall_matrix
from attribution.intelligence import intelligence_table, universal_intelligence
from attribution.plot import plot_credit
from attribution.table import attribution_csv, attribution_table, write_attribution_csv
from lineage import LineageGraph

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lineage.json"


@pytest.fixture(scope="module")
def example() -> LineageGraph:
    return LineageGraph.load(EXAMPLE)


def test_table_is_in_lineage_path_order_with_one_column_per_spec() -> None:
    g = LineageGraph()
    g.add_agent("0", value=0.1)
    for k in (10, 2):  # inserted out of path order
        g.add_agent(f"0.{k}", parent="0", value=k / 20)
    t = attribution_table(g, ["self", "discounted:gamma=0.5"])
    assert t.index.tolist() == ["0", "0.2", "0.10"]
    assert t.columns.tolist() == ["self", "discounted:gamma=0.5"]
    assert t.loc["0", "discounted:gamma=0.5"] == pytest.approx(0.1 + 0.5 * (0.5 + 0.1))


def test_csv_bytes_are_fixed(tmp_path: Path) -> None:
    g = LineageGraph()
    g.add_agent("0", value=0.1)
    g.add_agent("0.0", parent="0", value=1 / 3)
    write_attribution_csv(g, ["self", "discounted:gamma=0.5,transform=multiplicative"], tmp_path / "a.csv")
    assert (tmp_path / "a.csv").read_bytes() == (
        b'agent,self,"discounted:gamma=0.5,transform=multiplicative"\n0,0.1,\n0.0,0.333333333333,\n'
    )
    assert not list(tmp_path.glob(".*tmp"))  # atomic: no temporary file left behind


def test_duplicate_and_empty_rule_lists_are_refused() -> None:
    g = LineageGraph()
    with pytest.raises(RuleSpecError, match="rule 'discounted' is given twice"):
        attribution_table(g, ["discounted", "discounted:gamma=0.9"])
    with pytest.raises(RuleSpecError, match="no rules given"):
        attribution_csv(g, [])


def test_gini_and_kendall_by_hand() -> None:
    assert gini([1, 1, 1, 1]) == 0.0
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)  # (n - 1) / n when one holds everything
    assert gini([1, 3]) == pytest.approx(0.25)  # |1-3| * 2 / (2 * 2**2 * 2)
    assert math.isnan(gini([0.0, np.nan]))
    t = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 2.0, 1.0], "c": [1.0, 3.0, 2.0]})
    k = kendall_matrix(t)
    assert k.loc["a", "b"] == -1.0 and k.loc["a", "a"] == 1.0
    assert k.loc["a", "c"] == pytest.approx(1 / 3)  # 2 concordant, 1 discordant of 3 pairs


def test_compare_on_the_example_lineage(example: LineageGraph) -> None:
    c = compare(example, ["self", "discounted", "cmp", "best-descendant:include_self=false", "shapley"])
    assert c.table.shape == (36, 5)
    assert c.leaders.loc["self", "agent"] == "0.2.1.0.0" and c.leaders.loc["self", "credit"] == 0.6966
    assert c.leaders.loc["discounted", "agent"] == "0"  # the founder of everything
    assert c.leaders.loc["shapley", "agent"] == "0"
    assert c.table["shapley"].sum() == pytest.approx(0.6966, abs=1e-12)  # efficiency
    assert c.alignment_tax["raw_best_agent"] == "0.2.1.0.0"
    assert c.alignment_tax["aligned_best_agent"] == "0.1.0.1.1.1"
    assert c.alignment_tax["tax"] == pytest.approx(0.6966 - 0.5381)
    assert np.allclose(np.diag(c.kendall.to_numpy()), 1.0)
    assert (c.kendall.to_numpy() == c.kendall.to_numpy().T).all()
    assert c.prediction is not None and set(c.prediction["cutoff_time"]) == {2089.0}
    assert c.prediction.loc["discounted", "kendall_tau"] > c.prediction.loc["self", "kendall_tau"]
    assert any("Monte Carlo over 1000 orderings (seed 0)" in n for n in c.notes)
    top = c.top(3)
    assert top.index[0] == "0.2.1.0.0" and len(top) <= 15


def test_prediction_by_hand() -> None:
    # At birth time 1 only 0, 0.0 and 0.1 exist; afterwards 0.0.0 (value 0.9) appears under 0.0.
    g = LineageGraph()
    g.add_agent("0", value=0.5, birth_time=0)
    g.add_agent("0.0", parent="0", value=0.1, birth_time=1)
    g.add_agent("0.1", parent="0", value=0.3, birth_time=1)
    g.add_agent("0.0.0", parent="0.0", value=0.9, birth_time=2)
    c = compare(g, ["self"], cutoff=0.5)
    assert c.prediction is not None
    # later best: 0 -> 0.9, 0.0 -> 0.9, 0.1 -> none; self at time 1: 0.5, 0.1 -> one pair, tied targets
    assert c.prediction.loc["self", "agents"] == 2
    assert c.prediction.loc["self", "cutoff_time"] == 1.0
    assert compare(LineageGraph(), ["self"]).prediction is None


def test_plot_writes_a_png(example: LineageGraph) -> None:
    png = plot_credit(example, attribution_table(example, ["self", "discounted"]), title="example")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_universal_intelligence_by_hand() -> None:
    est = universal_intelligence([1.0, 0.5, 0.0], [1.0, 2.0, 3.0], distance=[1.0, 0.0, 0.0])
    assert est.upsilon == pytest.approx(0.5 + 0.125)
    assert est.sigma == pytest.approx(0.25 + 0.125)
    assert est.weights.tolist() == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    assert est.shares.tolist() == pytest.approx([0.8, 0.2, 0.0]) and est.dominant == 0
    # Far beyond float range the log-space sum stays exact.
    big = universal_intelligence([1.0, 1.0], [5000.0, 5000.0])
    assert big.upsilon == 0.0 and big.log2_upsilon == pytest.approx(-4999.0)
    lag = universal_intelligence([0.1], [0.0], cost=[1.0], transform="lagrangian")
    assert lag.sigma == pytest.approx(-0.9) and math.isnan(lag.log2_sigma)
    assert math.isnan(universal_intelligence([0.5], [1.0]).sigma)  # no distances given
    with pytest.raises(ValueDataError, match="one per environment"):
        universal_intelligence([0.5, 0.5], [1.0])


def test_intelligence_table() -> None:
    v = pd.DataFrame({"a": [0.5, 0.0], "b": [1.0, 1.0]}, index=["0", "0.0"])
    d = pd.DataFrame({"a": [0.0, 0.0], "b": [1.0, 0.0]}, index=["0", "0.0"])
    t = intelligence_table(v, {"a": 1.0, "b": 2.0}, distance=d)
    assert t["sigma"].tolist() == pytest.approx([0.25 + 0.125, 0.25])
    with pytest.raises(ValueDataError, match=r"no complexity for environment\(s\) \['b'\]"):
        intelligence_table(v, {"a": 1.0})


# Any text as agent ids, control characters included (lone surrogates are refused by add_agent).
_IDS = st.lists(st.text(st.characters(codec="utf-8"), min_size=1, max_size=6), min_size=1, max_size=8, unique=True)


@settings(max_examples=40)
@given(ids=_IDS)
def test_attribution_csv_of_any_ids_reads_back_one_row_per_agent(ids: list[str]) -> None:
    import csv
    import io

    g = LineageGraph()
    for k, a in enumerate(ids):
        g.add_agent(a, parent=ids[(k - 1) // 2] if k else None, value=k / 10)
    text = attribution_csv(g, ["self", "discounted:gamma=0.5"])
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(ids) + 1 and sorted(r[0] for r in rows[1:]) == sorted(ids)
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert len(frame) == len(ids) and sorted(frame["agent"]) == sorted(ids)
    table = attribution_table(g, ["self"])
    assert [float(x) for x in frame["self"]] == pytest.approx(table.loc[frame["agent"], "self"].tolist())


def test_attribution_csv_quotes_an_id_holding_a_carriage_return() -> None:
    g = LineageGraph()
    g.add_agent("0", value=0.5)
    g.add_agent("\r", parent="0", value=1.0)
    assert attribution_csv(g, ["self"]) == 'agent,self\n0,0.5\n"\r",1\n'


def test_compare_reports_the_liability_beside_the_credit(example: LineageGraph) -> None:
    import json

    from attribution import parse_rule

    rules = ["self", "best-descendant:liability=1", "shapley:liability=0.5,penalty=distance", "clade-sum"]
    c = compare(example, rules)
    specs = ["self", "best-descendant:liability=1.0", "shapley:liability=0.5,penalty=distance", "clade-sum"]
    assert c.table.columns.tolist() == specs and c.liability.columns.tolist() == specs
    assert c.liability.index.tolist() == c.table.index.tolist()
    cost = pd.Series({a: float(example.attributes(a)["cost"]) for a in example})
    dist = pd.Series({a: float(example.attributes(a)["distance"]) for a in example})
    clade_cost = pd.Series({a: cost[example.clade(a)].sum() for a in example})
    clade_dist = pd.Series({a: dist[example.clade(a)].sum() for a in example})
    np.testing.assert_allclose(c.liability[specs[1]], clade_cost[c.table.index], rtol=1e-12)
    np.testing.assert_allclose(c.liability[specs[2]], 0.5 * clade_dist[c.table.index], rtol=1e-12)
    assert (c.liability["self"] == 0).all() and (c.liability["clade-sum"] == 0).all()
    # the credit is the rule's own (Monte Carlo Shapley included) minus what was charged
    for spec in specs:
        np.testing.assert_allclose(c.table[spec], parse_rule(spec)(example)[c.table.index], rtol=0, atol=0)
    base = compare(example, ["best-descendant"]).table["best-descendant"]
    np.testing.assert_allclose(c.table[specs[1]], base - clade_cost[c.table.index], rtol=1e-12)
    assert any(n.startswith("shapley:liability=0.5,penalty=distance: Monte Carlo") for n in c.notes)
    # leaders: an added column, the leader's liability
    assert c.leaders.columns.tolist() == ["agent", "credit", "gini", "liability"]
    first = c.leaders.loc[specs[1], "agent"]
    assert c.leaders.loc[specs[1], "liability"] == pytest.approx(clade_cost[first])
    assert c.leaders.loc[specs[1], "agent"] != "0"  # the root answers for all 36 agents' cost
    full = c.credit_and_liability()
    assert full.columns.tolist() == [*specs, *(f"liability[{s}]" for s in specs)]
    doc = c.to_dict()
    text = json.dumps(doc, allow_nan=False)  # data only: NaN became null
    assert json.loads(text)["table"][0] == {"agent": "0", **{k: float(v) for k, v in full.loc["0"].items()}}
    assert doc["rules"] == specs and doc["notes"] == list(c.notes)
    assert doc["prediction"]["self"]["agents"] == 9


def test_compare_without_liability_is_unchanged(example: LineageGraph) -> None:
    rules = ["self", "discounted", "cmp", "best-descendant:include_self=false", "shapley"]
    c = compare(example, rules)
    pd.testing.assert_frame_equal(c.table, attribution_table(example, rules))
    assert (c.liability.to_numpy() == 0).all() and (c.leaders["liability"] == 0).all()
    assert attribution_csv(example, rules) == attribution_csv(example, rules, liability=False)
    head = attribution_csv(example, ["self"], liability=True).splitlines()[:2]
    assert head == ["agent,self,liability[self]", "0,0.2,0"]


def test_liability_columns_and_nan_in_the_json_of_a_comparison() -> None:
    import json

    g = LineageGraph()
    g.add_agent("0", value=0.5, cost=0.0)
    g.add_agent("0.0", parent="0", value=0.9, cost=1.0)
    g.add_agent("0.1", parent="0", value=0.1)
    c = compare(g, ["best-descendant:include_self=false,liability=1", "nth-generation"])
    doc = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    rows = {r["agent"]: r for r in doc["table"]}
    # 0.0 is a leaf: no credit of its own to say, but liable for its cost; 0.1 has neither: null
    assert rows["0.0"]["best-descendant:include_self=false,liability=1.0"] == -1.0
    assert rows["0.1"]["best-descendant:include_self=false,liability=1.0"] is None
    assert rows["0"]["best-descendant:include_self=false,liability=1.0"] == pytest.approx(-0.1)
    assert rows["0"]["liability[best-descendant:include_self=false,liability=1.0]"] == 1.0
    assert rows["0.0"]["nth-generation"] is None and rows["0.0"]["liability[nth-generation]"] == 0.0
