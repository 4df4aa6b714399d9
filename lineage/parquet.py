"""Columnar lineage files: ``lineage.parquet`` (lossless, read back by :meth:`LineageGraph.load`) and
the ``agents.parquet`` table, written from the lineage's columns without visiting agents.

``lineage.parquet`` has one row per agent in insertion order: ``id`` (string), ``parent`` (the row
of the parent, an int64, null for a root), ``operator`` (string, null for a root), then one column
per attribute in name order, typed as the lineage keeps it (float64, int64, bool, string; a column
of mixed types as the JSON text of each value, marked ``lineage_kind = mixed`` in the field's
metadata). The lineage's own attributes are the JSON object in the schema's ``lineage_metadata``.

The bytes depend on the lineage alone: row groups hold :data:`ROW_GROUP` agents (never cut by time
or by where a run was interrupted), strings are written as values (parquet's own dictionary pages,
not the order in which the lineage first saw them), and the compression is fixed (zstd).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lineage.columns import BOOL, FLOAT, INT, MIXED, STR, Column, Columns, kind_of
from lineage.errors import LineageError, LineageFileError
from lineage.files import MAX_DATA_BYTES, atomic_write_with, read_bytes
from lineage.text import brief, printable

if TYPE_CHECKING:
    import pyarrow as pa

    from lineage.graph import LineageGraph

__all__ = ["MAGIC", "ROW_GROUP", "agents_table", "is_parquet", "load_parquet", "save_parquet", "write_table"]

#: Agents per row group: fixed, so that the same lineage always gives the same bytes.
ROW_GROUP = 65_536
MAGIC = b"PAR1"
_FORMAT = b"lineage-sim-lineage"
_VERSION = b"1"
_KIND_KEY = b"lineage_kind"


def _pa() -> Any:
    """pyarrow with its compute and parquet modules, imported on first use (it takes 0.2 s)."""
    import pyarrow as pa
    import pyarrow.compute
    import pyarrow.parquet

    return pa


def is_parquet(path: str | Path) -> bool:
    """Whether ``path`` starts with parquet's magic bytes (a regular file of at least 4 bytes)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO is never opened here
            return False
        with open(path, "rb") as fh:
            return fh.read(4) == MAGIC
    except OSError:
        return False


# ---------------------------------------------------------------------- writing
def _arrow(col: Column, n: int) -> tuple[pa.Array, dict[bytes, bytes] | None]:
    """One lineage column as an Arrow array (nulls where missing) and its field metadata."""
    pa = _pa()
    kind = col.kind
    if kind == FLOAT:
        data = col.data[:n]
        return pa.array(data, pa.float64(), mask=np.isnan(data)), None
    if kind == INT:
        return pa.array(col.data[:n], pa.int64(), mask=~col.present[:n]), None  # type: ignore[index]
    if kind == BOOL:
        d = col.data[:n]
        return pa.array(d == 1, pa.bool_(), mask=d < 0), None
    if kind == STR:
        codes = col.data[:n]
        strings = pa.array(col.strings, pa.string())
        return pa.compute.take(strings, pa.array(codes, pa.int32(), mask=codes < 0)), None
    values = col.values(n)
    kinds = {kind_of(v) for v in values if v is not None}
    if len(kinds) == 1 and MIXED not in kinds:  # mixed once, of one type now: written as that type
        settled = Column(kinds.pop(), n)
        for i, v in enumerate(values):
            if v is not None:
                settled.put(i, v)
        return _arrow(settled, n)
    text = [None if v is None else json.dumps(v, allow_nan=True) for v in values]
    return pa.array(text, pa.string()), {_KIND_KEY: MIXED.encode()}


def _table(fields: list[tuple[str, pa.Array, dict[bytes, bytes] | None]], metadata: dict[bytes, bytes]) -> pa.Table:
    pa = _pa()
    schema = pa.schema([pa.field(name, arr.type, metadata=meta) for name, arr, meta in fields], metadata=metadata)
    return pa.Table.from_arrays([arr for _, arr, _ in fields], schema=schema)


def lineage_table(lineage: LineageGraph) -> pa.Table:
    """The lineage as the Arrow table ``lineage.parquet`` holds (see the module)."""
    pa = _pa()
    c = lineage._c
    n = c.n
    parent = c.parent[:n]
    fields: list[tuple[str, Any, Any]] = [
        ("id", pa.array(lineage.ids, pa.string()), None),
        ("parent", pa.array(parent, pa.int64(), mask=parent < 0), None),
        ("operator", _arrow(c.operator, n)[0], None),
    ]
    fields += [(name, *_arrow(col, n)) for name, col in c.items() if col.mask(n).any()]
    meta = json.dumps(dict(sorted(lineage.metadata.items())), allow_nan=True)
    return _table(
        fields, {b"lineage_format": _FORMAT, b"lineage_version": _VERSION, b"lineage_metadata": meta.encode()}
    )


