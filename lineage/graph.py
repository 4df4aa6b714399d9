"""The lineage record: who made whom, by which operator, and what each achieved."""

from __future__ import annotations

import math
import re
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn

import networkx as nx
import numpy as np

from lineage.arrays import FloatArray, IntArray, LineageArrays, _readonly, clade_max, clade_sum, path_order
from lineage.columns import Columns
from lineage.errors import AttributeTypeError, DuplicateAgentError, UnknownAgentError
from lineage.paths import path_key, sort_ids
from lineage.text import brief as _short

if TYPE_CHECKING:
    from rich.tree import Tree

__all__ = ["RESERVED_ATTRIBUTES", "AttributeValue", "LineageGraph"]

AttributeValue = str | int | float | bool

#: Attribute names that the file formats or :meth:`LineageGraph.add_agent` use for themselves.
RESERVED_ATTRIBUTES = frozenset({"id", "ancestor_list", "agent_id", "parent", "operator"})


_SURROGATE = re.compile("[\ud800-\udfff]")
#: Integers are stored as they are but must fit a float (every numeric attribute is also a float column).
_MAX_INT = int(sys.float_info.max)


def _check_text(agent_id: str, what: str, text: str) -> None:
    if not text.isascii() and _SURROGATE.search(text):  # isascii first: the common case costs nothing
        raise AttributeTypeError(
            f"agent {_short(agent_id)}: {what} {_short(text)} holds a lone surrogate; text must be valid Unicode"
        )


def _clean_value(agent_id: str, name: str, value: Any) -> AttributeValue | None:
    """Validate one attribute value; ``None`` means "missing, leave it out"."""
    t = type(value)
    if t is float:  # the common cases first: a plain float, a small int
        return None if value != value else value
    if t is int and -_MAX_INT <= value <= _MAX_INT:
        return value
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        _check_text(agent_id, f"attribute {_short(name)} has a value that", value)
        return value
    if isinstance(value, int):
        if not -_MAX_INT <= value <= _MAX_INT:
            raise AttributeTypeError(
                f"agent {_short(agent_id)}: attribute {_short(name)} is an integer of {value.bit_length()} bits, "
                "too large for a float; accepted are integers of magnitude up to about 1.8e308"
            )
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    raise AttributeTypeError(
        f"agent {_short(agent_id)}: attribute {_short(name)} has a value of type {type(value).__name__} "
        f"({_short(value)}); accepted are str, int, float and bool"
    )


#: Attribute names already checked (strings, valid text, not reserved): most lineages use a few dozen.
_GOOD_NAMES: set[str] = set()


def _clean_attributes(agent_id: str, attributes: Mapping[str, Any]) -> dict[str, AttributeValue]:
    clean: dict[str, AttributeValue] = {}
    for name, value in attributes.items():
        if name in _GOOD_NAMES:
            v = _clean_value(agent_id, name, value)
            if v is not None:
                clean[name] = v
            continue
        if name in RESERVED_ATTRIBUTES:
            raise AttributeTypeError(
                f"agent {agent_id!r}: attribute name {name!r} is reserved "
                f"(reserved: {', '.join(sorted(RESERVED_ATTRIBUTES))})"
            )
        if not isinstance(name, str):
            raise AttributeTypeError(f"agent {_short(agent_id)}: attribute names are strings, got {_short(name)}")
        _check_text(agent_id, "attribute name", name)
        if type(name) is str and len(_GOOD_NAMES) < 4096:
            _GOOD_NAMES.add(name)
        v = _clean_value(agent_id, name, value)
        if v is not None:
            clean[name] = v
    return clean


