"""A rich progress display for runs: agents born, training steps spent of the budget, and a line of
the run's state: the best value so far, agents alive and born, the deepest generation, steps per
second and, on the ``ray-*`` runtimes, the nodes in use.

Examples
--------
>>> from spawn.life.spec import AgentRecord
>>> bar = RunProgress(1000, enabled=False)
>>> bar.born(3)
>>> bar.finished(AgentRecord("0.1", "0", "mutate", {"value": 0.5}, 100, 10))
>>> bar.advance(1, 100)
>>> bar.best, bar.alive(), bar.deepest
(0.5, 2, 1)
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

__all__ = ["RunProgress"]


class _Progress(Progress):
    """rich's Progress with a line of the run's state under its bars."""

    def __init__(self, *columns: Any, stats: Any, **kw: Any) -> None:
        self._stats = stats
        super().__init__(*columns, **kw)

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        yield self._stats()


class RunProgress:
    """Two bars, agents recorded (open-ended) and steps of the budget, and the line of
    :meth:`stats`. A no-op display when disabled (the counts are still kept).

    ``nodes`` (on a ``ray-*`` runtime) tells how many nodes have run agents so far.
    """

    def __init__(
        self,
        budget: int,
        enabled: bool = True,
        *,
        nodes: Any = None,
        console: Console | None = None,
    ) -> None:
        self.enabled = enabled
        self.nodes = nodes
        self.best = -math.inf
        self.born_count = 0
        self.finished_count = 0
        self.deepest = 0
        self.steps_done = 0
        self._session_steps = 0
        self._started = time.perf_counter()
        self.progress = _Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            stats=self.stats,
            disable=not enabled,
            transient=False,
            console=console,
        )
        self.agents = self.progress.add_task("agents born", total=None)
        self.steps = self.progress.add_task("steps spent", total=budget)
        self._resumed = True  # the first advance is what a checkpoint already holds

    def advance(self, agents: int, steps: int) -> None:
        self.progress.advance(self.agents, agents)
        self.progress.advance(self.steps, steps)
        self.steps_done += steps
        if self._resumed:  # steps the checkpoint held are not this session's speed
            self._resumed = False
            self._started = time.perf_counter()
        else:
            self._session_steps += steps

    def born(self, n: int) -> None:
        """``n`` more agents were born (a checkpoint's, or children an agent made)."""
        self.born_count += n

    def finished(self, record: Any) -> None:
        """An agent finished (its :class:`~spawn.life.spec.AgentRecord`)."""
        self.finished_count += 1
        value = record.attributes.get("value")
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            self.best = max(self.best, float(value))
        self.deepest = max(self.deepest, record.id.count("."))

    def alive(self) -> int:
        """Agents born and not yet finished."""
        return max(self.born_count - self.finished_count, 0)

    def steps_per_second(self) -> float:
        wall = time.perf_counter() - self._started
        return self._session_steps / wall if wall > 0 else 0.0

    def stats(self) -> Text:
        """The line under the bars: best so far, alive / born, deepest generation, steps/s, nodes."""
        best = "-" if self.best == -math.inf else f"{self.best:.4g}"
        parts = [
            f"best value {best}",
            f"{self.alive():,} alive of {self.born_count:,} born",
            f"generation {self.deepest}",
            f"{self.steps_per_second():,.0f} steps/s",
        ]
        if self.nodes is not None:
            n = self.nodes()
            parts.append(f"{n} node{'' if n == 1 else 's'} in use")
        return Text(" · ".join(parts), style="dim")

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()
