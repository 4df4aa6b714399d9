"""Gymnasium environments and constitutions: where agents act, and what they must not do."""

from __future__ import annotations

__all__: list[str] = []
