"""Run directories: which folders ``--out`` may use, the owner's lock, the run kind, and clean-up.

A directory lineage-sim makes holds ``lineage-sim.json``, which says what kind of directory it is
(``run``, ``sweep`` or ``study``), so that a stale ``sweep.json`` or ``study.csv`` never changes how
``plot`` or ``resume`` read it. While a command writes there, ``.lineage-sim.lock`` holds its process
id: a second ``run --force`` or ``resume`` into the same directory is refused while that process
lives (the lock of a process that died is taken over).

``--out`` takes a new path, an empty directory, or a directory lineage-sim made; never a symbolic
link, a regular file, a device, or a folder holding files of the user's (not even with ``--force``).
``--force`` removes only the files lineage-sim writes, and says which.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage import atomic_write
from lineage.files import TEMP_SUFFIX, describe_mode
from spawn.errors import RunDirError

__all__ = [
    "KINDS",
    "LOCK",
    "MARKER",
    "PROJECT_FILES",
    "Claim",
    "clean",
    "inside",
    "open_dir",
    "open_out",
    "run_kind",
]

MARKER = "lineage-sim.json"
LOCK = ".lineage-sim.lock"
#: Where ``--force`` keeps the files it replaces until the new run is over (put back if it fails).
SET_ASIDE = ".lineage-sim-replaced"
KINDS = ("run", "sweep", "study")

#: Files lineage-sim writes in a run, sweep or study directory (and nothing else is ever removed).
RUN_FILES = (
    "config.toml",
    "lineage.json",
    "lineage.parquet",
    "phylogeny.csv",
    "agents.csv",
    "agents.parquet",
    "curves.csv",
    "summary.json",
    "timing.json",
    "attribution.csv",
    "batches.csv",
    "steps.csv",
    "checkpoint.pkl",  # the pickle checkpoint of older versions (never read)
)
SWEEP_FILES = ("sweep.json", "aggregate.csv")
STUDY_FILES = ("study.csv", "predictiveness.csv", "final.csv")
PROJECT_FILES = (*RUN_FILES, *SWEEP_FILES, *STUDY_FILES, MARKER)
_CHECKPOINT_DIR = "checkpoint"
_KIND_FILES = {"sweep": SWEEP_FILES, "study": STUDY_FILES}


def _is_temporary(name: str) -> bool:
    return name.endswith(TEMP_SUFFIX) and any(name.startswith(f".{n}.") for n in (*PROJECT_FILES, LOCK))


def _is_checkpoint_file(name: str) -> bool:
    return name == "manifest.json" or (name.startswith("seg-") and name.endswith(".jsonl")) or (
        name.endswith(TEMP_SUFFIX) and name.startswith((".manifest.json.", ".seg-"))
    )


def _lstat(p: Path) -> os.stat_result | None:
    try:
        return os.lstat(p)
    except OSError:
        return None


def _is_plain_dir(p: Path) -> bool:
    st = _lstat(p)
    return st is not None and stat.S_ISDIR(st.st_mode)


def _is_plain_file(p: Path) -> bool:
    st = _lstat(p)
    return st is not None and stat.S_ISREG(st.st_mode)


def read_marker(path: Path) -> dict[str, Any] | None:
    """The marker of a directory lineage-sim made, or None."""
    p = path / MARKER
    if not _is_plain_file(p):
        return None
    try:
        if os.lstat(p).st_size > 4096:
            return None
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and data.get("made_by") == "lineage-sim" and data.get("kind") in KINDS:
        return data
    return None


#: Files only lineage-sim writes: a folder without a marker is taken for an older version's run
#: only when it holds one of them (a folder holding just a ``config.toml`` may well be the user's).
_SIGNATURE = ("lineage.json", "lineage.parquet", "checkpoint.pkl", "sweep.json", "study.csv", "summary.json")


def _checkpoint_folder(path: Path) -> bool:
    """Whether a ``checkpoint`` folder holds only what lineage-sim writes there."""
    try:
        return all(_is_checkpoint_file(e.name) and _is_plain_file(e) for e in path.iterdir())
    except OSError:
        return False


def _project_dir(path: Path, depth: int = 0) -> bool:
    """Whether ``path`` holds only lineage-sim's files and folders (an older version wrote no marker)."""
    if depth > 3:
        return False
    try:
        entries = list(path.iterdir())
    except OSError:
        return False
    signed = False
    for e in entries:
        if e.name in PROJECT_FILES or e.name == LOCK or _is_temporary(e.name):
            if not _is_plain_file(e):
                return False
            signed = signed or e.name in _SIGNATURE
        elif e.name == SET_ASIDE and _is_plain_dir(e):
            continue
        elif _is_plain_dir(e) and (
            (e.name == _CHECKPOINT_DIR and _checkpoint_folder(e))
            or read_marker(e) is not None
            or _project_dir(e, depth + 1)
        ):
            signed = True
        else:
            return False
    return signed