#: The columns ``agents.csv`` and ``agents.parquet`` put first, in this order.
AGENT_COLUMNS = ("id", "parent", "depth", "operator", "kind", "birth_time")


def agents_table(lineage: LineageGraph) -> pa.Table:
    """The ``agents.csv`` table as Arrow (typed columns): id, parent id, depth, operator, kind,
    birth time, then every other attribute by name."""
    pa = _pa()
    c = lineage._c
    n = c.n
    parent = c.parent[:n]
    ids = pa.array(lineage.ids, pa.string())
    fields: list[tuple[str, Any, Any]] = [
        ("id", ids, None),
        ("parent", pa.compute.take(ids, pa.array(parent, pa.int64(), mask=parent < 0)), None),
        ("depth", pa.array(c.depth[:n], pa.int64()), None),
        ("operator", _arrow(c.operator, n)[0], None),
    ]
    for name, empty in (("kind", pa.string()), ("birth_time", pa.int64())):
        col = c.cols.get(name)
        fields.append((name, *_arrow(col, n)) if col is not None else (name, pa.nulls(n, empty), None))
    fields += [
        (name, *_arrow(col, n)) for name, col in c.items() if name not in AGENT_COLUMNS and col.mask(n).any()
    ]
    return _table(fields, {b"lineage_format": b"lineage-sim-agents", b"lineage_version": _VERSION})


def write_table(table: pa.Table, path: str | Path) -> None:
    """Write ``table`` to ``path`` atomically as parquet, row groups of :data:`ROW_GROUP` rows, zstd."""
    atomic_write_with(path, lambda fh: _write(table, fh))


def _write(table: pa.Table, where: Any) -> None:
    """The one way a table is written: row groups of :data:`ROW_GROUP` rows, zstd."""
    _pa().parquet.write_table(table, where, row_group_size=ROW_GROUP, compression="zstd")


def save_parquet(lineage: LineageGraph, path: str | Path) -> None:
    """Write ``lineage.parquet`` (see the module) to ``path`` atomically."""
    write_table(lineage_table(lineage), path)


def to_parquet(lineage: LineageGraph) -> bytes:
    """The bytes of ``lineage.parquet`` (what :func:`save_parquet` writes)."""
    sink = _pa().BufferOutputStream()
    _write(lineage_table(lineage), sink)
    return bytes(sink.getvalue().to_pybytes())


# ---------------------------------------------------------------------- reading
def _fail(path: str | Path, what: str) -> LineageFileError:
    return LineageFileError(f"{printable(path)}: {what}")


def _column(path: str | Path, name: str, arr: Any, meta: dict[bytes, bytes] | None, n: int) -> Column:
    """A lineage column from one Arrow column of a file, its type checked."""
    pa = _pa()
    t = arr.type
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), bool)
    if meta and meta.get(_KIND_KEY) == MIXED.encode():
        if not pa.types.is_string(t) and not pa.types.is_large_string(t):
            raise _fail(path, f"column {brief(name)} is marked mixed but is of type {t}, not string")
        col = Column(MIXED, n)
        for i, text in enumerate(arr.to_pylist()):
            if text is None:
                continue
            try:
                v = json.loads(text)
            except ValueError:
                raise _fail(path, f"column {brief(name)} row {i} is not JSON ({brief(text)})") from None
            if type(v) not in (str, int, float, bool):
                raise _fail(path, f"column {brief(name)} row {i} holds {brief(v)}; values are str, int, float, bool")
            if v == v:  # a NaN is a missing value
                col.data[i] = v
        return col
    if pa.types.is_floating(t):
        col = Column(FLOAT, n)
        col.data[:] = arr.cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        return col
    if pa.types.is_boolean(t):
        col = Column(BOOL, n)
        col.data[:] = np.where(valid, arr.fill_null(False).to_numpy(zero_copy_only=False), -1)
        return col
    if pa.types.is_integer(t):
        if pa.types.is_uint64(t) and len(arr) and (pa.compute.max(arr).as_py() or 0) > 2**63 - 1:
            raise _fail(path, f"column {brief(name)} holds integers beyond int64; accepted are int64 integers")
        col = Column(INT, n)
        col.data[:] = arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        col.present[:] = valid  # type: ignore[index]
        return col
    if pa.types.is_string(t) or pa.types.is_large_string(t) or (
        pa.types.is_dictionary(t) and pa.types.is_string(t.value_type)
    ):
        if pa.types.is_dictionary(t):
            arr = arr.cast(pa.string())
        enc = pa.compute.dictionary_encode(arr)
        col = Column(STR, n)
        col.strings = [str(s) for s in enc.dictionary.to_pylist()]
        col.codes = {s: i for i, s in enumerate(col.strings)}
        col.data[:] = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return col
    raise _fail(path, f"column {brief(name)} is of type {t}; accepted are float, int64, bool and string columns")


