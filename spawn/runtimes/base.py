"""What a runtime is: an :class:`Executor` runs agents' jobs; :func:`make_executor` makes the one a
registered runtime names."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from spawn.errors import RunDirError
from spawn.registry import RUNTIMES

if TYPE_CHECKING:
    from spawn.config import SimConfig
    from spawn.life.job import AgentSpec, JobResult

__all__ = ["Executor", "OnResult", "make_executor"]

OnResult = Callable[["JobResult"], None]


class Executor(Protocol):
    """Where agent jobs run. Results may arrive in any order; the driver orders them."""

    name: str

    def run_tree(self, cfg: SimConfig, specs: Sequence[AgentSpec], on_result: OnResult) -> None:
        """Run ``specs`` and, recursively, every child they create, calling ``on_result`` for each."""

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[fn(x) for x in items]``, possibly in parallel; results in the order of ``items``.

        ``fn`` must be a picklable module-level function (Ray ships it to workers).
        """

    def where(self) -> dict[str, Any]:
        """Facts about where the work ran (for ``timing.json``)."""

    def close(self) -> None: ...


def make_executor(runtime: str, **options: Any) -> Executor:
    """The executor of a registered runtime (:data:`spawn.runtimes.RUNTIMES`), made with ``options``."""
    if runtime not in RUNTIMES:
        raise RunDirError(RUNTIMES.unknown(runtime))
    executor: Executor = RUNTIMES.get(runtime)(**options)
    return executor
