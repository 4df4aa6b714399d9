"""The ``inline`` runtime: every agent in this process, in lineage-path order. Starts nothing, imports no Ray."""

from __future__ import annotations

import heapq
import os
import platform
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lineage import path_key
from spawn.life.job import JobResult, run_agent

if TYPE_CHECKING:
    from spawn.config import SimConfig
    from spawn.life.job import AgentSpec

__all__ = ["InlineExecutor"]


class InlineExecutor:
    """Runs every agent in this process, in lineage-path order (with ``engine = "cohort"``, every agent
    ready at once as one cohort, their children the next). Starts nothing, imports no Ray."""

    name = "inline"

    def run_tree(
        self, cfg: SimConfig, specs: Sequence[AgentSpec], on_result: Callable[[JobResult], None]
    ) -> None:
        heap = [(path_key(s.id), s.id, s) for s in specs]
        heapq.heapify(heap)
        while heap:
            if cfg.engine == "cohort":  # every spec ready, one cohort; their children the next
                from spawn.life.cohort import run_cohort

                ready = [heapq.heappop(heap)[2] for _ in range(len(heap))]
                results = run_cohort(ready, cfg)
            else:
                results = [run_agent(heapq.heappop(heap)[2], cfg)]
            for result in results:
                on_result(result)
                for child in result.children:
                    heapq.heappush(heap, (path_key(child.id), child.id, child))

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        return [fn(x) for x in items]

    def where(self) -> dict[str, Any]:
        return {"runtime": self.name, "nodes": 1, "cpus": os.cpu_count() or 1, "host": platform.node()}

    def close(self) -> None:
        pass
