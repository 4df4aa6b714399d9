"""The lineage record: who made whom, by which operator, and what each achieved.

Imports nothing else of this project. :class:`LineageGraph` keeps the record as typed columns
(:mod:`lineage.columns`: the parent as a row index), with an array view (:class:`LineageArrays`) for
vectorised passes over the tree such as :func:`clade_sum` and a networkx ``DiGraph`` built on first
use; :mod:`lineage.parquet` writes and reads it as ``lineage.parquet``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lineage.arrays import LineageArrays, clade_max, clade_sum, depth_levels
    from lineage.display import render_tree
    from lineage.errors import (
        AttributeTypeError,
        DuplicateAgentError,
        LineageError,
        LineageFileError,
        UnknownAgentError,
    )
    from lineage.files import (
        MAX_DATA_BYTES,
        atomic_write,
        check_writable_file,
        read_bytes,
        read_text,
        remove_stray_temporaries,
    )
    from lineage.graph import RESERVED_ATTRIBUTES, AttributeValue, LineageGraph
    from lineage.io import (
        FORMATS,
        from_networkx,
        load_json,
        save_json,
        to_alife_csv,
        to_graphml,
        to_json,
        to_newick,
        to_parquet,
        write,
    )
    from lineage.parquet import load_parquet, save_parquet
    from lineage.paths import child_id, path_key, sort_ids
    from lineage.summary import colless, sackin, summarize, summary_table

# Names load on first use (PEP 562): a process that only needs lineage paths (an agent job) does
# not pay for networkx and rich.
_LAZY: dict[str, str] = {
    "AttributeTypeError": "lineage.errors",
    "AttributeValue": "lineage.graph",
    "DuplicateAgentError": "lineage.errors",
    "FORMATS": "lineage.io",
    "LineageArrays": "lineage.arrays",
    "LineageError": "lineage.errors",
    "LineageFileError": "lineage.errors",
    "LineageGraph": "lineage.graph",
    "RESERVED_ATTRIBUTES": "lineage.graph",
    "UnknownAgentError": "lineage.errors",
    "MAX_DATA_BYTES": "lineage.files",
    "atomic_write": "lineage.files",
    "check_writable_file": "lineage.files",
    "read_bytes": "lineage.files",
    "read_text": "lineage.files",
    "remove_stray_temporaries": "lineage.files",
    "child_id": "lineage.paths",
    "clade_max": "lineage.arrays",
    "clade_sum": "lineage.arrays",
    "colless": "lineage.summary",
    "depth_levels": "lineage.arrays",
    "from_networkx": "lineage.io",
    "load_json": "lineage.io",
    "path_key": "lineage.paths",
    "render_tree": "lineage.display",
    "sackin": "lineage.summary",
    "save_json": "lineage.io",
    "sort_ids": "lineage.paths",
    "summarize": "lineage.summary",
    "summary_table": "lineage.summary",
    "to_alife_csv": "lineage.io",
    "to_graphml": "lineage.io",
    "to_json": "lineage.io",
    "to_newick": "lineage.io",
    "to_parquet": "lineage.io",
    "load_parquet": "lineage.parquet",
    "save_parquet": "lineage.parquet",
    "write": "lineage.io",
}

__all__ = [
    "FORMATS",
    "MAX_DATA_BYTES",
    "RESERVED_ATTRIBUTES",
    "AttributeTypeError",
    "AttributeValue",
    "DuplicateAgentError",
    "LineageArrays",
    "LineageError",
    "LineageFileError",
    "LineageGraph",
    "UnknownAgentError",
    "atomic_write",
    "check_writable_file",
    "child_id",
    "clade_max",
    "clade_sum",
    "colless",
    "depth_levels",
    "from_networkx",
    "load_json",
    "load_parquet",
    "path_key",
    "read_bytes",
    "read_text",
    "remove_stray_temporaries",
    "render_tree",
    "sackin",
    "save_json",
    "save_parquet",
    "sort_ids",
    "summarize",
    "summary_table",
    "to_alife_csv",
    "to_graphml",
    "to_json",
    "to_newick",
    "to_parquet",
    "write",
]


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'lineage' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
