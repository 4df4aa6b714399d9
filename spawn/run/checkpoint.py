"""The run directory's checkpoint: plain data that grows by appending, read back with checks.

Layout (``DIR/checkpoint/``):

``manifest.json``
    Small, rewritten atomically at every save: the format marker ``"lineage-sim-checkpoint"``, its
    version, the run's regime, the sha256 digest of the config as run (:func:`config_digest`), and
    the list of segment files with each one's size, sha256 and number of entries.
``seg-000001.jsonl``, ``seg-000002.jsonl``, ...
    Immutable once written: one JSON object per line, each what the run did since the previous save
    (an agent's record and the children it made, an archive batch...). A save writes one new segment
    and then the manifest, so nothing already written is ever rewritten: a checkpoint of a run of
    10^6 agents costs what is new at each save, not the whole run.

Everything is JSON (floats written with ``repr``, so they come back bit for bit; ``inf`` and ``nan``
as ``Infinity`` and ``NaN``), decoded into the exact Python types the run uses (tuples where the
specs hold tuples). Nothing in it can construct an object or run code: reading it never imports or
calls anything named in the file. A manifest of another format or version, a segment whose size or
sha256 does not match the manifest (a truncated or altered file), and a checkpoint of another
config are each refused with one line.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage import MAX_DATA_BYTES, LineageError, atomic_write, read_bytes
from lineage.files import TEMP_SUFFIX
from spawn.config import SimConfig, config_to_toml
from spawn.errors import CheckpointError
from spawn.life.codec import (
    CHECKPOINT,
)

__all__ = [
    "FORMAT",
    "LEGACY_CHECKPOINT",
    "MANIFEST",
    "VERSION",
    "CheckpointWriter",
    "config_digest",
    "has_checkpoint",
    "read_checkpoint",
]

MANIFEST = "manifest.json"
FORMAT = "lineage-sim-checkpoint"
VERSION = 4  # 3: specs record trigger_task; 4: records carry their learning curve
#: The pickle checkpoint of lineage-sim before format 2: recognised by name, never read.
LEGACY_CHECKPOINT = "checkpoint.pkl"
_SEGMENT = re.compile(r"seg-(\d{6,})\.jsonl")
_MANIFEST_LIMIT = 256 * 2**20


def config_digest(cfg: SimConfig) -> str:
    """A fingerprint of the config as run: a checkpoint resumes only the config that wrote it."""
    return hashlib.sha256(config_to_toml(cfg).encode()).hexdigest()


def has_checkpoint(out: Path) -> bool:
    """Whether ``out`` holds a checkpoint of this format (a manifest; it is not checked here)."""
    return (out / CHECKPOINT / MANIFEST).is_file()


# ---------------------------------------------------------------------- plain data
# ---------------------------------------------------------------------- files
def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, allow_nan=True, ensure_ascii=True)


@dataclass
class CheckpointWriter:
    """Appends segments to a run's checkpoint; :meth:`save` is one atomic step for readers."""

    out: Path
    regime: str
    digest: str
    segments: list[dict[str, Any]] = field(default_factory=list)
    entries: int = 0

    @property
    def folder(self) -> Path:
        return self.out / CHECKPOINT

    def manifest(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "regime": self.regime,
            "config_sha256": self.digest,
            "entries": self.entries,
            "segments": list(self.segments),
        }

    @classmethod
    def create(cls, out: Path, cfg: SimConfig, regime: str) -> CheckpointWriter:
        """A new, empty checkpoint in ``out`` (it resumes a run from its first agent)."""
        writer = cls(Path(out), regime, config_digest(cfg))
        writer.folder.mkdir(exist_ok=True)
        writer._write_manifest()
        return writer

    def _write_manifest(self) -> None:
        atomic_write(self.folder / MANIFEST, json.dumps(self.manifest(), indent=1, sort_keys=True) + "\n")

    def save(self, entries: list[dict[str, Any]]) -> None:
        """Append ``entries`` as one new immutable segment, then list it in the manifest."""
        if not entries:
            return
        text = "".join(_dumps(e) + "\n" for e in entries).encode("ascii")
        name = f"seg-{len(self.segments) + 1:06d}.jsonl"
        atomic_write(self.folder / name, text)
        self.segments.append(
            {"file": name, "bytes": len(text), "sha256": hashlib.sha256(text).hexdigest(), "entries": len(entries)}
        )
        self.entries += len(entries)
        try:
            self._write_manifest()
        except BaseException:
            self.segments.pop()
            self.entries -= len(entries)
            raise

    def mark(self) -> tuple[int, int]:
        """Where the checkpoint stands now, for :meth:`rollback`."""
        return len(self.segments), self.entries

    def rollback(self, mark: tuple[int, int]) -> None:
        """Return the checkpoint to what it was at ``mark`` (segments written since are removed)."""
        n, entries = mark
        later = self.segments[n:]
        self.segments, self.entries = self.segments[:n], entries
        self._write_manifest()
        for seg in later:
            (self.folder / seg["file"]).unlink(missing_ok=True)


def _fail(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path}: {why}")


