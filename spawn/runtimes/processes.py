"""A local process pool for ``map`` work (the AIQ estimator's programs); it runs no agent trees.

It has the :class:`~spawn.runtimes.base.Executor`'s ``map``, ``where`` and ``close`` but no ``run_tree``,
so it is not a registered runtime of ``lineage-sim run``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["LocalProcessExecutor"]


class LocalProcessExecutor:
    """``map`` over a local pool of ``workers`` processes (started on first use), results in input order.

    Examples
    --------
    >>> ex = LocalProcessExecutor(2)
    >>> ex.map(abs, [-3, 1, -2]), ex.where()
    ([3, 1, 2], {'runtime': 'processes', 'nodes': 1, 'cpus': 2})
    >>> ex.close()
    """

    name = "processes"

    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[fn(x) for x in items]`` in the pool's processes (``fn`` and the items must be picklable)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers)
        chunk = max(1, len(items) // (self.workers * 4))
        return list(self._pool.map(fn, items, chunksize=chunk))

    def where(self) -> dict[str, Any]:
        return {"runtime": self.name, "nodes": 1, "cpus": self.workers}

    def close(self) -> None:
        """Shut the processes down (a later ``map`` starts new ones)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
