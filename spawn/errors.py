"""The spawn package's exceptions: each names the bad value and what is accepted."""

from __future__ import annotations

__all__ = ["AgentFailedError", "CheckpointError", "ConfigError", "RunDirError", "SpawnError"]


class SpawnError(Exception):
    """Base class of every error raised by :mod:`spawn`."""


class ConfigError(SpawnError, ValueError):
    """A configuration that cannot be run: unknown key, wrong type, value out of range, unknown name."""


class RunDirError(SpawnError, ValueError):
    """A run directory that cannot be used (exists and is not empty, is not a run, ...)."""


class CheckpointError(SpawnError, ValueError):
    """A checkpoint that cannot be resumed from (missing, corrupt, or of another run)."""


class AgentFailedError(SpawnError, RuntimeError):
    """An agent's user code raised and ``[faults] on_error = "fail"`` (or it could not even start)."""
