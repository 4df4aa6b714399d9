"""The spawn package's exceptions, each naming the bad value and what is accepted, and the one
"did you mean" hint they share.

>>> did_you_mean("plateu", ["drift", "plateau"])
" (did you mean 'plateau'?)"
>>> did_you_mean("xyz", ["drift", "plateau"])
''
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

__all__ = [
    "AgentFailedError",
    "CheckpointError",
    "ConfigError",
    "PlotError",
    "ReplayError",
    "RunDirError",
    "SpawnError",
    "UsageError",
    "did_you_mean",
]


def did_you_mean(word: str, choices: Iterable[str], show: Callable[[str], str] = repr) -> str:
    """`` (did you mean X?)`` for the choice closest to ``word`` (shown by ``show``), or ``""``."""
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean {show(close[0])}?)" if close else ""


class UsageError(Exception):
    """A command-line mistake: reported as one line on stderr with exit status 2."""


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


class ReplayError(SpawnError, ValueError):
    """A replay that cannot be made: an agent that is not in the run, a bad number of episodes."""


class PlotError(SpawnError, ValueError):
    """Input that cannot make the requested picture: a missing run, a kind it cannot make, a bad name."""
