"""Lineage files: node-link JSON (lossless), GraphML, the ALife phylogeny CSV and Newick.

Every writer is atomic: the text goes to a temporary file beside the target, which then replaces
it, so an interrupted write never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from xml.etree.ElementTree import _escape_attrib, _escape_cdata  # type: ignore[attr-defined]  # ElementTree's own

import networkx as nx
import numpy as np

from lineage.errors import LineageError, LineageFileError
from lineage.files import MAX_DATA_BYTES, atomic_write, atomic_write_with, read_text
from lineage.paths import path_key
from lineage.text import brief, csv_line, escape, needs_escape, printable, unescape

if TYPE_CHECKING:
    from lineage.graph import LineageGraph

__all__ = [
    "ESCAPES_KEY",
    "ESCAPES_VALUE",
    "FORMATS",
    "atomic_write",
    "from_networkx",
    "load_json",
    "save_json",
    "to_alife_csv",
    "to_graphml",
    "to_json",
    "to_newick",
    "to_parquet",
    "write",
    "write_pieces",
]


# ---------------------------------------------------------------------- node-link JSON
_SCALARS = (str, int, float, bool, type(None))
_FLAT: dict[int, json.JSONEncoder] = {}  # by depth: one flat dict per encoder call, items on lines


def dumps_indent1(value: Any, depth: int = 0) -> str:
    """``json.dumps(value, indent=1, allow_nan=True)``, byte for byte, at the C encoder's speed.

    Python's ``json`` writes indented text with its pure-Python encoder; here every dict of plain
    scalars (a lineage's node, edge or metadata) is one C-encoder call whose item separator is the
    indented line break, and only the containers around them are put together in Python.

    Examples
    --------
    >>> data = {"nodes": [{"id": "0", "value": 0.5}, {}], "edges": [], "n": float("inf")}
    >>> dumps_indent1(data) == json.dumps(data, indent=1, allow_nan=True)
    True
    """
    inner, outer = " " * (depth + 1), " " * depth
    if type(value) is dict:
        if not value:
            return "{}"
        if all(type(v) in _SCALARS for v in value.values()) and all(type(k) is str for k in value):
            enc = _FLAT.get(depth)
            if enc is None:
                enc = _FLAT[depth] = json.JSONEncoder(allow_nan=True, separators=(",\n" + inner, ": "))
            return "{\n" + inner + enc.encode(value)[1:-1] + "\n" + outer + "}"
        if all(type(k) is str for k in value):
            items = [inner + json.dumps(k) + ": " + dumps_indent1(v, depth + 1) for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + outer + "}"
    elif type(value) is list:
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + dumps_indent1(v, depth + 1) for v in value) + "\n" + outer + "]"
    elif type(value) in _SCALARS:
        return json.dumps(value, allow_nan=True)
    # anything else (non-string keys, tuples, subclasses): json's own encoder, indented to this depth
    text = json.dumps(value, indent=1, allow_nan=True)
    return text.replace("\n", "\n" + outer) if depth else text


#: Agents per piece of text the writers put together at a time: a file of 10^6 agents is written
#: piece by piece, never held whole (nor one dict per agent) in memory.
CHUNK = 20_000


def _spans(n: int, first: int = 0) -> Iterator[tuple[int, int]]:
    for start in range(first, n, CHUNK):
        yield start, min(n, start + CHUNK)


def _json_nodes(lineage: LineageGraph, start: int, stop: int) -> list[str]:
    """Rows ``start`` to ``stop`` as the node objects of :func:`to_json`, each ``dumps_indent1(node, 2)``
    indented, put together column by column: a text column's strings encoded once, numbers by ``repr``
    (what json's encoder writes for a finite float and an int)."""
    columns: list[list[str | None]] = []
    for name, col in lineage._c.items():
        head = ",\n   " + json.dumps(name) + ": "
        if col.kind == "str":
            table: list[str | None] = [head + json.dumps(s) for s in col.strings]
            table.append(None)  # code -1
            columns.append([table[code] for code in col.data[start:stop].tolist()])
            continue
        values = col.values(stop, start)
        plain = col.kind == "int" or (col.kind == "float" and not np.isinf(col.data[start:stop]).any())
        if plain:
            columns.append([None if v is None else head + repr(v) for v in values])
        else:  # booleans, infinities, mixed types: json's own text
            columns.append([None if v is None else head + json.dumps(v, allow_nan=True) for v in values])
    ids = lineage._ids[start:stop]
    rows = zip(*columns, strict=True) if columns else [()] * (stop - start)
    return [
        '  {\n   "id": ' + json.dumps(a) + "".join(filter(None, parts)) + "\n  }"
        for a, parts in zip(ids, rows, strict=True)
    ]


def json_pieces(lineage: LineageGraph) -> Iterator[str]:
    """:func:`to_json`'s text in pieces of :data:`CHUNK` agents (what :func:`save_json` streams)."""
    ids = lineage._ids
    meta = dumps_indent1(dict(sorted(lineage.metadata.items())), 1)
    yield '{\n "directed": true,\n "multigraph": false,\n "graph": ' + meta + ',\n "nodes": '
    sep = "[\n"
    for start, stop in _spans(len(lineage)):
        yield sep + ",\n".join(_json_nodes(lineage, start, stop))
        sep = ",\n"
    yield "[]" if sep == "[\n" else "\n ]"
    yield ',\n "edges": '
    sep = "[\n"
    for start, stop in _spans(len(lineage)):
        links = zip(ids[start:stop], lineage.parents(start, stop), lineage.operators(start, stop), strict=True)
        edges = [
            "  " + dumps_indent1({"source": p, "target": a, **({} if op is None else {"operator": op})}, 2)
            for a, p, op in links
            if p is not None
        ]
        if edges:
            yield sep + ",\n".join(edges)
            sep = ",\n"
    yield "[]" if sep == "[\n" else "\n ]"
    yield "\n}\n"


def to_json(lineage: LineageGraph) -> str:
    """The lineage as networkx node-link JSON text (top-level ``nodes``, ``edges``, ``graph``).

    Nodes come in insertion order with their attributes sorted by name, so the same lineage
    always gives the same bytes. NaN is never stored (it means "missing"), but an infinite float
    is written as ``Infinity``, which Python's ``json`` and networkx read back as a float.
    """
    return "".join(json_pieces(lineage))


def write_pieces(path: str | Path, pieces: Iterable[str]) -> None:
    """Write text ``pieces`` to ``path`` atomically, one at a time."""

    def write(fh: BinaryIO) -> None:
        for piece in pieces:
            fh.write(piece.encode("utf-8"))

    atomic_write_with(path, write)


def save_json(lineage: LineageGraph, path: str | Path) -> None:
    """Write :func:`to_json` to ``path`` atomically, piece by piece."""
    write_pieces(path, json_pieces(lineage))


def _fail(path: str | Path, what: str) -> LineageFileError:
    return LineageFileError(f"{printable(path)}: {what}")


def load_json(path: str | Path, *, max_bytes: int | None = None, hint: str = "") -> LineageGraph:
    """Read a node-link JSON lineage back into an equal :class:`~lineage.graph.LineageGraph`.

    Anything but a regular file (a folder, a FIFO, a device) and a file over ``max_bytes``
    (default :data:`lineage.files.MAX_DATA_BYTES`, 4 GiB: enough for 10^6 agents) are refused
    before anything is read; ``hint`` says how to raise the limit.

    Raises
    ------
    LineageFileError
        Naming the file and what is wrong with it: missing, not a regular file, too large, not
        JSON, nested too deeply, an integer of too many digits, not node-link, not a forest.
    """
    limit = MAX_DATA_BYTES if max_bytes is None else max_bytes
    text = read_text(path, limit=limit, what="a node-link JSON lineage", hint=hint)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(path, f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise _fail(
            path, "is JSON nested too deeply to read; attribute values are strings, numbers and booleans"
        ) from None
    except ValueError as exc:  # an integer of more digits than Python converts (4300 by default)
        reason = str(exc).split(":")[0]
        raise _fail(path, f"holds an integer too long to read ({reason}); numbers must fit a float") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise _fail(path, "is not a node-link lineage: expected a JSON object with a 'nodes' list")
    links = data.get("edges", data.get("links", []))
    if not isinstance(links, list):
        raise _fail(path, "'edges' must be a list")
    meta = data.get("graph", {})
    if not isinstance(meta, dict):
        raise _fail(path, "'graph' must be an object")

    nodes: dict[str, dict[str, Any]] = {}
    for k, node in enumerate(data["nodes"]):
        if not isinstance(node, dict) or "id" not in node:
            raise _fail(path, f"node #{k} has no 'id'")
        nid = node["id"]
        if isinstance(nid, bool) or not isinstance(nid, str | int):
            raise _fail(path, f"node #{k} has id {brief(nid)}; ids are strings (or integers)")
        nid = str(nid)
        if nid in nodes:
            raise _fail(path, f"node id {brief(nid)} appears twice")
        nodes[nid] = {key: value for key, value in node.items() if key != "id"}
    parents: dict[str, tuple[str, str | None]] = {}
    for k, edge in enumerate(links):
        if not isinstance(edge, dict) or "source" not in edge or "target" not in edge:
            raise _fail(path, f"edge #{k} needs 'source' and 'target'")
        s, t = str(edge["source"]), str(edge["target"])
        for end in (s, t):
            if end not in nodes:
                raise _fail(path, f"edge #{k} refers to unknown node {brief(end)}")
        if t in parents:
            raise _fail(
                path, f"node {brief(t)} has two parents ({brief(parents[t][0])} and {brief(s)}); a lineage is a forest"
            )
        op = edge.get("operator")
        if op is not None and not isinstance(op, str):
            raise _fail(path, f"edge #{k} has operator {brief(op)}; operators are strings")
        parents[t] = (s, op)
    return _build(path, meta, nodes, parents)


def _build(
    path: str | Path,
    meta: dict[str, Any],
    nodes: dict[str, dict[str, Any]],
    parents: dict[str, tuple[str, str | None]],
) -> LineageGraph:
    from lineage.graph import RESERVED_ATTRIBUTES, LineageGraph

    for nid, attrs in nodes.items():
        clash = sorted(RESERVED_ATTRIBUTES.intersection(attrs))
        if clash:
            raise _fail(
                path,
                f"node {brief(nid)} has an attribute named {clash[0]!r}, which is reserved "
                f"(reserved: {', '.join(sorted(RESERVED_ATTRIBUTES))})",
            )
    # Agents are added in file order, which is birth order in files we write, so that a round trip
    # keeps row numbers (and hence the bytes of every export); an agent listed before its parent
    # waits until the parent is in.
    waiting: dict[str, list[str]] = {}
    try:
        out = LineageGraph(**meta)
        for first in nodes:
            p = parents[first][0] if first in parents else None
            if p is not None and p not in out:
                waiting.setdefault(p, []).append(first)
                continue
            ready = [first]
            while ready:
                nid = ready.pop()
                p, op = parents.get(nid, (None, None))
                out.add_agent(nid, parent=p, operator=op, **nodes[nid])
                ready.extend(reversed(waiting.pop(nid, [])))
    except LineageError as exc:
        raise _fail(path, str(exc)) from None
    if len(out) != len(nodes):
        stuck = sorted(set(nodes) - set(out), key=path_key)[:3]
        raise _fail(path, f"the parent links form a cycle (through {', '.join(map(brief, stuck))})")
    return out


def from_networkx(graph: nx.DiGraph, source: str = "<graph>") -> LineageGraph:
    """Build a lineage from a forest-shaped ``DiGraph``; edge attribute ``operator`` is the operator.

    The ``node_default`` and ``edge_default`` entries that ``networkx.read_graphml`` adds to the
    graph's attributes are GraphML bookkeeping, not lineage metadata, and are left out.
    """
    escaped = graph.graph.get(ESCAPES_KEY) == ESCAPES_VALUE
    text = unescape if escaped else _same

    def attrs(d: Mapping[str, Any]) -> dict[str, Any]:
        return {text(k): text(v) if isinstance(v, str) else v for k, v in d.items()}

    nodes = {text(str(n)): attrs(d) for n, d in graph.nodes(data=True)}
    parents: dict[str, tuple[str, str | None]] = {}
    for u, v, d in graph.edges(data=True):
        child = text(str(v))
        if child in parents:
            raise LineageFileError(f"{printable(source)}: node {brief(child)} has two parents; a lineage is a forest")
        op = d.get("operator")
        parents[child] = (text(str(u)), text(op) if isinstance(op, str) else op)
    meta = attrs(
        {
            k: v
            for k, v in graph.graph.items()
            if not (k in _GRAPHML_BOOKKEEPING and isinstance(v, dict)) and not (escaped and k == ESCAPES_KEY)
        }
    )
    return _build(source, meta, nodes, parents)


def _same(text: str) -> str:
    return text


_GRAPHML_BOOKKEEPING = frozenset({"node_default", "edge_default"})


# ---------------------------------------------------------------------- GraphML
#: The graph attribute that marks a GraphML file whose text is escaped (see :func:`to_graphml`).
ESCAPES_KEY = "lineage_text_escapes"
ESCAPES_VALUE = "percent"


def _texts(lineage: LineageGraph) -> Iterator[str]:
    for k, v in lineage.metadata.items():
        yield k
        if isinstance(v, str):
            yield v
    yield from lineage
    c = lineage._c
    yield from c.operator.strings
    for name, col in c.items():
        yield name
        if col.kind == "str":
            yield from col.strings
        elif col.kind == "mixed":
            yield from (v for v in col.data.values() if isinstance(v, str))


_XML_TYPE = {str: "string", int: "long", float: "double", bool: "boolean"}


def _data(prefix: str, value: str) -> str:
    """A ``<data>`` line: ``prefix`` is its opening tag; ElementTree writes an empty text as ``<data ... />``."""
    return prefix[:-1] + " />\n" if value == "" else prefix + _escape_cdata(value) + "</data>\n"


_HEAD = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns'
    ' http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
)


def _data_lines(
    col: Any, start: int, stop: int, prefix: Mapping[type, str], text: Callable[[str], str]
) -> list[str | None]:
    """One attribute's ``<data>`` lines for rows ``start`` to ``stop`` (``None`` where missing): a
    text column's distinct strings are escaped once, numbers need no escaping."""
    if col.kind == "str":
        table: list[str | None] = [_data(prefix[str], text(s)) for s in col.strings]
        table.append(None)  # code -1
        return [table[code] for code in col.data[start:stop].tolist()]
    values = col.values(stop, start)
    if col.kind in ("float", "int"):
        head = prefix[float if col.kind == "float" else int]
        return [None if v is None else head + str(v) + "</data>\n" for v in values]
    return [None if v is None else _data(prefix[type(v)], text(v) if type(v) is str else str(v)) for v in values]


def graphml_pieces(lineage: LineageGraph) -> Iterator[str]:
    """:func:`to_graphml`'s text in pieces of :data:`CHUNK` agents, written from the columns.

    The layout is networkx's ``write_graphml`` (keys numbered in the order networkx meets them,
    listed last first; the graph's own data after its edges), so the bytes are the ones networkx
    writes for the same graph; only no graph of networkx is built.
    """
    # A lineage whose own metadata holds the marker is escaped too, so the marker never lies.
    escaped = ESCAPES_KEY in lineage.metadata or any(needs_escape(t) for t in _texts(lineage))
    text = escape if escaped else _same
    c = lineage._c
    n = c.n
    meta = [(text(k), text(v) if isinstance(v, str) else v) for k, v in lineage.metadata.items()]
    if escaped:
        meta.append((ESCAPES_KEY, ESCAPES_VALUE))
    keys: dict[tuple[str, type, str], str] = {}

    def key(name: str, t: type, scope: str) -> str:
        return keys.setdefault((name, t, scope), f"d{len(keys)}")

    for k, v in meta:
        key(k, type(v), "graph")
    # node keys in the order networkx meets them: by the first agent holding each (name, type), the
    # names of one agent in order
    firsts: list[tuple[int, str, type]] = []
    for name, col in c.items():
        mask = col.mask(n)
        if not mask.any():
            continue
        if col.kind == "mixed":
            seen: dict[type, int] = {}
            for i, v in sorted(col.data.items()):
                seen.setdefault(type(v), i)
            firsts += [(i, name, t) for t, i in seen.items()]
        else:
            first = int(np.argmax(mask))
            firsts.append((first, name, type(col.get(first))))
    for _, name, t in sorted(firsts, key=lambda f: (f[0], f[1])):
        key(text(name), t, "node")
    if (c.operator.mask(n) & (c.parent[:n] >= 0)).any():
        key("operator", str, "edge")
    yield _HEAD + "".join(
        f'  <key id="{kid}" for="{scope}" attr.name="{_escape_attrib(name)}" attr.type="{_XML_TYPE[t]}" />\n'
        for (name, t, scope), kid in reversed(keys.items())
    )
    if n == 0 and not meta:
        yield '  <graph edgedefault="directed" />\n</graphml>\n'
        return
    yield '  <graph edgedefault="directed">\n'
    ids = lineage._ids
    names = [(text(name), col) for name, col in c.items()]
    node_keys: dict[str, dict[type, str]] = {}
    for (nm, t, scope), kid in keys.items():
        if scope == "node":
            node_keys.setdefault(nm, {})[t] = f'      <data key="{kid}">'
    for start, stop in _spans(n):
        columns = []
        for name, col in names:
            prefix = node_keys.get(name)
            if not prefix:
                continue
            columns.append(_data_lines(col, start, stop, prefix, text))
        out = []
        rows = zip(*columns, strict=True) if columns else [()] * (stop - start)
        for a, parts in zip(ids[start:stop], rows, strict=True):
            body = "".join(filter(None, parts))
            label = _escape_attrib(text(a))
            out.append(f'    <node id="{label}">\n{body}    </node>\n' if body else f'    <node id="{label}" />\n')
        yield "".join(out)
    op_tag = f'      <data key="{keys.get(("operator", str, "edge"))}">'
    # networkx's order: by parent in node order, each parent's children in the order they were added
    parent = c.parent[:n]
    by_parent = np.argsort(parent, kind="stable")
    by_parent = by_parent[parent[by_parent] >= 0]
    for start, stop in _spans(len(by_parent)):
        out = []
        for row in by_parent[start:stop].tolist():
            a, p, op = ids[row], ids[parent[row]], c.operator.get(row)
            head = f'    <edge source="{_escape_attrib(text(p))}" target="{_escape_attrib(text(a))}"'
            if op is None:
                out.append(head + " />\n")
            else:
                out.append(head + ">\n" + _data(op_tag, text(op)) + "    </edge>\n")
        yield "".join(out)
    yield "".join(_data(f'    <data key="{keys[(k, type(v), "graph")]}">', str(v)) for k, v in meta)
    yield "  </graph>\n</graphml>\n"


def to_graphml(lineage: LineageGraph) -> str:
    """The lineage as GraphML text (typed attributes; the operator is an edge attribute).

    XML 1.0 cannot hold most control characters, and XML readers turn a ``\\r`` into a line
    break, so when any id, attribute name, operator or text value holds a control character (or
    U+2028, U+2029, U+FFFE, U+FFFF, a bidirectional control), every text in the file is
    percent-encoded with :func:`lineage.text.escape` (``%0D``; ``%`` itself as ``%25``) and the
    graph gets the attribute ``lineage_text_escapes = "percent"``. :func:`from_networkx` decodes
    a graph so marked; with networkx alone, ``urllib.parse.unquote`` gives back each text. A
    lineage without such characters is written as it is. Written from the columns in pieces
    (:func:`graphml_pieces`), in networkx's layout.
    """
    return "".join(graphml_pieces(lineage))


# ---------------------------------------------------------------------- ALife standard CSV
def to_alife_csv(lineage: LineageGraph, origin_time: str = "birth_time") -> str:
    """The lineage in the ALife data standard's phylogeny CSV.

    Columns: integer ``id`` (the row in insertion order), ``ancestor_list`` (``[none]`` for a root,
    ``[k]`` otherwise), ``origin_time`` (from the attribute named by ``origin_time`` when any agent
    has it), ``agent_id`` (the lineage id), ``operator``, then every other attribute in name order.
    Missing values are empty cells.

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0", value=1.0); g.add_agent("0.0", parent="0", operator="mutate")
    >>> print(to_alife_csv(g), end="")
    id,ancestor_list,agent_id,operator,value
    0,[none],0,,1.0
    1,[0],0.0,mutate,
    """
    return "".join(alife_pieces(lineage, origin_time))


def alife_header(names: Iterable[str], origin_time: str = "birth_time") -> list[str]:
    """``phylogeny.csv``'s columns for a lineage of attributes ``names`` (sorted)."""
    names = list(names)
    time = ["origin_time"] if origin_time in names else []
    return ["id", "ancestor_list", *time, "agent_id", "operator", *(n for n in names if n != origin_time)]


def alife_pieces(
    lineage: LineageGraph,
    origin_time: str = "birth_time",
    *,
    start: int = 0,
    names: Sequence[str] | None = None,
    header: bool = True,
) -> Iterator[str]:
    """:func:`to_alife_csv`'s text in pieces of :data:`CHUNK` agents: rows ``start`` on, under the
    columns of attributes ``names`` (default: all of them)."""
    names = lineage.attribute_names() if names is None else list(names)
    has_time = origin_time in names
    rest = [n for n in names if n != origin_time]
    if header:
        # csv_line, not csv.writer: it quotes a field holding "\r" too, so every reader sees one row per agent.
        yield csv_line(alife_header(names, origin_time))
    parent = lineage.arrays.parent
    ids = lineage._ids
    k = 1 if has_time else 0
    for begin, stop in _spans(len(lineage), start):
        cells = [[_cell(v) for v in lineage.values(name, begin, stop)] for name in [origin_time][:k] + rest]
        ops = ["" if op is None else op for op in lineage.operators(begin, stop)]
        lines = []
        for j, p in enumerate(parent[begin:stop].tolist()):
            row: list[Any] = [begin + j, "[none]" if p < 0 else f"[{p}]"]
            row += [cells[0][j]] if has_time else []
            row += [ids[begin + j], ops[j], *(col[j] for col in cells[k:])]
            lines.append(csv_line(row))
        yield "".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return str(value)


# ---------------------------------------------------------------------- Newick
# Unquoted Newick labels may not hold blanks or punctuation, and an unquoted "_" means a blank,
# so labels with any of these are quoted ('' escapes a quote).
_PLAIN_LABEL = re.compile(r"^[^\s()\[\]':;,_]+$")


def _newick_label(label: str) -> str:
    label = escape(label)
    if _PLAIN_LABEL.match(label):
        return label
    return "'" + label.replace("'", "''") + "'"


def to_newick(lineage: LineageGraph, branch_length: str | None = None) -> str:
    """The lineage in Newick, one line (one tree) per root, children in lineage-path order.

    Control characters (a line break above all), ``%`` and ``\\`` in a label are percent-encoded
    (:func:`lineage.text.escape`: ``%0A``, ``%25``, ``%5C``), so each tree stays on one line and
    every reader can parse it; a label with blanks or punctuation is then quoted. The id is
    ``urllib.parse.unquote`` of the label as read (``newick``'s ``Node.unquoted_name``).

    Internal nodes are labelled too, since every agent is a real individual. With
    ``branch_length`` naming a numeric attribute, each agent's branch is that attribute's
    difference from its parent's (e.g. ``birth_time``).

    Examples
    --------
    >>> from lineage import LineageGraph
    >>> g = LineageGraph(); g.add_agent("0")
    >>> g.add_agent("0.0", parent="0"); g.add_agent("0.1", parent="0"); g.add_agent("0.0.0", parent="0.0")
    >>> to_newick(g)
    '((0.0.0)0.0,0.1)0;\\n'
    """
    def length(a: str) -> str:
        if branch_length is None:
            return ""
        p = lineage.parent(a)
        mine = lineage.get(a, branch_length)
        if p is None or mine is None or lineage.get(p, branch_length) is None:
            return ""
        return f":{float(mine) - float(lineage.get(p, branch_length)):g}"

    def render(root: str) -> str:
        # Iterative post-order: deep lineages must not hit the recursion limit.
        done: dict[str, str] = {}
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            a, expanded = stack.pop()
            kids = lineage.children(a)
            if expanded or not kids:
                inner = "(" + ",".join(done.pop(c) for c in kids) + ")" if kids else ""
                done[a] = inner + _newick_label(a) + length(a)
            else:
                stack.append((a, True))
                stack.extend((c, False) for c in reversed(kids))
        return done[root]

    return "".join(render(r) + ";\n" for r in lineage.roots())


# ---------------------------------------------------------------------- dispatch
def to_parquet(lineage: LineageGraph) -> bytes:
    """The lineage as ``lineage.parquet`` bytes; see :mod:`lineage.parquet`."""
    from lineage.parquet import to_parquet as render

    return render(lineage)


FORMATS: dict[str, Callable[[LineageGraph], str | bytes]] = {
    "json": to_json,
    "graphml": to_graphml,
    "alife": to_alife_csv,
    "newick": to_newick,
    "parquet": to_parquet,
}


_PIECES: dict[str, Callable[[LineageGraph], Iterator[str]]] = {
    "json": json_pieces,
    "graphml": graphml_pieces,
    "alife": alife_pieces,
}


def write(lineage: LineageGraph, path: str | Path, format: str = "json") -> None:
    """Write ``lineage`` to ``path`` atomically in ``format`` (one of :data:`FORMATS`)."""
    try:
        render = FORMATS[format]
    except KeyError:
        raise ValueError(f"unknown format {format!r}; accepted: {', '.join(FORMATS)}") from None
    if format == "parquet":  # written row group by row group, not held whole in memory
        from lineage.parquet import save_parquet

        save_parquet(lineage, path)
        return
    pieces = _PIECES.get(format)
    if pieces is not None:  # written piece by piece
        write_pieces(path, pieces(lineage))
        return
    atomic_write(path, render(lineage))
