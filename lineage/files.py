"""Files on disk, handled defensively: atomic writes that never replace what is not a regular file,
and bounded reads that refuse FIFOs, devices, folders and files over a size limit before reading.

This module imports nothing heavy (no networkx), so every layer of the project can use it.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
>>> atomic_write(p, "hello\\n"); read_text(p, limit=100, what="a text file")
'hello\\n'
>>> read_text(p, limit=3, what="a text file")
Traceback (most recent call last):
...
lineage.errors.LineageFileError: ...x.txt: is 6 bytes, over the limit of 3 bytes for a text file
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from lineage.errors import LineageFileError

__all__ = [
    "MAX_DATA_BYTES",
    "TEMP_SUFFIX",
    "atomic_write",
    "atomic_write_with",
    "check_writable_file",
    "describe_mode",
    "read_bytes",
    "read_text",
    "remove_stray_temporaries",
]

#: Default size limit of a lineage or other data file the project reads (4 GiB): a lineage of 10^6
#: agents with a few dozen attributes each is about 1 GB of node-link JSON.
MAX_DATA_BYTES = 4 * 2**30

#: Temporary files of :func:`atomic_write` are named ``.<target name>.<random>.tmp`` beside the target.
TEMP_SUFFIX = ".tmp"


def describe_mode(mode: int) -> str:
    """What a file of ``os.stat`` mode ``mode`` is, for messages: ``"a FIFO"``, ``"a folder"``, ...

    >>> import stat
    >>> describe_mode(stat.S_IFIFO)
    'a FIFO'
    """
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "of an unknown kind"


def check_writable_file(path: str | Path) -> None:
    """Refuse a target that exists and is not a regular file (a symlink, device, FIFO or folder).

    Also refuses a target whose folder does not exist or is not a folder. Nothing is written.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        pst = os.stat(parent)
    except FileNotFoundError:
        raise LineageFileError(f"{path}: its folder {str(parent)!r} does not exist") from None
    except OSError as exc:
        raise LineageFileError(f"{path}: its folder cannot be used ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(pst.st_mode):
        raise LineageFileError(f"{path}: {str(parent)!r} is not a folder")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise LineageFileError(f"{path}: cannot be used ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise LineageFileError(
            f"{path}: exists and is {describe_mode(st.st_mode)}; only a regular file is replaced, so give another path"
        )


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part.

    The data goes to a temporary file beside the target, which then replaces it. A target that
    exists and is not a regular file (a symlink, a device, a FIFO, a folder) is never replaced:
    :class:`~lineage.errors.LineageFileError` names it.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    atomic_write_with(path, lambda fh: fh.write(payload))


def atomic_write_with(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """:func:`atomic_write` of what ``write`` writes to the temporary file it is handed (a file
    written in pieces, such as parquet, without holding it whole in memory)."""
    path = Path(path)
    check_writable_file(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates the file 0600; give it the mode a plain open() would have (or keep the
        # mode of the file it replaces), so that an export is readable like any other file.
        os.chmod(tmp, _target_mode(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stray_temporaries(folder: str | Path, names: tuple[str, ...]) -> list[Path]:
    """Remove temporary files that an interrupted :func:`atomic_write` of one of ``names`` left.

    Returns the paths removed. Only files named ``.<name>.<anything>.tmp`` are touched.
    """
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for p in entries:
        n = p.name
        if n.endswith(TEMP_SUFFIX) and any(n.startswith(f".{name}.") for name in names) and p.is_file():
            p.unlink(missing_ok=True)
            removed.append(p)
    return sorted(removed)


def _umask() -> int:
    # The only portable way to read the umask is to set it; done once, at import.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def _target_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_UMASK


def read_bytes(path: str | Path, *, limit: int, what: str, hint: str = "") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; one-line errors for anything else.

    FIFOs, devices, sockets and folders are refused before anything is read (so ``/dev/zero`` or a
    FIFO never hangs a command), and so is a file over ``limit`` bytes. ``what`` names what was
    expected (``"a TOML config"``); ``hint`` says how to raise the limit.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise LineageFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise LineageFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise LineageFileError(f"{path}: is {describe_mode(st.st_mode)}, expected {what}")
    suffix = f"; {hint}" if hint else ""
    if st.st_size > limit:
        raise LineageFileError(f"{path}: is {st.st_size} bytes, over the limit of {limit} bytes for {what}{suffix}")
    try:
        # O_NONBLOCK: should the path have become a FIFO since the stat, opening it does not hang.
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise LineageFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise LineageFileError(f"{path}: is not a regular file, expected {what}")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise LineageFileError(f"{path}: is over the limit of {limit} bytes for {what}{suffix}")
    return data


def read_text(path: str | Path, *, limit: int, what: str, hint: str = "") -> str:
    """:func:`read_bytes` decoded as UTF-8, with a one-line error for text that is not."""
    data = read_bytes(path, limit=limit, what=what, hint=hint)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LineageFileError(f"{path}: is not UTF-8 text (byte {exc.start}); expected {what}") from None
