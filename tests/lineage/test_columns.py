"""The columnar record against a plain dict-per-agent reference, and lineage.parquet read back exactly."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lineage.parquet as lp
from lineage import LineageFileError, LineageGraph, to_alife_csv, to_json
from lineage.arrays import depth_of

NAMES = ["value", "cost", "kind", "n", "ok", "tasks"]
VALUES = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.text(max_size=4),
)


@st.composite
def operations(draw: Any) -> list[tuple[str, Any, Any, dict[str, Any]]]:
    """Births (with attributes of any accepted type, a column changing type on the way) and updates."""
    ops: list[tuple[str, Any, Any, dict[str, Any]]] = []
    n = draw(st.integers(1, 25))
    for i in range(n):
        attrs = draw(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4))
        parent = None if i == 0 or draw(st.integers(0, 6)) == 0 else str(draw(st.integers(0, i - 1)))
        op = draw(st.sampled_from([None, "mutate", "finetune"]))
        ops.append(("add", str(i), (parent, op), attrs))
        if draw(st.integers(0, 3)) == 0:
            target = str(draw(st.integers(0, i)))
            ops.append(("update", target, None, draw(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=2))))
    return ops


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _apply(ops: list[tuple[str, Any, Any, dict[str, Any]]]) -> tuple[LineageGraph, dict[str, Any]]:
    """The lineage, and the obviously correct reference: one dict per agent."""
    g = LineageGraph(seed=1, name="ref")
    ref: dict[str, Any] = {}
    for kind, agent, extra, attrs in ops:
        if kind == "add":
            parent, op = extra
            g.add_agent(agent, parent=parent, operator=op, **attrs)
            kept = {k: v for k, v in attrs.items() if not _missing(v)}
            ref[agent] = (parent, op if parent is not None else None, kept)
        else:
            g.update(agent, **attrs)
            for k, v in attrs.items():
                if _missing(v):
                    ref[agent][2].pop(k, None)
                else:
                    ref[agent][2][k] = v
    return g, ref


def _reference_json(ref: dict[str, Any]) -> str:
    data = {
        "directed": True,
        "multigraph": False,
        "graph": {"name": "ref", "seed": 1},
        "nodes": [{"id": a, **dict(sorted(attrs.items()))} for a, (_, _, attrs) in ref.items()],
        "edges": [
            {"source": p, "target": a, **({} if op is None else {"operator": op})}
            for a, (p, op, _) in ref.items()
            if p is not None
        ],
    }
    return json.dumps(data, indent=1, allow_nan=True) + "\n"


@settings(max_examples=30, deadline=None)
@given(operations())
def test_columns_hold_what_a_dict_per_agent_holds(ops: list[tuple[str, Any, Any, dict[str, Any]]]) -> None:
    g, ref = _apply(ops)
    assert to_json(g) == _reference_json(ref)
    for i, (a, (parent, op, attrs)) in enumerate(ref.items()):
        got = g.attributes(a)
        assert got == attrs and [type(v) for v in got.values()] == [type(attrs[k]) for k in got]
        assert g.parent(a) == parent and g.operator(a) == op
        for name in NAMES:
            assert g.get(a, name) == attrs.get(name) and type(g.get(a, name)) is type(attrs.get(name))
            assert g.values(name)[i] == attrs.get(name)
            want = attrs.get(name)
            number = float(want) if want is not None and not isinstance(want, str) else math.nan
            np.testing.assert_equal(g.column(name)[i], number)
    assert g.attribute_names() == sorted({k for _, _, attrs in ref.values() for k in attrs})
    view = g.graph  # the networkx view built from the columns, then kept in step
    assert dict(view.nodes(data=True)) == {a: attrs for a, (_, _, attrs) in ref.items()}


@settings(max_examples=30, deadline=None)
@given(operations())
def test_parquet_round_trip_is_exact_and_its_bytes_depend_on_the_lineage_alone(
    ops: list[tuple[str, Any, Any, dict[str, Any]]],
) -> None:
    g, _ = _apply(ops)
    data = lp.to_parquet(g)
    back = _read(data)
    assert back == g and to_json(back) == to_json(g) and to_alife_csv(back) == to_alife_csv(g)
    assert lp.to_parquet(back) == data  # read back and written again: the same bytes
    rebuilt = LineageGraph(**g.metadata)  # the same lineage recorded afresh, in one pass
    for a in g:
        rebuilt.add_agent(a, parent=g.parent(a), operator=g.operator(a), **g.attributes(a))
    assert lp.to_parquet(rebuilt) == data


def _read(data: bytes, tmp: Path | None = None) -> LineageGraph:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "l.parquet"
        p.write_bytes(data)
        return LineageGraph.load(p)


def test_row_groups_are_cut_by_agent_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lp, "ROW_GROUP", 10)
    g = LineageGraph()
    for i in range(25):
        g.add_agent(str(i), parent=None if i == 0 else str(i // 2), value=i / 3, label=f"x{i % 3}")
    lp.save_parquet(g, tmp_path / "l.parquet")
    meta = pq.ParquetFile(tmp_path / "l.parquet").metadata
    assert [meta.row_group(k).num_rows for k in range(meta.num_row_groups)] == [10, 10, 5]
    assert LineageGraph.load(tmp_path / "l.parquet") == g


def test_pandas_reads_lineage_parquet(tmp_path: Path) -> None:
    g = LineageGraph(seed=2)
    g.add_agent("0", value=0.5, kind="q")
    g.add_agent("0.0", parent="0", operator="mutate", value=0.75, n=3, ok=True)
    lp.save_parquet(g, tmp_path / "l.parquet")
    import pandas as pd

    df = pd.read_parquet(tmp_path / "l.parquet")
    assert df["id"].tolist() == ["0", "0.0"] and df["value"].tolist() == [0.5, 0.75]
    assert pd.isna(df["parent"][0]) and df["parent"][1] == 0 and df["operator"][1] == "mutate"


def test_depth_of_matches_a_loop_over_parents() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 50, 3000):
        parent = np.floor(rng.random(n) * np.arange(n)).astype(np.int64)
        parent[rng.random(n) < 0.05] = -1
        parent[0] = -1
        want = np.zeros(n, np.int64)
        for i in range(n):
            want[i] = 0 if parent[i] < 0 else want[parent[i]] + 1
        assert depth_of(parent).tolist() == want.tolist()
    assert depth_of(np.arange(-1, 999)).tolist() == list(range(1000))  # a chain


# ---------------------------------------------------------------------- hostile parquet files
def _write(tmp_path: Path, columns: dict[str, Any], metadata: dict[bytes, bytes] | None = None) -> Path:
    table = pa.table(columns)
    if metadata:
        table = table.replace_schema_metadata(metadata)
    p = tmp_path / "bad.parquet"
    pq.write_table(table, p)
    return p


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"id": ["0"], "value": [1.0]}, "expected the columns id, parent, operator first"),
        ({"id": [1], "parent": [None], "operator": [None]}, "ids are strings"),
        ({"id": ["0", "0"], "parent": [None, 0], "operator": [None, "m"]}, "appears twice"),
        ({"id": ["0", "1"], "parent": [1, None], "operator": [None, None]}, "a parent is an earlier row"),
        ({"id": ["0"], "parent": [-5], "operator": [None]}, "a parent is an earlier row"),
        ({"id": ["0"], "parent": ["x"], "operator": [None]}, "parents are rows"),
        ({"id": ["0"], "parent": [None], "operator": [None], "agent_id": [1.0]}, "reserved"),
        ({"id": ["0"], "parent": [None], "operator": [None], "v": [[1, 2]]}, "accepted are float, int64, bool"),
        ({"id": ["0", "1"], "parent": [None, 0], "operator": [None, 3]}, "operators are strings"),
        ({"id": pa.array([None], pa.string()), "parent": [None], "operator": [None]}, "missing id"),
    ],
)
def test_hostile_parquet_is_refused_in_one_line(tmp_path: Path, columns: dict[str, Any], message: str) -> None:
    p = _write(tmp_path, columns)
    with pytest.raises(LineageFileError, match=message) as info:
        LineageGraph.load(p)
    assert str(p) in str(info.value) and "\n" not in str(info.value)


def test_parquet_that_is_not_whole_or_not_a_lineage_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "cut.parquet"
    p.write_bytes(b"PAR1" + b"\0" * 40)
    with pytest.raises(LineageFileError, match="not a readable parquet file"):
        LineageGraph.load(p)
    p = _write(tmp_path, {"id": ["0"], "parent": [None], "operator": [None]}, {b"lineage_metadata": b"[1"})
    with pytest.raises(LineageFileError, match="lineage_metadata is not JSON"):
        LineageGraph.load(p)
    mixed = pa.table({"id": ["0"], "parent": pa.array([None], pa.int64()), "operator": pa.array([None], pa.string())})
    field = pa.field("m", pa.string(), metadata={b"lineage_kind": b"mixed"})
    mixed = mixed.append_column(field, pa.array(["{not json"]))
    pq.write_table(mixed, tmp_path / "m.parquet")
    with pytest.raises(LineageFileError, match="row 0 is not JSON"):
        LineageGraph.load(tmp_path / "m.parquet")
    with pytest.raises(LineageFileError, match="over the limit"):
        LineageGraph.load(tmp_path / "m.parquet", max_bytes=10)


@st.composite
def forests(draw: Any) -> tuple[list[str], np.ndarray]:
    """Ids by the convention (numbered children, gaps allowed), now and then one that is not, in any row order."""
    n = draw(st.integers(1, 40))
    ids: list[str] = []
    parent: list[int] = []
    kids: dict[int, int] = {}
    for i in range(n):
        if i == 0 or draw(st.integers(0, 9)) == 0:
            ids.append(draw(st.sampled_from(["0", "1", "7", "10", "a", "0.5", f"r{i}"])))
            parent.append(-1)
        else:
            p = draw(st.integers(0, i - 1))
            k = kids.get(p, 0) + draw(st.integers(0, 2))
            kids[p] = k + 1
            odd = draw(st.integers(0, 30)) == 0
            ids.append(f"{ids[p]}.{draw(st.sampled_from(['01', 'x', '٣']))}" if odd else f"{ids[p]}.{k}")
            parent.append(p)
    perm = draw(st.permutations(range(n)))
    new = {old: j for j, old in enumerate(perm)}
    return [ids[old] for old in perm], np.array([-1 if parent[old] < 0 else new[parent[old]] for old in perm])


@settings(max_examples=150, deadline=None)
@given(forests())
def test_path_order_from_the_tree_is_sorting_the_ids(forest: tuple[list[str], np.ndarray]) -> None:
    from lineage.arrays import path_order
    from lineage.paths import sort_ids

    ids, parent = forest
    if len(set(ids)) < len(ids):
        return  # a lineage's ids are distinct
    assert [ids[i] for i in path_order(ids, parent).tolist()] == sort_ids(ids)


def test_large_queries_order_by_the_tree() -> None:
    from lineage.paths import sort_ids

    g = LineageGraph()
    rng = np.random.default_rng(5)
    g.add_agent("0")
    for i in range(1, 9000):  # past the size at which queries stop sorting ids
        p = g.ids[int(rng.integers(i))]
        g.add_agent(f"{p}.{len(g.children(p))}", parent=p, value=float(i))
    assert g.sorted_ids() == sort_ids(g.ids)
    assert g.leaves() == sort_ids(a for a in g if not g.children(a))
    assert g.descendants("0") == sort_ids(g.ids[1:])


def _networkx_graphml(g: LineageGraph) -> str:
    """The reference: networkx's own writer on the lineage's graph (texts escaped as to_graphml does)."""
    import io

    import networkx as nx

    from lineage.io import ESCAPES_KEY, ESCAPES_VALUE, _texts
    from lineage.text import escape, needs_escape

    graph = g.graph
    if ESCAPES_KEY in g.metadata or any(needs_escape(t) for t in _texts(g)):

        def attrs(d: Any) -> dict[str, Any]:
            return {escape(k): escape(v) if isinstance(v, str) else v for k, v in d.items()}

        out = nx.DiGraph()
        out.graph.update(attrs(graph.graph))
        out.graph[ESCAPES_KEY] = ESCAPES_VALUE
        for a, d in graph.nodes(data=True):
            out.add_node(escape(a))
            out.nodes[escape(a)].update(attrs(d))
        for u, v, d in graph.edges(data=True):
            out.add_edge(escape(u), escape(v))
            out.edges[escape(u), escape(v)].update(attrs(d))
        graph = out
    buf = io.BytesIO()
    nx.write_graphml(graph, buf, encoding="utf-8")
    return buf.getvalue().decode("utf-8")


@settings(max_examples=40, deadline=None)
@given(operations())
def test_graphml_from_the_columns_is_what_networkx_writes(ops: list[tuple[str, Any, Any, dict[str, Any]]]) -> None:
    from lineage import to_graphml

    g, _ = _apply(ops)
    assert to_graphml(g) == _networkx_graphml(g)


def test_writers_stream_in_pieces_to_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lineage.io as lio
    from lineage import write

    g = LineageGraph(seed=3)
    g.add_agent("0", value=0.5, kind="q")
    for i in range(1, 57):
        p = g.ids[(i - 1) // 3]
        g.add_agent(f"{p}.{len(g.children(p))}", parent=p, operator="mutate" if i % 2 else None, value=i / 7, n=i)
    whole = {fmt: lio.FORMATS[fmt](g) for fmt in ("json", "graphml", "alife")}
    monkeypatch.setattr(lio, "CHUNK", 5)  # many pieces, a last one that is short
    for fmt, text in whole.items():
        write(g, tmp_path / f"l.{fmt}", fmt)
        assert (tmp_path / f"l.{fmt}").read_text() == text == lio.FORMATS[fmt](g), fmt
    assert json.loads(whole["json"])["nodes"][3] == {"id": g.ids[3], **g.attributes(g.ids[3])}
