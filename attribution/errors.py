"""The attribution package's exceptions: each names the bad value and what is accepted."""

from __future__ import annotations

__all__ = [
    "AttributionError",
    "RuleParameterError",
    "RuleSpecError",
    "UnknownRuleError",
    "ValueDataError",
]


class AttributionError(ValueError):
    """Base class of every error raised by :mod:`attribution`."""


class UnknownRuleError(AttributionError):
    """A rule name that is not registered; the message lists the known names and the closest."""


class RuleParameterError(AttributionError):
    """A rule parameter that does not exist or whose value is out of range."""


class RuleSpecError(AttributionError):
    """A rule spec string (``name:key=value,...``) that cannot be parsed."""


class ValueDataError(AttributionError):
    """Numbers a rule or transform cannot use: negative distances, mismatched shapes, a broken tree."""
