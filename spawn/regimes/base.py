"""What both regimes share: how they save their state, and how a run is stopped early."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Saver", "StopRun"]


class Saver(Protocol):
    """Where a regime appends its state (the run's checkpoint writer)."""

    def save(self, entries: list[dict[str, Any]]) -> None: ...


class StopRun(Exception):
    """Raised from a result callback to stop a run early (the checkpoint stays resumable)."""
