"""Typed attribute columns: a lineage's record with no dict (and no networkx node) per agent.

Every attribute is one column over the lineage's rows, typed by the values it holds, so that a
lineage of 10^6 agents costs a few hundred bytes per agent and whole-lineage work (the array view,
the file writers) reads columns instead of visiting agents:

``float``
    float64, NaN where missing (a NaN value means "missing" anyway).
``int``
    int64 and a presence mask (integers beyond int64 make the column ``mixed``).
``bool``
    int8: 0, 1, or -1 where missing.
``str``
    int32 codes into the column's distinct strings, -1 where missing.
``mixed``
    a column whose values are of more than one type: ``{row: value}``, exact but per agent.

The types are Python's exactly (an ``int`` comes back an ``int``, never ``1.0``), so the bytes of
every file written from a lineage are those of a lineage kept as dicts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from lineage.arrays import depth_of

__all__ = ["BOOL", "FLOAT", "INT", "MIXED", "STR", "Column", "Columns", "kind_of"]

FLOAT, INT, BOOL, STR, MIXED = "float", "int", "bool", "str", "mixed"
_I64 = 2**63 - 1

FloatArray = npt.NDArray[np.float64]


def kind_of(value: Any) -> str:
    """The column kind a clean attribute value (str, int, float or bool) belongs in."""
    t = type(value)
    if t is float:
        return FLOAT
    if t is bool:
        return BOOL
    if t is int:
        return INT if -_I64 <= value <= _I64 else MIXED
    return STR


class Column:
    """One attribute over every row (see the module's docstring for the kinds)."""

    __slots__ = ("codes", "data", "kind", "present", "strings")

    def __init__(self, kind: str, capacity: int) -> None:
        self.kind = kind
        self.present: np.ndarray | None = None
        self.strings: list[str] = []
        self.codes: dict[str, int] = {}
        if kind == FLOAT:
            self.data: Any = np.full(capacity, np.nan)
        elif kind == INT:
            self.data = np.zeros(capacity, np.int64)
            self.present = np.zeros(capacity, bool)
        elif kind == BOOL:
            self.data = np.full(capacity, -1, np.int8)
        elif kind == STR:
            self.data = np.full(capacity, -1, np.int32)
        else:
            self.data = {}

    # ------------------------------------------------------------------ growing, one row
    def grow(self, capacity: int) -> None:
        if self.kind == MIXED:
            return
        extra = capacity - len(self.data)
        fill = {FLOAT: np.nan, INT: 0, BOOL: -1, STR: -1}[self.kind]
        self.data = np.concatenate([self.data, np.full(extra, fill, self.data.dtype)])
        if self.present is not None:
            self.present = np.concatenate([self.present, np.zeros(extra, bool)])

    def put(self, i: int, value: Any) -> None:
        kind = self.kind
        if kind == FLOAT:
            self.data[i] = value
        elif kind == INT:
            self.data[i] = value
            self.present[i] = True  # type: ignore[index]
        elif kind == BOOL:
            self.data[i] = value
        elif kind == STR:
            code = self.codes.get(value)
            if code is None:
                code = self.codes[value] = len(self.strings)
                self.strings.append(value)
            self.data[i] = code
        else:
            self.data[i] = value

    def clear(self, i: int) -> None:
        if self.kind == FLOAT:
            self.data[i] = np.nan
        elif self.kind == INT:
            self.present[i] = False  # type: ignore[index]
            self.data[i] = 0
        elif self.kind in (BOOL, STR):
            self.data[i] = -1
        else:
            self.data.pop(i, None)

    def get(self, i: int) -> Any:
        """Row ``i``'s value, ``None`` when missing."""
        kind = self.kind
        if kind == FLOAT:
            v = self.data[i]
            return None if v != v else float(v)
        if kind == INT:
            return int(self.data[i]) if self.present[i] else None  # type: ignore[index]
        if kind == BOOL:
            v = self.data[i]
            return None if v < 0 else bool(v)
        if kind == STR:
            c = self.data[i]
            return None if c < 0 else self.strings[c]
        return self.data.get(i)

    def to_mixed(self, n: int) -> None:
        """Turn this column into a ``mixed`` one (a value of another type arrived)."""
        values = self.values(n)
        self.kind, self.present, self.strings, self.codes = MIXED, None, [], {}
        self.data = {i: v for i, v in enumerate(values) if v is not None}

    # ------------------------------------------------------------------ whole column
    def mask(self, n: int, start: int = 0) -> npt.NDArray[np.bool_]:
        """Which of rows ``start`` to ``n`` (not included) hold a value."""
        kind = self.kind
        if kind == FLOAT:
            return ~np.isnan(self.data[start:n])
        if kind == INT:
            return self.present[start:n].copy()  # type: ignore[index]
        if kind in (BOOL, STR):
            return self.data[start:n] >= 0
        m = np.zeros(max(0, n - start), bool)
        if self.data:
            rows = np.fromiter(self.data, np.int64, len(self.data))
            m[rows[(rows >= start) & (rows < n)] - start] = True
        return m

    def values(self, n: int, start: int = 0) -> list[Any]:
        """Rows ``start`` to ``n`` (not included) as Python objects, ``None`` where missing."""
        kind = self.kind
        if kind == MIXED:
            get = self.data.get
            return [get(i) for i in range(start, n)]
        if kind == STR:
            table = [*self.strings, None]  # code -1 indexes the final None
            return [table[c] for c in self.data[start:n].tolist()]
        if kind == BOOL:
            table3 = [False, True, None]
            return [table3[c] for c in self.data[start:n].tolist()]
        out = self.data[start:n].tolist()
        missing = np.flatnonzero(~self.mask(n, start)).tolist()
        for i in missing:
            out[i] = None
        return out

    def floats(self, n: int) -> FloatArray:
        """The first ``n`` rows as floats, NaN where missing or text."""
        kind = self.kind
        if kind == FLOAT:
            return self.data[:n]
        if kind == INT:
            return np.where(self.present[:n], self.data[:n].astype(np.float64), np.nan)  # type: ignore[index]
        if kind == BOOL:
            d = self.data[:n]
            return np.where(d >= 0, d.astype(np.float64), np.nan)
        if kind == STR:
            return np.full(n, np.nan)
        out = np.full(n, np.nan)
        for i, v in self.data.items():
            if i < n and type(v) is not str:
                out[i] = float(v)
        return out

    @property
    def numeric(self) -> bool:
        """Whether the column holds (or held) a number: every kind but ``str``, and ``mixed`` with one."""
        if self.kind == STR:
            return False
        if self.kind == MIXED:
            return any(type(v) is not str for v in self.data.values())
        return True


class Columns:
    """The rows of a lineage: parent row, depth, operator and typed attribute columns, growing by
    amortised doubling; row ``i`` is the ``i``-th agent recorded (a parent always before its children)."""

    def __init__(self, capacity: int = 64) -> None:
        self.n = 0
        self.capacity = max(1, capacity)
        self.parent = np.full(self.capacity, -1, np.int64)
        self.depth = np.zeros(self.capacity, np.int64)
        self.operator = Column(STR, self.capacity)
        self.cols: dict[str, Column] = {}

    def _grow(self, need: int) -> None:
        new = self.capacity
        while new < need:
            new *= 2
        extra = new - self.capacity
        self.parent = np.concatenate([self.parent, np.full(extra, -1, np.int64)])
        self.depth = np.concatenate([self.depth, np.zeros(extra, np.int64)])
        self.operator.grow(new)
        for col in self.cols.values():
            col.grow(new)
        self.capacity = new

    def append(self, parent: int, operator: str | None, attributes: Mapping[str, Any]) -> int:
        """Add a row (``parent`` is a row, ``-1`` for a root) of clean attributes; return its index."""
        i = self.n
        if i == self.capacity:
            self._grow(i + 1)
        self.parent[i] = parent
        self.depth[i] = 0 if parent < 0 else self.depth[parent] + 1
        if operator is not None:
            self.operator.put(i, operator)
        self.n = i + 1
        for name, value in attributes.items():
            self.set(i, name, value)
        return i

    def set(self, i: int, name: str, value: Any) -> None:
        """Set (``None``: clear) attribute ``name`` of row ``i``."""
        col = self.cols.get(name)
        if value is None:
            if col is not None:
                col.clear(i)
            return
        kind = kind_of(value)
        if col is None:
            col = self.cols[name] = Column(kind, self.capacity)
        elif col.kind != kind and col.kind != MIXED:
            if col.mask(self.n).any():
                col.to_mixed(self.n)
            else:  # nothing left of the old type: the column takes the new one
                col = self.cols[name] = Column(kind, self.capacity)
        col.put(i, value)

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i``'s attributes by name (sorted), missing ones left out."""
        out = {}
        for name in sorted(self.cols):
            v = self.cols[name].get(i)
            if v is not None:
                out[name] = v
        return out

    def names(self, start: int = 0) -> list[str]:
        """Every attribute name that some row (from row ``start`` on) holds, sorted."""
        return sorted(name for name, col in self.cols.items() if col.mask(self.n, start).any())

    def items(self) -> Iterator[tuple[str, Column]]:
        return iter(sorted(self.cols.items()))

    @classmethod
    def from_arrays(
        cls, parent: npt.NDArray[np.int64], operator: Column, columns: Mapping[str, Column]
    ) -> Columns:
        """Columns of ``len(parent)`` rows from whole arrays (a file read back); parents must come first."""
        n = len(parent)
        out = cls(max(n, 1))
        out.n = n
        out.parent[:n] = parent
        out.depth[:n] = depth_of(parent)
        out.operator = operator
        out.cols = dict(columns)
        for col in (operator, *out.cols.values()):
            if col.kind != MIXED and len(col.data) < out.capacity:
                col.grow(out.capacity)
        return out

