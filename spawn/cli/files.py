"""What the reading and writing commands (inspect, export, compare, plot) share: output paths
checked before any work, and data files read within the ``data_bytes`` limit. (Every error line
is escaped once, in :func:`spawn.cli.main`.)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from lineage import LineageError, LineageGraph, check_writable_file, read_text
from spawn import limits
from spawn.cli import PROG
from spawn.errors import UsageError

__all__ = ["check_output", "load_lineage", "read_data_text"]

def check_output(command: str, option: str, value: str, *, suffix: str | None = None) -> Path:
    """Refuse an output path before any work is done: one that exists and is not a regular file
    (a symlink, a device such as ``/dev/null``, a FIFO, a folder), one whose folder is missing or
    is a file, and one in a folder where no file can be created (``/proc``, a read-only folder).
    Nothing is left behind (the folder is tried with a temporary file, removed at once)."""
    name = f"{PROG} {command}"
    out = Path(value)
    try:
        check_writable_file(out)
    except LineageError as exc:
        raise UsageError(f"{name}: {option} {exc}") from None
    if suffix is not None and out.suffix.lower() != suffix:
        raise UsageError(f"{name}: {option} {value!r} must end in {suffix}")
    folder = out.parent if str(out.parent) else Path(".")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise UsageError(
            f"{name}: {option} {value!r}: no file can be written in {str(folder)!r} ({exc.strerror or exc})"
        ) from None
    os.close(fd)
    os.unlink(probe)
    return out


def _limit() -> dict[str, Any]:
    return {"max_bytes": limits.get("data_bytes"), "hint": limits.hint("data_bytes")}


def load_lineage(path: str | Path) -> LineageGraph:
    """A lineage file, refused (one line) if it is not a regular file or is over ``data_bytes``."""
    return LineageGraph.load(path, **_limit())


def read_data_text(path: str | Path, what: str) -> str:
    """A data file (CSV, JSON) of a run as text, within the ``data_bytes`` limit."""
    lim = _limit()
    return read_text(path, limit=lim["max_bytes"], what=what, hint=lim["hint"])
