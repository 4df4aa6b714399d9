"""Lineage files: round trips through every format, readers of other tools, load errors, atomic writes."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import networkx as nx
import newick
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage import (
    FORMATS,
    LineageFileError,
    LineageGraph,
    atomic_write,
    load_json,
    to_alife_csv,
    to_json,
    to_newick,
    write,
)


@pytest.fixture
def lineage() -> LineageGraph:
    g = LineageGraph(name="io-test", seed=7, tuned=True, rate=0.5)
    g.add_agent("0", value=1.0, trials=20, successes=4, ok=True, kind="root", birth_time=0)
    g.add_agent("0.1", parent="0", operator="mutate", value=2, trials=20, ok=False, birth_time=30)
    g.add_agent("0.0", parent="0", operator="finetune", value=0.25, cost=1e-9, birth_time=10)
    g.add_agent("0.0.0", parent="0.0", value=-3.5, kind="a,b \"quoted\"", birth_time=45)
    g.add_agent("0.10", parent="0", operator="add-tool", distance=math.inf, birth_time=50)
    g.add_agent("1", value=0.0, birth_time=5)  # a second root
    g.add_agent("1.0", parent="1", operator="mutate", successes=0, birth_time=7)
    return g


def _typed(g: LineageGraph) -> dict[str, list[tuple[str, object, type]]]:
    return {a: sorted((k, v, type(v)) for k, v in g.attributes(a).items()) for a in g}


# ---------------------------------------------------------------------- node-link JSON
def test_json_round_trip_is_equal_with_types(lineage: LineageGraph, tmp_path: Path) -> None:
    path = tmp_path / "lineage.json"
    lineage.save(path)
    back = LineageGraph.load(path)
    assert back == lineage
    assert _typed(back) == _typed(lineage)  # 1.0 stays float, 2 stays int, True stays bool
    assert type(back.attributes("0")["value"]) is float and type(back.attributes("0.1")["value"]) is int
    assert type(back.attributes("0")["ok"]) is bool and back.attributes("0.10")["distance"] == math.inf
    assert back.ids == lineage.ids  # parents first, siblings in file order
    assert {a: back.operator(a) for a in back} == {a: lineage.operator(a) for a in lineage}
    assert dict(back.metadata) == {"name": "io-test", "seed": 7, "tuned": True, "rate": 0.5}
    assert to_json(back) == path.read_text()  # same lineage, same bytes


def test_json_layout_is_node_link(lineage: LineageGraph, tmp_path: Path) -> None:
    path = tmp_path / "lineage.json"
    lineage.save(path)
    data = json.loads(path.read_text())
    assert set(data) == {"directed", "multigraph", "graph", "nodes", "edges"}
    assert data["graph"] == {"name": "io-test", "rate": 0.5, "seed": 7, "tuned": True}
    assert [n["id"] for n in data["nodes"]] == lineage.ids
    assert {"source": "0", "target": "0.1", "operator": "mutate"} in data["edges"]
    assert {"source": "0.0", "target": "0.0.0"} in data["edges"]  # no operator recorded: no key


def test_networkx_reads_our_file(lineage: LineageGraph, tmp_path: Path) -> None:
    path = tmp_path / "lineage.json"
    lineage.save(path)
    theirs = nx.node_link_graph(json.loads(path.read_text()), edges="edges")
    assert isinstance(theirs, nx.DiGraph) and not theirs.is_multigraph()
    assert dict(theirs.nodes(data=True)) == dict(lineage.graph.nodes(data=True))
    assert sorted(theirs.edges(data=True)) == sorted(lineage.graph.edges(data=True))
    assert theirs.graph == dict(lineage.metadata)


@pytest.mark.parametrize("edges_key", ["edges", "links"])
def test_we_read_networkx_node_link_files(tmp_path: Path, edges_key: str) -> None:
    theirs = nx.DiGraph(run="x")
    theirs.add_node(0, value=0.5)
    theirs.add_edge(0, 1, operator="mutate")
    theirs.add_edge(0, 2)
    theirs.nodes[2]["score"] = 3
    path = tmp_path / "theirs.json"
    path.write_text(json.dumps(nx.node_link_data(theirs, edges=edges_key)))
    g = load_json(path)
    assert g.ids == ["0", "1", "2"] and g.children("0") == ["1", "2"]
    assert g.operator("1") == "mutate" and g.operator("2") is None
    assert g.attributes("0") == {"value": 0.5} and g.attributes("2") == {"score": 3}
    assert dict(g.metadata) == {"run": "x"}


def test_json_drops_nulls_and_nans_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "nulls.json"
    path.write_text('{"nodes": [{"id": "0", "value": null, "cost": NaN, "trials": 3}], "edges": []}')
    assert load_json(path).attributes("0") == {"trials": 3}


# ---------------------------------------------------------------------- GraphML
def test_graphml_round_trip_through_networkx(lineage: LineageGraph, tmp_path: Path) -> None:
    path = tmp_path / "lineage.graphml"
    write(lineage, path, "graphml")
    theirs = nx.read_graphml(path)
    back = LineageGraph.from_networkx(theirs)
    assert back == lineage
    assert _typed(back) == _typed(lineage)
    assert set(back.graph.edges) == set(lineage.graph.edges)
    assert {a: back.operator(a) for a in back} == {a: lineage.operator(a) for a in lineage}


def test_from_networkx_refuses_two_parents_naming_the_source() -> None:
    bad = nx.DiGraph([("a", "c"), ("b", "c")])
    with pytest.raises(LineageFileError, match=r"^<graph>: node 'c' has two parents"):
        LineageGraph.from_networkx(bad)


# ---------------------------------------------------------------------- ALife CSV
def test_alife_csv_has_the_standard_columns(lineage: LineageGraph, tmp_path: Path) -> None:
    path = tmp_path / "lineage.csv"
    write(lineage, path, "alife")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        rows = list(reader)
    assert header is not None
    assert header[:5] == ["id", "ancestor_list", "origin_time", "agent_id", "operator"]
    assert set(header[5:]) == {"cost", "distance", "kind", "ok", "successes", "trials", "value"}
    assert "birth_time" not in header  # it became origin_time
    assert [int(r["id"]) for r in rows] == list(range(len(lineage)))
    by_agent = {r["agent_id"]: r for r in rows}
    for a in lineage:
        row, p = by_agent[a], lineage.parent(a)
        assert row["ancestor_list"] == ("[none]" if p is None else f"[{by_agent[p]['id']}]")
        assert int(row["origin_time"]) == lineage.attributes(a)["birth_time"]
        assert row["operator"] == (lineage.operator(a) or "")
    assert by_agent["0.0.0"]["kind"] == 'a,b "quoted"'  # quoting survives
    assert by_agent["0.0.0"]["trials"] == ""  # missing is an empty cell
    assert float(by_agent["0.0"]["cost"]) == 1e-9
    assert by_agent["0.10"]["distance"] == "inf"


def test_alife_csv_without_birth_times_has_no_origin_time() -> None:
    g = LineageGraph()
    g.add_agent("0", value=1.0)
    g.add_agent("0.0", parent="0", operator="mutate")
    rows = list(csv.reader(io.StringIO(to_alife_csv(g))))
    assert rows == [
        ["id", "ancestor_list", "agent_id", "operator", "value"],
        ["0", "[none]", "0", "", "1.0"],
        ["1", "[0]", "0.0", "mutate", ""],
    ]


# ---------------------------------------------------------------------- Newick
@contextmanager
def _recursion_limit(limit: int) -> Iterator[None]:
    # The newick package parses recursively; our writer must not need this.
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _parse_newick(text: str) -> list[newick.Node]:
    # The newick package reads the line break after the last ';' as one more, empty tree.
    return newick.loads(text.rstrip("\n"))


def _newick_edges(tree: newick.Node) -> tuple[str, set[tuple[str, str]]]:
    edges = {(n.unquoted_name, c.unquoted_name) for n in tree.walk() for c in n.descendants}
    return tree.unquoted_name, edges


def test_newick_parses_back_to_the_same_forest(lineage: LineageGraph, tmp_path: Path) -> None:
    path = tmp_path / "lineage.nwk"
    write(lineage, path, "newick")
    trees = _parse_newick(path.read_text())
    assert [t.unquoted_name for t in trees] == lineage.roots()
    edges = set().union(*(_newick_edges(t)[1] for t in trees))
    assert edges == set(lineage.graph.edges)
    for t in trees:  # children in lineage-path order
        for n in t.walk():
            assert [c.unquoted_name for c in n.descendants] == lineage.children(n.unquoted_name)


def test_newick_quotes_labels_that_need_it() -> None:
    names = ["root node", "it's", "a(b)", "x:y", "semi;colon", "com,ma", "[c]", "under_score", "tab\there"]
    g = LineageGraph()
    g.add_agent(names[0])
    for name in names[1:]:
        g.add_agent(name, parent=names[0])
    text = to_newick(g)
    assert text.count("\n") == 1 and text.endswith(";\n")
    (tree,) = _parse_newick(text)
    root, edges = _newick_edges(tree)
    assert root == "root node"
    # a tab is a control character: percent-encoded (and unquote gives the id back)
    assert edges == {("root node", n.replace("\t", "%09")) for n in names[1:]}


def test_newick_of_a_deep_chain() -> None:
    g = LineageGraph()
    g.add_agent("a0")
    for i in range(1, 1501):  # past the default recursion limit; short ids keep the parse quick
        g.add_agent(f"a{i}", parent=f"a{i - 1}")
    text = to_newick(g)  # at the default recursion limit
    assert text.startswith("(" * 1500 + "a1500)a1499)") and text.endswith(")a0;\n")
    with _recursion_limit(20_000):
        (tree,) = _parse_newick(text)
        root, edges = _newick_edges(tree)
    assert root == "a0" and edges == set(g.graph.edges)


def test_newick_branch_lengths() -> None:
    g = LineageGraph()
    g.add_agent("0", t=1.0)
    g.add_agent("0.0", parent="0", t=3.5)
    g.add_agent("0.1", parent="0")  # no time: no length
    text = to_newick(g, branch_length="t")
    assert text == "(0.0:2.5,0.1)0;\n"
    (tree,) = _parse_newick(text)
    assert [(n.unquoted_name, n.length) for n in tree.descendants] == [("0.0", 2.5), ("0.1", 0.0)]


# ---------------------------------------------------------------------- load errors
def _write(tmp_path: Path, text: str, name: str = "bad.json") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("", "is not valid JSON"),
        ("[1, 2, 3]", "is not a node-link lineage"),
        ('{"name": "something else"}', "is not a node-link lineage"),
        ('{"nodes": {"0": {}}}', "is not a node-link lineage"),
        ('{"nodes": [], "edges": 3}', "'edges' must be a list"),
        ('{"nodes": [], "graph": []}', "'graph' must be an object"),
        ('{"nodes": [{"value": 1}]}', "node #0 has no 'id'"),
        ('{"nodes": [{"id": [1]}]}', "ids are strings"),
        ('{"nodes": [{"id": "0"}, {"id": "0"}]}', "node id '0' appears twice"),
        ('{"nodes": [{"id": "0"}], "edges": [{"source": "0", "target": "9"}]}', "unknown node '9'"),
        ('{"nodes": [{"id": "0"}], "edges": [{"source": "0"}]}', "edge #0 needs 'source' and 'target'"),
        (
            '{"nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],'
            ' "edges": [{"source": "a", "target": "c"}, {"source": "b", "target": "c"}]}',
            "node 'c' has two parents",
        ),
        (
            '{"nodes": [{"id": "r"}, {"id": "a"}, {"id": "b"}],'
            ' "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}]}',
            "form a cycle",
        ),
        ('{"nodes": [{"id": "a"}], "edges": [{"source": "a", "target": "a"}]}', "form a cycle"),
        ('{"nodes": [{"id": "0", "value": [1, 2]}]}', "attribute 'value' has a value of type list"),
        ('{"nodes": [{"id": "0", "parent": "x"}]}', "attribute named 'parent', which is reserved"),
        ('{"nodes": [{"id": "0"}, {"id": "1"}], "edges": [{"source": "0", "target": "1", "operator": 3}]}',
         "operators are strings"),
    ],
)
def test_load_errors_name_the_file_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(LineageFileError) as info:
        LineageGraph.load(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_load_errors_for_missing_files_directories_and_binary(tmp_path: Path) -> None:
    with pytest.raises(LineageFileError, match=rf"^{tmp_path / 'absent.json'}: no such file"):
        LineageGraph.load(tmp_path / "absent.json")
    with pytest.raises(LineageFileError, match=rf"^{tmp_path}: is a folder"):
        LineageGraph.load(tmp_path)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LineageFileError, match=rf"^{binary}: is not UTF-8 text"):
        LineageGraph.load(binary)


def test_agents_listed_before_their_parents_wait_for_them(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '{"nodes": [{"id": "0.0.0"}, {"id": "0.1"}, {"id": "0.0"}, {"id": "0"}, {"id": "1"}],'
        ' "edges": [{"source": "0.0", "target": "0.0.0"}, {"source": "0", "target": "0.1"},'
        ' {"source": "0", "target": "0.0"}]}',
    )
    g = LineageGraph.load(path)
    assert g.ids == ["0", "0.1", "0.0", "0.0.0", "1"]
    assert list(g.arrays.parent) == [-1, 0, 0, 2, -1]


def test_integer_ids_in_a_file_become_strings(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"nodes": [{"id": 0}, {"id": 1}], "edges": [{"source": 0, "target": 1}]}')
    g = LineageGraph.load(path)
    assert g.ids == ["0", "1"] and g.parent("1") == "0"


# ---------------------------------------------------------------------- writing
def test_write_dispatches_every_format_and_refuses_others(lineage: LineageGraph, tmp_path: Path) -> None:
    assert set(FORMATS) == {"json", "graphml", "alife", "newick", "parquet"}
    for fmt, render in FORMATS.items():
        path = tmp_path / f"out.{fmt}"
        write(lineage, path, fmt)
        want = render(lineage)
        assert (path.read_bytes() if isinstance(want, bytes) else path.read_text()) == want
    assert LineageGraph.load(tmp_path / "out.parquet") == lineage
    with pytest.raises(ValueError, match=r"unknown format 'xml'; accepted: json, graphml, alife, newick, parquet"):
        write(lineage, tmp_path / "out.xml", "xml")
    assert not (tmp_path / "out.xml").exists()


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    atomic_write(target, "one\n")
    atomic_write(target, b"two\n")
    assert target.read_text() == "two\n"
    assert os.listdir(tmp_path) == ["file.txt"]


def test_atomic_write_gives_the_usual_file_mode(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    ours = tmp_path / "ours.txt"
    atomic_write(ours, "x")
    assert stat.S_IMODE(ours.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    plain.chmod(0o640)  # replacing a file keeps its mode
    atomic_write(plain, "y")
    assert stat.S_IMODE(plain.stat().st_mode) == 0o640


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "lineage.json"
    target.write_text("old\n")

    def boom(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="No space left"):
        atomic_write(target, "new and complete\n")
    monkeypatch.undo()
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["lineage.json"]


def test_a_failed_write_never_creates_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "fresh.json"
    with pytest.raises(UnicodeEncodeError):
        atomic_write(target, "half \ud800 written")
    (tmp_path / "dir").mkdir()
    with pytest.raises(LineageFileError, match="is a folder"):
        atomic_write(tmp_path / "dir", "x")
    with pytest.raises(LineageFileError, match="does not exist"):
        atomic_write(tmp_path / "missing" / "x.json", "x")
    assert sorted(os.listdir(tmp_path)) == ["dir"]
    assert os.listdir(tmp_path / "dir") == []


def test_save_of_a_large_lineage_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    g = LineageGraph()
    g.add_agent("0", value=0.0)
    for i in range(1, 2000):
        g.add_agent(str(i), parent=str(int(rng.integers(i))), value=float(rng.random()), trials=int(i))
    g.save(tmp_path / "big.json")
    back = LineageGraph.load(tmp_path / "big.json")
    assert back == g
    assert back.ids == g.ids  # birth order, hence row numbers and every export's bytes, survive
    assert to_alife_csv(back) == to_alife_csv(g)
    np.testing.assert_array_equal(back.arrays.depth, g.arrays.depth)


_json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=6)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(_json_values)
def test_dumps_indent1_is_jsons_indented_text(value: object) -> None:
    """The fast writer of lineage.json gives json.dumps(indent=1)'s bytes for any JSON data."""
    from lineage.io import dumps_indent1

    assert dumps_indent1(value) == json.dumps(value, indent=1, allow_nan=True)
