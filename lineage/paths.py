"""Lineage-path ids (``0``, ``0.1``, ``0.1.0``) and their numeric-per-component order."""

from __future__ import annotations

import functools
from collections.abc import Iterable

__all__ = ["child_id", "path_key", "sort_ids"]


@functools.lru_cache(maxsize=1 << 16)  # sorts and the archive's insertions ask again and again
def path_key(agent_id: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key that orders lineage paths numerically per component.

    Numeric components sort as numbers and before non-numeric ones, which sort as text,
    so any string is a valid id (``isdecimal``, not ``isdigit``: ``"²"`` is a digit but no number).

    Examples
    --------
    >>> sorted(["0.10", "0.2", "0", "0.2.1"], key=path_key)
    ['0', '0.2', '0.2.1', '0.10']
    """
    return tuple(
        (0, int(part), "") if part.isdecimal() else (1, 0, part) for part in agent_id.split(".")
    )


def sort_ids(ids: Iterable[str]) -> list[str]:
    """Return ``ids`` in lineage-path order.

    Examples
    --------
    >>> sort_ids(["1", "0.10", "0.9"])
    ['0.9', '0.10', '1']
    """
    return sorted(ids, key=path_key)


def child_id(parent_id: str, birth_index: int) -> str:
    """The id of the ``birth_index``-th child of ``parent_id``.

    Examples
    --------
    >>> child_id("0.3", 2)
    '0.3.2'
    """
    if birth_index < 0:
        raise ValueError(f"birth_index must be >= 0, got {birth_index}")
    return f"{parent_id}.{birth_index}"
