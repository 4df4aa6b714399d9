"""The envs package's exceptions: each names the bad value and what is accepted."""

from __future__ import annotations

__all__ = [
    "ConstitutionMismatchError",
    "EnvsError",
    "InvalidParameterError",
    "NoAllowedActionError",
    "RuleError",
    "UnknownConstitutionError",
    "UnknownEnvironmentError",
    "UnknownRuleError",
    "short_repr",
]


def short_repr(value: object) -> str:
    """``repr(value)``, cut to 80 characters for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class EnvsError(ValueError):
    """Base class of every error raised by :mod:`envs`."""


class InvalidParameterError(EnvsError):
    """An environment, rule or constitution parameter out of its accepted range."""


class RuleError(EnvsError):
    """A rule's predicate or transform raised, or returned something that is not a truth value."""


class UnknownRuleError(EnvsError):
    """A rule name that the constitution does not contain."""


class UnknownConstitutionError(EnvsError):
    """A constitution name that is not registered."""


class UnknownEnvironmentError(EnvsError):
    """An environment id gymnasium cannot make; the message suggests the closest registered id."""


class ConstitutionMismatchError(EnvsError):
    """A constitution attached to an environment whose spaces it does not fit."""


class NoAllowedActionError(EnvsError):
    """A state in which the constitution forbids every action, so σ is undefined there."""