class _FrozenAttributes(dict[str, Any]):
    """A snapshot of one attribute dict that refuses to be changed.

    A dict (not a ``MappingProxyType``) so that what networkx and ``json`` accept keeps working.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(
            "the lineage graph view is read-only; change attributes with LineageGraph.update"
        )

    __setitem__ = __delitem__ = __ior__ = _refuse
    update = pop = popitem = clear = setdefault = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and pickles of a snapshot are ordinary dicts.
        return (dict, (dict(self),))


class _FrozenAtlas(Mapping[Any, Any]):
    """``{key: attribute dict}`` handing out frozen snapshots of the inner dicts."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[Any, dict[str, Any]]) -> None:
        self._data = data

    def __getitem__(self, key: Any) -> Any:
        return _FrozenAttributes(self._data[key])

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class _FrozenAdjacency(_FrozenAtlas):
    """``{node: {neighbour: edge attribute dict}}`` whose edge dicts are frozen snapshots."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        return _FrozenAtlas(self._data[key])


def _read_only_view(g: nx.DiGraph) -> nx.DiGraph:
    # networkx's own view (copy(as_view=True)) freezes the structure but shares the attribute
    # dicts, through which a caller could change a value behind the arrays' back.
    view: nx.DiGraph = nx.freeze(nx.DiGraph())
    view._graph = g
    # A plain copy: networkx's own writers pop keys from G.graph (write_graphml pops "id"), and
    # the lineage's metadata is fixed at construction, so a snapshot is all a reader needs.
    view.graph = dict(g.graph)
    view._node = _FrozenAtlas(g._node)
    view._succ = _FrozenAdjacency(g._succ)
    view._pred = _FrozenAdjacency(g._pred)
    return view


class _ColumnsView(LineageArrays):
    """The array view of a lineage's columns: nothing copied, nothing built per agent."""

    def __init__(self, columns: Columns) -> None:  # no super().__init__: nothing of its own
        self._c = columns

    def __len__(self) -> int:
        return self._c.n

    def append(self, parent: int, numeric: Mapping[str, float]) -> int:
        raise TypeError("a lineage's array view is read-only; record agents with LineageGraph.add_agent")

    set = append  # type: ignore[assignment]

    @property
    def parent(self) -> IntArray:
        return _readonly(self._c.parent[: self._c.n])

    @property
    def depth(self) -> IntArray:
        return _readonly(self._c.depth[: self._c.n])

    @property
    def names(self) -> list[str]:
        return sorted(name for name, col in self._c.cols.items() if col.numeric)

    def column(self, name: str) -> FloatArray:
        col = self._c.cols.get(name)
        if col is None:
            return _readonly(np.full(self._c.n, np.nan))
        return _readonly(col.floats(self._c.n))


