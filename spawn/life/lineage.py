"""The lineage graph of finished agents' records (what the driver writes and the selectors read)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from lineage import LineageGraph
from lineage.arrays import path_order

if TYPE_CHECKING:
    from spawn.config import SimConfig
    from spawn.life.spec import AgentRecord

__all__ = ["add_record", "build_lineage", "in_path_order", "run_lineage"]


def in_path_order(records: Iterable[AgentRecord]) -> list[AgentRecord]:
    """``records`` in lineage-path order of their ids, from the tree they form (a parent missing from
    them makes its children roots of the order): :func:`lineage.arrays.path_order`."""
    recs = list(records)
    row = {r.id: i for i, r in enumerate(recs)}
    parent = np.array([row.get(r.parent, -1) if r.parent is not None else -1 for r in recs], np.int64)
    return [recs[i] for i in path_order([r.id for r in recs], parent).tolist()]


def run_lineage(cfg: SimConfig) -> LineageGraph:
    """An empty lineage with a run's own attributes (its seed, budget and regime)."""
    return LineageGraph(seed=cfg.seed, budget=cfg.budget, regime=cfg.regime)


def add_record(lineage: LineageGraph, record: AgentRecord) -> None:
    """Add a finished agent's record to ``lineage`` (its parent already there)."""
    lineage.add_agent(record.id, parent=record.parent, operator=record.operator, **record.attributes)


def build_lineage(cfg: SimConfig, records: Iterable[AgentRecord]) -> LineageGraph:
    """The lineage from finished records, added in lineage-path order."""
    g = run_lineage(cfg)
    for r in in_path_order(records):
        add_record(g, r)
    return g
