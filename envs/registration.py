"""Registration of this project's environments under the ``lineage_sim/`` namespace."""

from __future__ import annotations

__all__ = ["register_envs"]


def register_envs() -> None:
    """Register every ``lineage_sim/`` environment with gymnasium (idempotent)."""
