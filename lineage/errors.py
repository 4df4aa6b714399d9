"""The lineage package's exceptions: each says what was wrong and what is accepted."""

from __future__ import annotations

__all__ = [
    "AttributeTypeError",
    "DuplicateAgentError",
    "LineageError",
    "LineageFileError",
    "UnknownAgentError",
]


class LineageError(Exception):
    """Base class of every error raised by :mod:`lineage`."""


class DuplicateAgentError(LineageError, ValueError):
    """An agent id that is already in the lineage was added again."""


class UnknownAgentError(LineageError, KeyError):
    """An agent id (or a parent id) that is not in the lineage."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class AttributeTypeError(LineageError, TypeError):
    """An attribute value that is not a str, int, float or bool, or a reserved attribute name."""


class LineageFileError(LineageError, ValueError):
    """A lineage file that cannot be read: missing, corrupt, or of a foreign shape."""
