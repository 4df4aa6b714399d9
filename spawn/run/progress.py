"""A rich progress display for runs: agents born, and training steps spent of the budget."""

from __future__ import annotations

from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

__all__ = ["RunProgress"]


class RunProgress:
    """Two bars: agents recorded (open-ended) and steps of the budget. A no-op when disabled."""

    def __init__(self, budget: int, enabled: bool = True) -> None:
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            disable=not enabled,
            transient=False,
        )
        self.agents = self.progress.add_task("agents born", total=None)
        self.steps = self.progress.add_task("steps spent", total=budget)

    def advance(self, agents: int, steps: int) -> None:
        self.progress.advance(self.agents, agents)
        self.progress.advance(self.steps, steps)

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()