class LineageGraph:
    """Ancestry of a population of agents: who made whom (parent → child), by which operator, and
    what each achieved; the only writer of that record.

    Agent ids are strings (lineage paths such as ``0.1.0`` by convention), attributes are what
    each agent achieved (str, int, float or bool), and the operator says how the parent made the
    child. The record is columnar (:mod:`lineage.columns`: the parent as a row index, one typed
    column per attribute), so a lineage of 10^6 agents costs a few hundred bytes an agent and the
    array view (:attr:`arrays`) and the files read columns, not agents. A networkx ``DiGraph``
    (:attr:`graph`) is built from the columns the first time it is asked for.

    Parameters
    ----------
    **metadata
        The graph's own attributes (a run's seed, its config name, ...), kept in :attr:`metadata`.

    Examples
    --------
    >>> g = LineageGraph(name="demo")
    >>> g.add_agent("0", value=0.2)
    >>> g.add_agent("0.0", parent="0", operator="finetune", value=0.5)
    >>> g.add_agent("0.1", parent="0", operator="mutate", value=0.9)
    >>> g.children("0"), g.depth("0.1"), g.operator("0.1")
    (['0.0', '0.1'], 1, 'mutate')
    >>> g.clade_sum("value", gamma=0.5)["0"]
    0.9
    """

    def __init__(self, /, **metadata: Any) -> None:
        self._meta: dict[str, Any] = _clean_attributes("<graph>", metadata)
        self._index: dict[str, int] = {}
        self._ids: list[str] = []
        self._c = Columns()
        self._nx: nx.DiGraph | None = None  # built on demand (graph), then kept in step
        self._csr: tuple[int, IntArray, IntArray] | None = None  # children by parent row, for n rows
        self._order: tuple[int, IntArray, IntArray] | None = None  # rows in path order and their ranks

    @classmethod
    def _from_columns(cls, metadata: Mapping[str, Any], ids: list[str], columns: Columns) -> LineageGraph:
        """A lineage of whole columns (a file read back); the caller has checked ids and names."""
        out = cls(**metadata)
        out._ids = ids
        out._index = {a: i for i, a in enumerate(ids)}
        if len(out._index) != len(ids):
            raise DuplicateAgentError("an agent id appears twice in the lineage")
        out._c = columns
        return out

    # ------------------------------------------------------------------ writing
    def add_agent(
        self, /, agent_id: str, parent: str | None = None, operator: str | None = None, **attributes: Any
    ) -> None:
        """Record the birth of ``agent_id``, made from ``parent`` by ``operator``.

        Attributes whose value is ``None`` (or a float NaN) are missing metrics and are left out.
        A root's operator is not recorded.

        Raises
        ------
        DuplicateAgentError
            If ``agent_id`` is already recorded.
        UnknownAgentError
            If ``parent`` is given but not recorded.
        AttributeTypeError
            If an attribute value is not str, int, float or bool, or its name is reserved.
        """
        if not isinstance(agent_id, str):
            raise AttributeTypeError(f"agent ids are strings, got {_short(agent_id)} ({type(agent_id).__name__})")
        _check_text(agent_id, "id", agent_id)
        if agent_id in self._index:
            raise DuplicateAgentError(f"agent {agent_id!r} is already in the lineage")
        if parent is not None and parent not in self._index:
            raise UnknownAgentError(f"parent {parent!r} of agent {agent_id!r} is not in the lineage")
        if operator is not None:
            if not isinstance(operator, str):
                raise AttributeTypeError(f"agent {agent_id!r}: operator must be a string, got {_short(operator)}")
            _check_text(agent_id, "operator", operator)
        clean = _clean_attributes(agent_id, attributes)
        row = -1 if parent is None else self._index[parent]
        self._c.append(row, None if parent is None else operator, clean)
        self._index[agent_id] = len(self._ids)
        self._ids.append(agent_id)
        if self._nx is not None:
            self._nx.add_node(agent_id)
            self._nx.nodes[agent_id].update(sorted(clean.items()))  # not add_node(**clean): a name may be "self"
            if parent is not None:
                self._nx.add_edge(parent, agent_id, **({} if operator is None else {"operator": operator}))

    def update(self, /, agent_id: str, **attributes: Any) -> None:
        """Set (or, with ``None``, remove) attributes of an agent that is already recorded.

        Every value is checked before any is set, so a refused update changes nothing.
        """
        i = self._row(agent_id)
        _clean_attributes(agent_id, attributes)  # raises before anything changes
        for name, value in attributes.items():
            v = _clean_value(agent_id, name, value)
            self._c.set(i, name, v)
            if self._nx is not None:
                data = self._nx.nodes[agent_id]
                if v is None:
                    data.pop(name, None)
                else:
                    data[name] = v

    # ------------------------------------------------------------------ basics
    def _row(self, agent_id: str) -> int:
        try:
            return self._index[agent_id]
        except (KeyError, TypeError):
            raise UnknownAgentError(f"agent {agent_id!r} is not in the lineage") from None

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, agent_id: object) -> bool:
        try:
            return agent_id in self._index
        except TypeError:  # an unhashable thing is no agent
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __repr__(self) -> str:
        return f"LineageGraph({len(self)} agents, {len(self.roots())} roots)"

    def _records(self) -> dict[str, tuple[str | None, str | None, dict[str, Any]]]:
        rows = self.rows()
        parents, ops = self.parents(), self.operators()
        return {a: (parents[i], ops[i], rows[i]) for i, a in enumerate(self._ids)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LineageGraph):
            return NotImplemented
        if self._meta != other._meta or len(self) != len(other) or set(self._index) != set(other._index):
            return False
        return self._records() == other._records()

    __hash__ = None  # type: ignore[assignment]  # mutable

    @property
    def ids(self) -> list[str]:
        """Agent ids in insertion order (which is topological)."""
        return list(self._ids)

    @property
    def graph(self) -> nx.DiGraph:
        """A read-only networkx ``DiGraph`` of the lineage (parent → child), for any networkx algorithm.

        Built from the columns the first time it is asked for (3 s and 2.7 KB an agent at 10^5 agents
        of 33 attributes: networkx keeps a dict per node and per edge) and then kept in step with later
        births and updates, which the view follows. Structure and attributes both refuse changes
        (networkx's ``NetworkXError`` for nodes and edges, ``TypeError`` for attribute dicts); its
        ``graph`` dict is a copy of :attr:`metadata`. The queries of this class do not need it.
        """
        if self._nx is None:
            g = nx.DiGraph()
            g.graph.update(self._meta)
            g.add_nodes_from(zip(self._ids, self.rows(), strict=True))
            parents, ops = self.parents(), self.operators()
            g.add_edges_from(
                (p, a, {} if op is None else {"operator": op})
                for a, p, op in zip(self._ids, parents, ops, strict=True)
                if p is not None
            )
            self._nx = g
        return _read_only_view(self._nx)

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The graph's own attributes (read-only)."""
        return MappingProxyType(self._meta)

    @property
    def arrays(self) -> LineageArrays:
        """The columnar view: row ``i`` is ``ids[i]``; see :class:`~lineage.arrays.LineageArrays`.

        A view of the lineage's own columns (nothing is copied; an integer or boolean column is
        turned into floats when asked for), which follows later births and updates.
        """
        return _ColumnsView(self._c)

    def index(self, agent_id: str) -> int:
        """Row of ``agent_id`` in :attr:`arrays`."""
        return self._row(agent_id)

    def attributes(self, agent_id: str) -> dict[str, AttributeValue]:
        """A copy of the attributes of ``agent_id``, by name."""
        return self._c.row(self._row(agent_id))

    def get(self, agent_id: str, name: str, default: Any = None) -> Any:
        """One attribute of ``agent_id`` (``default`` when it does not carry it); no dict is built."""
        col = self._c.cols.get(name)
        v = None if col is None else col.get(self._row(agent_id))
        return default if v is None else v

    def _span(self, start: int, stop: int | None) -> tuple[int, int]:
        n = self._c.n
        stop = n if stop is None else min(stop, n)
        return min(max(start, 0), stop), stop

    def values(self, name: str, start: int = 0, stop: int | None = None) -> list[Any]:
        """Attribute ``name`` of every agent (rows ``start`` to ``stop``) in insertion order, exact
        (an int stays an int), ``None`` where missing: one pass over one column."""
        start, stop = self._span(start, stop)
        col = self._c.cols.get(name)
        return [None] * (stop - start) if col is None else col.values(stop, start)

    def attribute_names(self, start: int = 0) -> list[str]:
        """Every attribute name some agent carries (of rows ``start`` on), sorted."""
        return self._c.names(start)

    def rows(self, start: int = 0, stop: int | None = None) -> list[dict[str, AttributeValue]]:
        """Every agent's attributes (names sorted; rows ``start`` to ``stop``), in insertion order,
        filled column by column.

        One dict per agent: at 10^6 agents of 90 attributes this takes gigabytes; the writers ask
        for a slice at a time, and the columns (:meth:`values`, :attr:`arrays`) need none.
        """
        start, stop = self._span(start, stop)
        out: list[dict[str, Any]] = [{} for _ in range(stop - start)]
        for name, col in self._c.items():
            rows = np.flatnonzero(col.mask(stop, start)).tolist()
            if not rows:
                continue
            vals = col.values(stop, start)
            for i in rows:
                out[i][name] = vals[i]
        return out

    def id_range(self, start: int = 0, stop: int | None = None) -> list[str]:
        """The ids of rows ``start`` to ``stop``, in insertion order (:attr:`ids` copies them all)."""
        start, stop = self._span(start, stop)
        return self._ids[start:stop]

    def parents(self, start: int = 0, stop: int | None = None) -> list[str | None]:
        """Every agent's parent id (rows ``start`` to ``stop``) in insertion order (``None`` for roots)."""
        start, stop = self._span(start, stop)
        ids = self._ids
        return [None if p < 0 else ids[p] for p in self._c.parent[start:stop].tolist()]

    def operators(self, start: int = 0, stop: int | None = None) -> list[str | None]:
        """Every agent's operator (rows ``start`` to ``stop``) in insertion order (``None`` for roots
        and where not recorded)."""
        start, stop = self._span(start, stop)
        return self._c.operator.values(stop, start)

    def operator(self, agent_id: str) -> str | None:
        """The operator that made ``agent_id`` (``None`` for a root or when not recorded)."""
        return self._c.operator.get(self._row(agent_id))

    def column(self, attribute: str) -> FloatArray:
        """A numeric attribute for every agent, in insertion order, NaN where missing."""
        return self.arrays.column(attribute)

    # ------------------------------------------------------------------ queries
    def parent(self, agent_id: str) -> str | None:
        """The parent of ``agent_id``, or ``None`` for a root."""
        p = int(self._c.parent[self._row(agent_id)])
        return None if p < 0 else self._ids[p]

    def _children_rows(self, row: int) -> IntArray:
        """Rows of the children of ``row`` (a table by parent, rebuilt once after births)."""
        n = self._c.n
        if self._csr is None or self._csr[0] != n:
            p = self._c.parent[:n]
            order = np.argsort(p, kind="stable")
            starts = np.searchsorted(p[order], np.arange(-1, n + 1))  # starts[r + 1]: first child of r
            self._csr = (n, order, starts)
        _, order, starts = self._csr
        return order[starts[row + 1] : starts[row + 2]]

    def children(self, agent_id: str) -> list[str]:
        """Children of ``agent_id`` in lineage-path order.

        The first call after births sorts the parent column once (about 0.1 s at 10^6 agents);
        each call then costs the number of children.
        """
        ids = self._ids
        kids = [ids[i] for i in self._children_rows(self._row(agent_id)).tolist()]
        if len(kids) < 2:
            return kids
        # Children named by the convention (parent id, ".", suffix) sort by their suffixes alone,
        # which is the same order as by whole ids and keeps the cost linear in the ids' length.
        prefix = agent_id + "."
        if all(k.startswith(prefix) for k in kids):
            cut = len(prefix)
            return sorted(kids, key=lambda k: path_key(k[cut:]))
        return sort_ids(kids)

    def ancestors(self, agent_id: str) -> list[str]:
        """Ancestors of ``agent_id`` from its parent up to its root."""
        out: list[str] = []
        parent = self._c.parent
        p = int(parent[self._row(agent_id)])
        while p >= 0:
            out.append(self._ids[p])
            p = int(parent[p])
        return out

    def _clade_rows(self, row: int) -> list[int]:
        out, frontier = [row], [row]
        while frontier:
            nxt: list[int] = []
            for r in frontier:
                nxt.extend(self._children_rows(r).tolist())
            out.extend(nxt)
            frontier = nxt
        return out

    def descendants(self, agent_id: str) -> list[str]:
        """Every descendant of ``agent_id`` (not itself), in lineage-path order (costs the clade's size)."""
        return self._sorted(self._clade_rows(self._row(agent_id))[1:])

    def clade(self, agent_id: str) -> list[str]:
        """``agent_id`` and all its descendants, in lineage-path order."""
        return self._sorted(self._clade_rows(self._row(agent_id)))

    def depth(self, agent_id: str) -> int:
        """Number of generations between ``agent_id`` and its root."""
        return int(self._c.depth[self._row(agent_id)])

    def roots(self) -> list[str]:
        """Agents without a parent, in lineage-path order."""
        return self._sorted(np.flatnonzero(self._c.parent[: self._c.n] < 0).tolist())

    def leaves(self) -> list[str]:
        """Agents without children, in lineage-path order."""
        n = self._c.n
        p = self._c.parent[:n]
        has_child = np.zeros(n, bool)
        has_child[p[p >= 0]] = True
        return self._sorted(np.flatnonzero(~has_child).tolist())

    def generation(self, n: int) -> list[str]:
        """Agents at depth ``n``, in lineage-path order."""
        if n < 0:
            raise ValueError(f"generation must be >= 0, got {n}")
        return self._sorted(np.flatnonzero(self._c.depth[: self._c.n] == n).tolist())

    def mrca(self, a: str, b: str) -> str | None:
        """Most recent common ancestor of ``a`` and ``b`` (an agent is its own ancestor here).

        ``None`` when they descend from different roots.
        """
        line_a = [a, *self.ancestors(a)]
        seen = set(line_a)
        for x in [b, *self.ancestors(b)]:
            if x in seen:
                return x
        return None

    def subtree(self, agent_id: str) -> LineageGraph:
        """A new lineage holding the clade of ``agent_id``, with ``agent_id`` as its root."""
        rows = sorted(self._clade_rows(self._row(agent_id)))
        out = LineageGraph(**self._meta)
        for i in rows:
            a = self._ids[i]
            p = None if a == agent_id else self._ids[int(self._c.parent[i])]
            out.add_agent(a, parent=p, operator=self._c.operator.get(i) if p else None, **self._c.row(i))
        return out

    def walk(self, root: str | None = None) -> Iterator[str]:
        """Agents in depth-first pre-order, children in lineage-path order."""
        stack = list(reversed(self.roots() if root is None else [root]))
        while stack:
            a = stack.pop()
            yield a
            stack.extend(reversed(self.children(a)))

    def bfs(self, root: str) -> Iterator[str]:
        """Agents of the clade of ``root`` generation by generation."""
        queue = deque([root])
        while queue:
            a = queue.popleft()
            yield a
            queue.extend(self.children(a))

    # ------------------------------------------------------------------ vectorised passes
    def clade_sum(self, attribute: str, gamma: float = 1.0, missing: float = 0.0) -> dict[str, float]:
        """For every agent, the ``gamma``-discounted sum of ``attribute`` over its clade.

        The agent's own term has weight 1 and a descendant ``k`` generations below has weight
        ``gamma ** k``. Agents that lack the attribute contribute ``missing``. One vectorised pass
        over the tree (see :func:`lineage.arrays.clade_sum`).
        """
        if not gamma >= 0.0:  # also refuses NaN
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        arrays = self.arrays
        values = np.nan_to_num(arrays.column(attribute), nan=missing)
        sums = clade_sum(values, arrays.parent, arrays.depth, gamma)
        return dict(zip(self._ids, sums.tolist(), strict=True))

    def clade_max(self, attribute: str) -> dict[str, float]:
        """For every agent, the largest value of ``attribute`` in its clade (NaN if none has it)."""
        arrays = self.arrays
        best = clade_max(arrays.column(attribute), arrays.parent, arrays.depth)
        return dict(zip(self._ids, best.tolist(), strict=True))

    # ------------------------------------------------------------------ summary, display, files
    def summary(self) -> dict[str, Any]:
        """Phylogenetic summary; see :func:`lineage.summary.summarize`."""
        from lineage.summary import summarize

        return summarize(self)

    def render(
        self,
        *,
        max_depth: int | None = None,
        attributes: tuple[str, ...] | list[str] = (),
        max_children: int = 12,
        root: str | None = None,
        fold: int | None = None,
        max_nesting: int | None = None,
        max_agents: int | None = -1,
    ) -> Tree:
        """The lineage as a rich ``Tree``; see :func:`lineage.display.render_tree` (``max_agents``:
        -1 for its default, ``None`` for every agent)."""
        from lineage.display import FOLD, MAX_AGENTS, MAX_NESTING, render_tree

        return render_tree(
            self,
            max_depth=max_depth,
            attributes=attributes,
            max_children=max_children,
            root=root,
            fold=FOLD if fold is None else fold,
            max_nesting=MAX_NESTING if max_nesting is None else max_nesting,
            max_agents=MAX_AGENTS if max_agents == -1 else max_agents,
        )

    def __rich__(self) -> Tree:
        return self.render()

    def save(self, path: str | Path) -> None:
        """Write networkx node-link JSON to ``path`` atomically; see :func:`lineage.io.save_json`."""
        from lineage.io import save_json

        save_json(self, path)

    @classmethod
    def load(cls, path: str | Path, *, max_bytes: int | None = None, hint: str = "") -> LineageGraph:
        """Read a lineage file: node-link JSON written by :meth:`save` (or by networkx), or
        ``lineage.parquet`` (told apart by parquet's magic bytes, read column by column).

        Files over ``max_bytes`` (default :data:`lineage.files.MAX_DATA_BYTES`) and anything but a
        regular file are refused before reading; see :func:`lineage.io.load_json` and
        :func:`lineage.parquet.load_parquet`.
        """
        from lineage.parquet import is_parquet

        if is_parquet(path):
            from lineage.parquet import load_parquet

            return load_parquet(path, max_bytes=max_bytes, hint=hint)
        from lineage.io import load_json

        return load_json(path, max_bytes=max_bytes, hint=hint)

    @classmethod
    def from_networkx(cls, graph: nx.DiGraph) -> LineageGraph:
        """Build a lineage from a forest-shaped ``DiGraph`` (e.g. one read from GraphML).

        Edge attribute ``operator`` becomes the operator; node ids are turned into strings.
        """
        from lineage.io import from_networkx

        return from_networkx(graph)

    def sorted_ids(self) -> list[str]:
        """All agent ids in lineage-path order (see :meth:`path_order`)."""
        ids = self._ids
        return [ids[i] for i in self.path_order().tolist()]

    def path_order(self) -> IntArray:
        """Rows in lineage-path order (``sort_ids(ids)``), from the tree when the ids follow the
        convention (:func:`lineage.arrays.path_order`: about 1 s at 10^6 agents); kept until the
        next birth."""
        return self._path_order()[0]

    def _path_order(self) -> tuple[IntArray, IntArray]:
        n = self._c.n
        if self._order is None or self._order[0] != n:
            order = _readonly(path_order(self._ids, self._c.parent[:n]))
            rank = np.empty(n, np.int64)
            rank[order] = np.arange(n)
            self._order = (n, order, rank)
        return self._order[1], self._order[2]

    def _sorted(self, rows: Iterable[int]) -> list[str]:
        """The ids of ``rows`` in lineage-path order: sorted when few, by the lineage's order when many."""
        rows = list(rows)
        ids = self._ids
        if len(rows) <= 4096:
            return sort_ids(ids[i] for i in rows)
        rank = self._path_order()[1]
        picked = np.asarray(rows, np.int64)
        return [ids[i] for i in picked[np.argsort(rank[picked])].tolist()]