def made_by_us(path: Path) -> bool:
    """Whether ``path`` is a directory lineage-sim made (its marker, or only lineage-sim's files)."""
    return _is_plain_dir(path) and (read_marker(path) is not None or _project_dir(path))


def run_kind(path: Path) -> str | None:
    """``run``, ``sweep`` or ``study`` for a directory lineage-sim made; None for anything else.

    The marker decides; a directory of an older version without one is recognised by its files.
    """
    marker = read_marker(path)
    if marker is not None:
        return str(marker["kind"])
    if not _is_plain_dir(path):
        return None
    if (path / "sweep.json").is_file():
        return "sweep"
    if (path / "study.csv").is_file():
        return "study"
    if any((path / name).is_file() for name in ("config.toml", "lineage.json", "lineage.parquet")):
        return "run"
    return None


def inside(base: Path, name: str, what: str) -> Path:
    """``base / name``, refused unless it resolves inside ``base`` (no ``..``, absolute path or symlink out)."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise RunDirError(f"{base}: {what} {name!r} is not a path inside {str(base)!r}")
    p = Path(name)
    root = base.resolve()
    target = (base / p).resolve()
    if p.is_absolute() or ".." in p.parts or (target != root and root not in target.parents):
        raise RunDirError(f"{base}: {what} {name!r} leads outside {str(base)!r}; only paths inside it are followed")
    return base / p


# ---------------------------------------------------------------------- clean-up
def clean(path: Path, *, keep_lock: bool = True, into: Path | None = None) -> list[Path]:
    """Remove every file lineage-sim writes in ``path`` and its run folders; return what was removed.

    Files of anyone else, and folders holding them, stay. With ``into``, the files are moved there
    (keeping their places relative to ``path``) instead of deleted, so that they can be put back.
    """
    removed: list[Path] = []
    try:
        entries = sorted(path.iterdir())
    except OSError:
        return removed

    def drop(f: Path, rel: tuple[str, ...]) -> None:
        if into is None:
            f.unlink(missing_ok=True)
        else:
            target = into.joinpath(*rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, target)
        removed.append(f)

    for e in entries:
        if e.name == LOCK and keep_lock:
            continue
        if e.name == SET_ASIDE:  # the files a --force set aside: removed or put back by Claim alone
            continue
        if e.name in PROJECT_FILES or e.name == LOCK or _is_temporary(e.name):
            if _is_plain_file(e):
                drop(e, (e.name,))
        elif e.name == _CHECKPOINT_DIR and _is_plain_dir(e):
            for f in sorted(e.iterdir()):
                if _is_checkpoint_file(f.name) and _is_plain_file(f):
                    drop(f, (e.name, f.name))
            _rmdir(e)
        elif _is_plain_dir(e) and (read_marker(e) is not None or _project_dir(e, 1)):
            removed += clean(e, keep_lock=False, into=None if into is None else into / e.name)
            _rmdir(e)
    return removed


def _put_back(store: Path, path: Path) -> None:
    """Move what :func:`clean` set aside in ``store`` back to its places under ``path``; drop ``store``."""
    for f in sorted(store.rglob("*")):
        if f.is_file() and not f.is_symlink():
            target = path / f.relative_to(store)
            if _lstat(target) is None:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, target)
    shutil.rmtree(store, ignore_errors=True)


def _rmdir(p: Path) -> bool:
    try:
        p.rmdir()
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------- the lock
def _start_time(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), where /proc tells; tells a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read(4096)
        return int(data.rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int, start: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    now = _start_time(pid)
    return start is None or now is None or now == start


def _take_lock(path: Path) -> None:
    lock = path / LOCK
    me = {"pid": os.getpid(), "host": socket.gethostname(), "start": _start_time(os.getpid())}
    for _ in range(4):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        except OSError as exc:
            raise RunDirError(f"{path}: cannot be written ({exc.strerror or exc})") from None
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps(me) + "\n")
            return
        owner = _lock_owner(lock)
        if owner is None:  # being written this instant, or damaged: look again, then take it over
            time.sleep(0.2)
            if _lock_owner(lock) is None:
                lock.unlink(missing_ok=True)
            continue
        pid, host, start = owner
        if host != me["host"]:
            raise RunDirError(
                f"{path}: in use by process {pid} on {host} (lock {lock}); if that run is over, delete the lock"
            )
        if pid == os.getpid() and (start is None or start == me["start"]):
            raise RunDirError(f"{path}: this process already writes there")
        if pid != os.getpid() and _alive(pid, start):
            raise RunDirError(
                f"{path}: in use by running process {pid} (lock {lock}); wait for it to end or stop it first"
            )
        lock.unlink(missing_ok=True)  # a stale lock of a process that died: taken over
    raise RunDirError(f"{path}: cannot take the lock {lock}")


def _lock_owner(lock: Path) -> tuple[int, str, int | None] | None:
    try:
        if not _is_plain_file(lock) or os.lstat(lock).st_size > 4096:
            return None
        data = json.loads(lock.read_text(encoding="utf-8"))
        pid, host, start = data["pid"], data["host"], data.get("start")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return None
    if type(pid) is not int or type(host) is not str or (start is not None and type(start) is not int):
        return None
    return pid, host, start


@dataclass
class Claim:
    """An output directory this process holds the lock of while it writes there; :meth:`undo` returns it
    to how the command found it (what the directory holds is read with :mod:`spawn.run.layout`)."""

    path: Path
    kind: str
    created: list[Path] = field(default_factory=list)  # folders this command made, outermost first
    removed: list[Path] = field(default_factory=list)  # what --force replaces (set aside until the end)

    def release(self) -> None:
        """The command is over (done, or interrupted with its checkpoint): what --force replaced goes.

        Only then is it said which files went: a command that fails puts them back (:meth:`undo`),
        so its one line on stderr is the error's.
        """
        shutil.rmtree(self.path / SET_ASIDE, ignore_errors=True)
        if self.removed:
            _say_removed(self.path, self.removed)
            self.removed = []
        self._unlock()

    def _unlock(self) -> None:
        lock = self.path / LOCK
        owner = _lock_owner(lock)
        if owner is not None and owner[0] == os.getpid():
            lock.unlink(missing_ok=True)

    def undo(self) -> None:
        """After a failure: remove what the command wrote, put back what --force set aside, and
        remove the folders the command made."""
        clean(self.path, keep_lock=True)
        store = self.path / SET_ASIDE
        if _is_plain_dir(store):
            _put_back(store, self.path)
        self._unlock()
        for p in reversed(self.created):
            _rmdir(p)

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _mkdirs(path: Path, flag: str) -> list[Path]:
    """Make ``path`` and its missing parents; return those made. Nothing is left when it fails."""
    missing: list[Path] = []
    p = path
    while _lstat(p) is None:
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    existing = p
    st = _lstat(existing)
    if st is not None and not stat.S_ISDIR(os.stat(existing).st_mode if stat.S_ISLNK(st.st_mode) else st.st_mode):
        raise RunDirError(f"{flag} {str(path)!r}: {str(existing)!r} is {describe_mode(st.st_mode)}, not a folder")
    made: list[Path] = []
    try:
        for q in reversed(missing):
            q.mkdir()
            made.append(q)
    except OSError as exc:
        for q in reversed(made):
            _rmdir(q)
        raise RunDirError(f"{flag} {str(path)!r}: cannot be created ({exc.strerror or exc})") from None
    return made


def open_out(path: Path, *, force: bool, kind: str, flag: str = "--out") -> Claim:
    """Take ``path`` for a new run of ``kind``: checked, made, locked and (with ``force``) cleaned.

    Refused with one line, before anything is written: a symbolic link, a file or device, a folder
    holding anything lineage-sim did not write, a folder of lineage-sim's without ``force``, and one
    another live process writes in.
    """
    path = Path(path)
    st = _lstat(path)
    created: list[Path] = []
    if st is None:
        created = _mkdirs(path, flag)
    elif not stat.S_ISDIR(st.st_mode):
        raise RunDirError(
            f"{flag} {str(path)!r} exists and is {describe_mode(st.st_mode)}; give a new path or an empty directory"
        )
    else:
        try:
            entries = sorted(e.name for e in path.iterdir())
        except OSError as exc:
            raise RunDirError(f"{flag} {str(path)!r}: cannot be read ({exc.strerror or exc})") from None
        if entries and not made_by_us(path):
            ours = set(PROJECT_FILES) | {LOCK, _CHECKPOINT_DIR, SET_ASIDE}
            theirs = [e for e in entries if e not in ours and not _is_temporary(e)] or entries
            raise RunDirError(
                f"{flag} {str(path)!r} holds files lineage-sim did not write (such as {theirs[0]!r}); "
                "give a new path or an empty directory (--force replaces only a lineage-sim directory)"
            )
        if entries and not force and entries != [LOCK]:
            raise RunDirError(
                f"{flag} {str(path)!r} exists and is not empty; pass --force to replace the lineage-sim "
                "outputs in it"
            )
    try:
        _take_lock(path)
    except RunDirError:
        for p in reversed(created):
            _rmdir(p)
        raise
    rd = Claim(path, kind, created)
    try:
        if st is not None:
            store = path / SET_ASIDE
            shutil.rmtree(store, ignore_errors=True)  # left by a --force that was killed: replaced already
            # Set aside, not deleted: should the new run fail, the old outputs are put back.
            rd.removed = clean(path, into=store)  # said once the command is over (release)
        atomic_write(path / MARKER, json.dumps({"made_by": "lineage-sim", "kind": kind}) + "\n")
    except BaseException:
        rd.undo()
        raise
    return rd


def _say_removed(path: Path, removed: list[Path]) -> None:
    """One line: the files removed at the top, then each folder with how many it held."""
    top: list[str] = []
    folders: dict[str, int] = {}
    for p in removed:
        parts = p.relative_to(path).parts
        if len(parts) == 1:
            top.append(parts[0])
        else:
            folders[parts[0]] = folders.get(parts[0], 0) + 1
    items = sorted(top) + [f"{name}/ ({n} files)" for name, n in folders.items()]
    shown = ", ".join(items[:12]) + (f" and {len(items) - 12} more" if len(items) > 12 else "")
    print(f"lineage-sim: --force: removed {len(removed)} file(s) lineage-sim wrote in {path}: {shown}", file=sys.stderr)


def open_dir(path: Path, *, kind: str) -> Claim:
    """Take an existing directory of ``kind`` (``resume``): locked, and refused when another process writes in it."""
    path = Path(path)
    st = _lstat(path)
    if st is None or not stat.S_ISDIR(st.st_mode):
        raise RunDirError(f"{str(path)!r} is not a run directory")
    _take_lock(path)
    return Claim(path, kind)
