"""What lineage-sim writes, read back: a run directory, a sweep directory and a study directory, each a
type that knows its files, and :func:`open_output`, the one place that tells them apart.

A directory's marker (``lineage-sim.json``, see :mod:`spawn.run.rundir`) says what it is, so a stale
``sweep.json`` or ``study.csv`` left by another kind of run decides nothing; a directory of an older
version, without a marker, is recognised by its files.

``DIR/`` of a run
    ``config.toml``, ``lineage.json`` and ``agents.csv`` (or, with ``[output] format``, ``lineage.parquet``
    and ``agents.parquet``), ``phylogeny.csv``, ``curves.csv``, ``summary.json``,
    ``timing.json``, ``checkpoint/``; ``batches.csv`` and ``steps.csv`` (archive regime), ``attribution.csv``.
``DIR/`` of a sweep
    ``config.toml``, ``sweep.json`` (the arms and the seed override), ``aggregate.csv``, and a run
    directory per arm and seed: ``DIR/<arm>/seed-<s>/``.
``DIR/`` of a selector study
    ``study.csv``, ``predictiveness.csv``, ``final.csv``, and ``DIR/<selector>/seed-<s>/`` runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lineage import LineageError, read_text
from spawn.errors import RunDirError
from spawn.run.rundir import inside, run_kind

__all__ = ["RunDir", "StudyDir", "SweepDir", "lineage_file", "open_output", "seed_runs"]

_SEED = re.compile(r"seed-(-?\d+)")
_DESCRIPTION_BYTES = 2**24


@dataclass(frozen=True)
class RunDir:
    """A run directory (``lineage-sim run`` of a config without ``[sweep]``)."""

    path: Path
    kind: ClassVar[str] = "run"

    @property
    def config(self) -> Path:
        return self.path / "config.toml"

    @property
    def lineage(self) -> Path:
        """``lineage.parquet`` when the run wrote one (``[output] format``: the same lineage, read column
        by column, many times faster than JSON), else ``lineage.json``."""
        parquet = self.path / "lineage.parquet"
        return parquet if parquet.is_file() else self.path / "lineage.json"

    @property
    def agents(self) -> Path:
        return self.path / "agents.csv"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    @property
    def batches(self) -> Path:
        return self.path / "batches.csv"

    @property
    def steps(self) -> Path:
        return self.path / "steps.csv"

    @property
    def finished(self) -> bool:
        """Whether the run wrote its lineage (a run stopped early has only its checkpoint)."""
        return self.lineage.is_file()


def _seed_key(run: RunDir) -> tuple[int, str]:
    m = _SEED.fullmatch(run.path.name)
    return (int(m.group(1)) if m else 0, run.path.name)


def seed_runs(arm_dir: Path, base: Path) -> list[RunDir]:
    """The finished seed runs ``seed-<s>/`` in an arm's folder, by seed; one leading outside ``base`` is refused."""
    runs = []
    for q in arm_dir.glob("seed-*"):
        inside(base, str(q.relative_to(base)), "the run folder")
        run = RunDir(q)
        if run.finished:
            runs.append(run)
    return sorted(runs, key=_seed_key)


@dataclass(frozen=True)
class SweepDir:
    """A sweep directory: one run directory per arm and seed under ``DIR/<arm>/seed-<s>/``."""

    path: Path
    kind: ClassVar[str] = "sweep"

    @property
    def config(self) -> Path:
        return self.path / "config.toml"

    @property
    def description(self) -> Path:
        return self.path / "sweep.json"

    @property
    def aggregate(self) -> Path:
        return self.path / "aggregate.csv"

    def read(self) -> dict[str, Any]:
        """``sweep.json``, checked: ``arms`` a list of names, ``seed`` a whole number >= 0 or null."""
        p = self.description
        try:
            data = json.loads(read_text(p, limit=_DESCRIPTION_BYTES, what="a sweep description"))
            if not isinstance(data, dict):
                raise TypeError("not a JSON object")
            names = data["arms"]
            if not isinstance(names, list) or not all(isinstance(a, str) for a in names):
                raise TypeError("arms is not a list of names")
        except LineageError as exc:
            raise RunDirError(str(exc)) from None
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise RunDirError(f"{p}: is not a sweep description ({str(exc)[:120]})") from None
        seed = data.get("seed")
        if seed is not None and (type(seed) is not int or seed < 0):
            raise RunDirError(f"{p}: seed {str(seed)[:40]!r} is not a whole number >= 0 or null")
        return data

    def seed(self) -> int | None:
        """The seed override the sweep was run with (``--seed``), or ``None``."""
        seed = self.read().get("seed")
        return None if seed is None else int(seed)

    def arms(self) -> dict[str, list[RunDir]]:
        """Every arm named in ``sweep.json`` with its finished seed runs (an arm may have none yet)."""
        names = self.read()["arms"]
        return {a: seed_runs(inside(self.path, a, "sweep.json names the arm"), self.path) for a in names}


@dataclass(frozen=True)
class StudyDir:
    """A selector-study directory: ``DIR/<selector>/seed-<s>/`` runs and the study's tables."""

    path: Path
    kind: ClassVar[str] = "study"

    @property
    def table(self) -> Path:
        return self.path / "study.csv"

    @property
    def predictiveness(self) -> Path:
        return self.path / "predictiveness.csv"

    @property
    def final(self) -> Path:
        return self.path / "final.csv"

    def arms(self) -> dict[str, list[RunDir]]:
        """Every selector's folder that holds finished seed runs, by name."""
        arms = {}
        for d in sorted(self.path.iterdir()):
            if d.is_dir():
                inside(self.path, d.name, "the study's arm")
                if runs := seed_runs(d, self.path):
                    arms[d.name] = runs
        return arms


Output = RunDir | SweepDir | StudyDir


def open_output(path: str | Path) -> Output | None:
    """The run, sweep or study directory at ``path``, or ``None`` when it is none of them."""
    p = Path(path)
    kind = run_kind(p)
    if kind == "sweep" and SweepDir(p).description.is_file():
        return SweepDir(p)
    if kind == "study" and StudyDir(p).table.is_file():
        return StudyDir(p)
    if kind == "run" or (p.is_dir() and RunDir(p).finished):
        return RunDir(p)
    return None


def lineage_file(path: str | Path) -> Path:
    """The lineage file a path names: itself, or a run directory's ``lineage.json``.

    Raises :class:`RunDirError` for a directory without one and for a path that does not exist.
    """
    p = Path(path)
    if p.is_dir():
        if not RunDir(p).finished:
            raise RunDirError(
                f"{str(path)!r} is a directory without a lineage.json or lineage.parquet; "
                "give a run directory or a lineage file"
            )
        return RunDir(p).lineage
    if not p.exists():
        raise RunDirError(f"{str(path)!r} does not exist; give a run directory or a lineage file")
    return p
