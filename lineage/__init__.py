"""The lineage record: who made whom, by which operator, and what each achieved.

Imports nothing else of this project. :class:`LineageGraph` owns a networkx ``DiGraph``
(parent → child) and keeps a growing columnar view (:class:`LineageArrays`) for vectorised
passes over the tree such as :func:`clade_sum`.
"""

from __future__ import annotations

from lineage.arrays import LineageArrays, clade_max, clade_sum, depth_levels
from lineage.display import render_tree
from lineage.errors import (
    AttributeTypeError,
    DuplicateAgentError,
    LineageError,
    LineageFileError,
    UnknownAgentError,
)
from lineage.graph import RESERVED_ATTRIBUTES, AttributeValue, LineageGraph
from lineage.io import (
    FORMATS,
    atomic_write,
    from_networkx,
    load_json,
    save_json,
    to_alife_csv,
    to_graphml,
    to_json,
    to_newick,
    write,
)
from lineage.paths import child_id, path_key, sort_ids
from lineage.summary import colless, sackin, summarize, summary_table

__all__ = [
    "FORMATS",
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
    "child_id",
    "clade_max",
    "clade_sum",
    "colless",
    "depth_levels",
    "from_networkx",
    "load_json",
    "path_key",
    "render_tree",
    "sackin",
    "save_json",
    "sort_ids",
    "summarize",
    "summary_table",
    "to_alife_csv",
    "to_graphml",
    "to_json",
    "to_newick",
    "write",
]
