"""Lineages whose ids, attribute names, operators and values hold any text (control characters,
line breaks, markup, quotes): every export reads back with the library named for it, and every
rendering shows no control character."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import networkx as nx
import newick
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from lineage import LineageFileError, LineageGraph, to_alife_csv, to_graphml, to_json, to_newick
from lineage.text import escape, printable, unescape

HOSTILE = ["\x1b]0;pwned\x07", "\x1b[2J", "\r", "\n", "[bold]x", "a\r\nb", "\x00", "\x85", "\u2028", "'q'", '"d"',
           "%41", "back\\slash", "\ufffe", "\u202e", "x,y", " lead", "\t", "(a);[b]:c"]  # fmt: skip

# Any text at all, control characters included (lone surrogates are refused by add_agent).
TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8)
CONTROL = set(range(0x20)) | set(range(0x7F, 0xA0))


def _lineage(ids: list[str], names: list[str] | None = None) -> LineageGraph:
    g = LineageGraph()
    names = names or ["value"]
    for k, a in enumerate(ids):
        parent = ids[(k - 1) // 2] if k else None
        attrs = {n: (float(k) if j == 0 else a) for j, n in enumerate(names) if n not in ("id",)}
        g.add_agent(a, parent=parent, operator=ids[-k] if parent else None, birth_time=k, **attrs)
    return g


def _check_exports(g: LineageGraph, tmp_path: Path) -> None:
    ids = g.ids
    # node-link JSON
    (tmp_path / "l.json").write_text(to_json(g), encoding="utf-8")
    assert LineageGraph.load(tmp_path / "l.json") == g
    # GraphML: networkx reads it; from_networkx undoes the escapes
    graph = nx.read_graphml(io.BytesIO(to_graphml(g).encode("utf-8")))
    assert len(graph) == len(g)
    assert LineageGraph.from_networkx(graph) == g
    # ALife CSV: the csv module and pandas see one row per agent, ids exactly
    text = to_alife_csv(g)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["agent_id"] for r in rows] == ids
    assert [r["operator"] for r in rows] == [g.operator(a) or "" for a in ids]
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert frame["agent_id"].tolist() == ids and len(frame) == len(g)
    # Newick: one tree per line, parsed by the newick package, ids back with unescape
    nwk = to_newick(g)
    assert nwk.count("\n") == len(g.roots()) and len(nwk.splitlines()) == len(g.roots())
    (tree,) = newick.loads(nwk.rstrip("\n"))
    got = {(unescape(n.unquoted_name), unescape(c.unquoted_name)) for n in tree.walk() for c in n.descendants}
    assert got == set(g.graph.edges)
    assert unescape(tree.unquoted_name) == g.roots()[0]


def test_explicit_hostile_ids_read_back_in_every_format(tmp_path: Path) -> None:
    g = _lineage(HOSTILE, names=["value", *HOSTILE[:6]])
    _check_exports(g, tmp_path)
    # 20 agents, one of them "\r": the CSV reads back as 20 records, not 21
    chain = LineageGraph()
    for k in range(20):
        chain.add_agent("\r" if k == 7 else f"a{k}", parent=None if k == 0 else ("\r" if k == 8 else f"a{k - 1}"))
    rows = list(csv.reader(io.StringIO(to_alife_csv(chain), newline="")))
    assert len(rows) == 21 and rows[8][2] == "\r"  # header + 20


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(ids=st.lists(TEXT, min_size=1, max_size=6, unique=True), names=st.lists(TEXT, max_size=3, unique=True))
def test_any_text_reads_back_in_every_format(
    ids: list[str], names: list[str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    reserved = {"id", "ancestor_list", "agent_id", "parent", "operator", "birth_time"}
    names = ["value", *[n for n in names if n not in reserved and n != "value"]]
    _check_exports(_lineage(ids, names), tmp_path_factory.mktemp("x"))


@settings(max_examples=60)
@given(text=st.text(st.characters(codec="utf-8"), max_size=12))
def test_escape_is_reversible_and_printable_has_no_control_characters(text: str) -> None:
    assert unescape(escape(text)) == text
    assert not any(ord(c) in CONTROL for c in escape(text))
    assert not any(ord(c) in CONTROL for c in printable(text))
    assert len(printable(text).splitlines()) <= 1


def _shown(renderable: object) -> str:
    """What a colour terminal would receive, minus rich's own colour codes (ESC [ ... m)."""
    buf = io.StringIO()
    Console(file=buf, width=100, color_system="truecolor", force_terminal=True).print(renderable)
    return re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue())


def test_rendered_tree_and_summary_hold_no_control_characters_or_markup() -> None:
    from lineage import summary_table

    names = ["value", "[red]name", "\x1b[2Jx"]
    g = _lineage(HOSTILE, names=names)
    for r in (g.render(attributes=names), summary_table(g), g.render(attributes=names, fold=1, max_nesting=2)):
        out = _shown(r)
        assert not any(ord(c) in CONTROL - {0x0A} for c in out), repr(out)
    tree = _shown(g.render(attributes=names))
    assert "[bold]x" in tree and "[red]name=" in tree  # markup shown as text, not applied
    assert "\\x1b]0;pwned\\x07" in tree and "\\x1b[2Jx=" in tree


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"nodes": [{"id": ' + "9" * 5000 + "}]}", "integer too long"),
        ('{"nodes": [{"id": "a", "v": ' + "[" * 100_000 + "]" * 100_000 + "}]}", "nested too deeply"),
        ('{"nodes": [{"id": "a", "v": ' + "[" * 500 + "]" * 500 + "}]}", "accepted are str, int, float and bool"),
        ('{"nodes": [{"id": "a", "v": 1' + "0" * 4000 + "}]}", "too large for a float"),
        ('{"nodes": [{"id": "\\ud800"}]}', "lone surrogate"),
        ('{"nodes": [{"id": "a", "self": 1, "node_for_adding": 2}]}', None),
    ],
)
def test_hostile_json_is_one_line(tmp_path: Path, content: str, message: str | None) -> None:
    path = tmp_path / "l.json"
    path.write_text(content)
    if message is None:
        assert LineageGraph.load(path).attributes("a") == {"self": 1, "node_for_adding": 2}
        return
    with pytest.raises(LineageFileError, match=message) as info:
        LineageGraph.load(path)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_files_over_the_limit_and_non_regular_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.json"
    path.write_text(json.dumps({"nodes": [{"id": "a"}]}))
    with pytest.raises(LineageFileError, match=r"over the limit of 10 bytes.*raise it so"):
        LineageGraph.load(path, max_bytes=10, hint="raise it so")
    with pytest.raises(LineageFileError, match="is a device"):
        LineageGraph.load("/dev/zero")
    with pytest.raises(LineageFileError, match="is a folder"):
        LineageGraph.load(tmp_path)
