"""The lineage graph of finished agents' records (what the driver writes and the selectors read)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lineage import LineageGraph, path_key

if TYPE_CHECKING:
    from spawn.config import SimConfig
    from spawn.life.spec import AgentRecord

__all__ = ["build_lineage"]


def build_lineage(cfg: SimConfig, records: Iterable[AgentRecord]) -> LineageGraph:
    """The lineage from finished records, added in lineage-path order."""
    g = LineageGraph(seed=cfg.seed, budget=cfg.budget, regime=cfg.regime)
    for r in sorted(records, key=lambda r: path_key(r.id)):
        g.add_agent(r.id, parent=r.parent, operator=r.operator, **r.attributes)
    return g
