"""Attribution: credit and blame for what a lineage achieves, from numbers and arrays only."""

from __future__ import annotations

__all__: list[str] = []