def load_parquet(path: str | Path, *, max_bytes: int | None = None, hint: str = "") -> LineageGraph:
    """Read ``lineage.parquet`` back into an equal :class:`~lineage.graph.LineageGraph`, column by column.

    Refused with :class:`LineageFileError` naming the file: anything but a regular file, a file
    over ``max_bytes`` (default :data:`lineage.files.MAX_DATA_BYTES`), not parquet, not a lineage
    (no ``id``/``parent`` columns), an id twice, a parent row that is not an earlier row, a column
    of a type a lineage does not hold, a reserved attribute name. Reading never runs code.
    """
    from lineage.graph import RESERVED_ATTRIBUTES, LineageGraph, _check_text, _clean_attributes

    pa = _pa()
    limit = MAX_DATA_BYTES if max_bytes is None else max_bytes
    data = read_bytes(path, limit=limit, what="a parquet lineage", hint=hint)
    try:
        table = pa.parquet.read_table(pa.BufferReader(data))
    except (OSError, ValueError, pa.ArrowException) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(path, f"is not a readable parquet file ({reason})") from None
    names = table.column_names
    if names[:3] != ["id", "parent", "operator"]:
        raise _fail(path, "is not a parquet lineage: expected the columns id, parent, operator first")
    if len(set(names)) != len(names):
        raise _fail(path, "has two columns of the same name")
    n = table.num_rows
    schema = table.schema
    ids_col = table.column("id")
    if not pa.types.is_string(ids_col.type) and not pa.types.is_large_string(ids_col.type):
        raise _fail(path, f"column 'id' is of type {ids_col.type}; ids are strings")
    if ids_col.null_count:
        raise _fail(path, "column 'id' has a missing id")
    try:
        ids = [str(a) for a in ids_col.to_pylist()]
    except UnicodeDecodeError:
        raise _fail(path, "column 'id' holds text that is not UTF-8") from None
    parent_col = table.column("parent")
    if pa.types.is_null(parent_col.type):  # every agent a root
        parent_col = pa.chunked_array([pa.nulls(n, pa.int64())])
    if not pa.types.is_integer(parent_col.type):
        raise _fail(path, f"column 'parent' is of type {parent_col.type}; parents are rows (integers, null for roots)")
    parent = parent_col.cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    bad = np.flatnonzero((parent < -1) | (parent >= np.arange(n)))
    if len(bad):
        i = int(bad[0])
        raise _fail(
            path, f"agent {brief(ids[i])} (row {i}) has parent row {int(parent[i])}; a parent is an earlier row"
        )
    meta_raw = (schema.metadata or {}).get(b"lineage_metadata", b"{}")
    try:
        metadata = json.loads(meta_raw)
    except ValueError:
        raise _fail(path, "its lineage_metadata is not JSON") from None
    if not isinstance(metadata, dict):
        raise _fail(path, "its lineage_metadata is not a JSON object")
    try:
        metadata = _clean_attributes("<graph>", metadata)
        columns: dict[str, Column] = {}
        for name in names[3:]:
            if name in RESERVED_ATTRIBUTES:
                raise _fail(path, f"has an attribute named {name!r}, which is reserved")
            _check_text("<file>", "attribute name", name)
            if pa.types.is_null(table.schema.field(name).type):
                continue  # no agent carries it
            columns[name] = _column(path, name, table.column(name).combine_chunks(), schema.field(name).metadata, n)
        op_col = table.column("operator").combine_chunks()
        if op_col.null_count == n or pa.types.is_null(op_col.type):
            operator = Column(STR, n)
        else:
            operator = _column(path, "operator", op_col, None, n)
            if operator.kind != STR:
                raise _fail(path, f"column 'operator' is of type {op_col.type}; operators are strings")
        operator.data[:n][parent < 0] = -1  # a root's operator is not recorded
        return LineageGraph._from_columns(metadata, ids, Columns.from_arrays(parent, operator, columns))
    except LineageFileError:
        raise
    except UnicodeDecodeError:
        raise _fail(path, "holds text that is not UTF-8") from None
    except LineageError as exc:
        raise _fail(path, str(exc)) from None