def read_checkpoint(
    out: Path, cfg: SimConfig, regime: str, *, tidy: bool = True
) -> tuple[list[dict[str, Any]], CheckpointWriter]:
    """The entries a run of ``regime`` saved in ``out``, in order, and a writer that appends to them.

    Every check comes before any entry is used: the manifest's format, version, regime and config
    digest, then each segment's size and sha256. With ``tidy``, stray temporary files of an
    interrupted save and segments no manifest lists (a save interrupted between the two writes) are
    removed (a reader that does not own the directory passes ``tidy=False``).
    """
    out = Path(out)
    folder = out / CHECKPOINT
    path = folder / MANIFEST
    manifest = _read_manifest(out, cfg, regime)
    segments = manifest.get("segments")
    total = manifest.get("entries")
    if type(segments) is not list or type(total) is not int:
        raise _fail(path, "malformed checkpoint manifest (segments, entries)")
    entries: list[dict[str, Any]] = []
    for i, seg in enumerate(segments, 1):
        entries.extend(_read_segment(folder, i, seg))
    if len(entries) != total:
        raise _fail(path, "malformed checkpoint manifest (entry count)")
    if tidy:
        _tidy(folder, len(segments))
    writer = CheckpointWriter(out, regime, manifest["config_sha256"], list(segments), total)
    return entries, writer


def _manifest_path(out: Path) -> Path:
    """The manifest's path, refused when there is none, it is a link, or the run has a pickle instead."""
    folder = out / CHECKPOINT
    path = folder / MANIFEST
    if not path.exists() and not folder.is_symlink():
        if (out / LEGACY_CHECKPOINT).exists():
            raise _fail(
                out / LEGACY_CHECKPOINT,
                "a pickle checkpoint of an older lineage-sim, which is never read (pickle can run code); "
                f"start the run again with '--force' (expected {CHECKPOINT}/{MANIFEST})",
            )
        raise CheckpointError(f"{out}: no checkpoint ({CHECKPOINT}/{MANIFEST}); is {str(out)!r} a run directory?")
    if folder.is_symlink() or not folder.is_dir():
        raise _fail(folder, "is not a folder of the run directory (a symbolic link is not followed)")
    if path.is_symlink():
        raise _fail(path, "is a symbolic link, not a checkpoint manifest (links are not followed)")
    return path


def _read_manifest(out: Path, cfg: SimConfig, regime: str) -> dict[str, Any]:
    """The manifest, checked: a lineage-sim checkpoint of this version, this regime and this config."""
    path = _manifest_path(out)
    try:
        raw = read_bytes(path, limit=_MANIFEST_LIMIT, what="a checkpoint manifest")
    except LineageError as exc:
        raise CheckpointError(str(exc)) from None
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        if raw[:1] == b"\x80":
            why = f"is a pickle, not a {FORMAT} manifest; it is never read (pickle can run code)"
        else:
            why = f"truncated or corrupt checkpoint: not complete JSON (expected a {FORMAT} manifest)"
        raise _fail(path, why) from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or type(manifest.get("version")) is not int
    ):
        raise _fail(path, f"not a lineage-sim checkpoint (expected format {FORMAT!r} version {VERSION})")
    if manifest["version"] != VERSION:
        raise _fail(
            path, f"a checkpoint of format version {manifest['version']}; this lineage-sim reads version {VERSION}"
        )
    if manifest.get("regime") != regime:
        raise _fail(path, f"not a {regime}-regime checkpoint (it says {manifest.get('regime')!r})")
    if manifest.get("config_sha256") != config_digest(cfg):
        raise _fail(path, f"the checkpoint belongs to another config than {out / 'config.toml'} (digest differs)")
    return manifest


def _read_segment(folder: Path, i: int, seg: Any) -> list[dict[str, Any]]:
    """Segment ``i``'s entries, checked against what the manifest says of it (name, size, sha256, count)."""
    name = f"seg-{i:06d}.jsonl"
    if (
        type(seg) is not dict
        or seg.get("file") != name
        or type(seg.get("bytes")) is not int
        or type(seg.get("sha256")) is not str
        or type(seg.get("entries")) is not int
    ):
        path = folder / MANIFEST
        raise _fail(path, f"malformed checkpoint manifest (segment {i} should be {name!r} with bytes and sha256)")
    seg_path = folder / name
    if seg_path.is_symlink():
        raise _fail(seg_path, "is a symbolic link, not a checkpoint segment (links are not followed)")
    try:
        limit = min(max(seg["bytes"], 0), MAX_DATA_BYTES)
        data = read_bytes(seg_path, limit=limit, what=f"a checkpoint segment of {seg['bytes']} bytes")
    except LineageError as exc:
        raise _fail(seg_path, f"truncated or altered checkpoint segment ({exc})") from None
    if len(data) != seg["bytes"] or hashlib.sha256(data).hexdigest() != seg["sha256"]:
        raise _fail(seg_path, "truncated or altered checkpoint segment (size or sha256 differs from the manifest)")
    lines = data.decode("ascii", errors="replace").splitlines()
    if len(lines) != seg["entries"]:
        raise _fail(seg_path, "malformed checkpoint segment (entry count differs from the manifest)")
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            raise _fail(seg_path, "malformed checkpoint segment (a line is not JSON)") from None
        if type(entry) is not dict:
            raise _fail(seg_path, "malformed checkpoint segment (a line is not a JSON object)")
        entries.append(entry)
    return entries


def _tidy(folder: Path, listed: int) -> None:
    """Remove what an interrupted save left: temporaries, and segments the manifest does not list."""
    for p in sorted(folder.iterdir()):
        m = _SEGMENT.fullmatch(p.name)
        stray = p.name.endswith(TEMP_SUFFIX) and p.name.startswith((f".{MANIFEST}.", ".seg-"))
        if (stray or (m and int(m.group(1)) > listed)) and p.is_file() and not p.is_symlink():
            p.unlink()
