"""``agents.csv``, ``phylogeny.csv`` and ``curves.csv`` written as a run goes, not at its end.

Rows are appended in the lineage's own order, which a run knows as it goes: the archive regime's
agents in the order they joined (batch by batch, each batch in lineage-path order), the recursive
regime's in lineage-path order, each row as soon as every agent before it in that order has
finished (at once when the tree runs depth first, as the per-agent engine runs it in process; a
generation at a time the cohort engine runs it breadth first, so there rows wait for the agents
before them). The files are flushed after every checkpoint save, never ahead of it: a kill leaves
each file holding rows of checkpointed agents only, and ``resume`` writes them again from the
checkpoint and goes on, so that a run's files have the same bytes however often it was
interrupted. The rows are the lineage's writers' own (:func:`spawn.run.outputs.agents_csv_pieces`,
:func:`lineage.io.alife_pieces`, :func:`spawn.run.outputs.curves_csv`) on the rows the lineage
gained since the last flush: the archive regime's lineage is the selectors', the recursive
regime's is grown here as the order becomes known, and either is the one the run writes at its end.

A column of ``agents.csv`` and ``phylogeny.csv`` is an attribute some agent has: when a later agent
brings a new one (an ``error``, a plugin's metric), the file is rewritten once with the wider header
and empty cells above. Under HGM's loop (``expand = "ucb-air"``) an agent's measurements change
after it joins, so ``agents.csv`` and ``phylogeny.csv`` are written at the end; ``curves.csv`` still
streams.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from lineage import LineageGraph, atomic_write, path_key
from lineage.io import alife_header, alife_pieces
from lineage.text import csv_line
from spawn.config import SimConfig
from spawn.life.lineage import add_record, in_path_order
from spawn.life.spec import CURVE_COLUMNS, AgentRecord
from spawn.run.outputs import agents_csv_pieces, agents_header, curves_csv

if TYPE_CHECKING:
    from spawn.run.tracking import Tracker

__all__ = ["STREAMED", "Streams", "streamed_files"]

#: The files a run may write as it goes.
STREAMED = ("agents.csv", "phylogeny.csv", "curves.csv")


def streamed_files(cfg: SimConfig) -> tuple[str, ...]:
    """The files ``cfg``'s run writes as it goes (the others of :data:`STREAMED` are written at the end)."""
    if cfg.regime == "archive" and cfg.archive.expand == "ucb-air":
        return ("curves.csv",)  # an agent's measurements change after it joins
    if cfg.output.format == "parquet":
        return ("phylogeny.csv", "curves.csv")  # no agents.csv
    return STREAMED


class _Table:
    """One CSV file of the run, appended to: ``pieces(start, names, header)`` is its text for the
    lineage's rows ``start`` on under the columns of attribute names ``names``, ``header(names)``
    those columns, ``lines`` how the file writes a row. When new rows bring an attribute the file
    has no column for, it is rewritten once under the wider header (empty cells above)."""

    def __init__(
        self,
        path: Path,
        pieces: Callable[[int, Sequence[str], bool], Iterator[str]],
        header: Callable[[Sequence[str]], list[str]],
        lines: Callable[[Iterable[Sequence[str]]], str],
    ) -> None:
        self.path, self._pieces, self._header, self._lines = path, pieces, header, lines
        self.names: list[str] | None = None  # the attribute names the file has columns for
        self._fh: IO[str] | None = None

    def write(self, start: int, names: list[str]) -> None:
        """Append the lineage's rows ``start`` on (``names``: its attribute names so far)."""
        first = self.names is None
        if not first and self._header(names) != self._header(self.names or []):
            self._widen(names)
        self.names = names
        if self._fh is None:
            self._fh = self.path.open("a", encoding="utf-8", newline="")
        self._fh.write("".join(self._pieces(start, names, first)))

    def _widen(self, names: list[str]) -> None:
        self.close()
        old, new = self._header(self.names or []), self._header(names)
        where = [old.index(c) if c in old else -1 for c in new]
        with self.path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)  # the old header
            text = self._lines([new, *(["" if i < 0 else cells[i] for i in where] for cells in reader)])
        atomic_write(self.path, text)

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _writer_lines(rows: Iterable[Sequence[str]]) -> str:
    """Rows as ``csv.writer`` writes them (``agents.csv``'s and ``curves.csv``'s writer)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


class Streams:
    """The run's streamed files (:func:`streamed_files`), written from ``lineage`` as it grows.

    ``order = "joined"`` (the archive regime): ``lineage`` is the selectors', grown by the regime in
    the order agents join. ``order = "path"`` (the recursive regime): ``lineage`` starts empty and
    :meth:`finished` tells of each agent that finished and the children it made; agents join it in
    lineage-path order as that order becomes known. ``records`` holds every finished agent's record
    (for its curve). :meth:`flush` (after a checkpoint save) writes the rows added since, and hands
    the same agents, in the same order, to ``tracker`` (:mod:`spawn.run.tracking`), if any.
    """

    def __init__(
        self,
        cfg: SimConfig,
        out: Path,
        order: str,
        lineage: LineageGraph,
        records: Mapping[str, AgentRecord],
        tracker: Tracker | None = None,
    ) -> None:
        self.order, self.lineage, self.records, self.tracker = order, lineage, records, tracker
        if tracker is not None:  # measurements that change after an agent joins are tracked at the end
            tracker.final_at_end = cfg.regime == "archive" and cfg.archive.expand == "ucb-air"
        self.files = streamed_files(cfg)
        g = lineage

        def curves(start: int, names: Sequence[str], header: bool) -> Iterator[str]:
            yield curves_csv((records[a] for a in g.id_range(start)), header)

        tables = {
            "agents.csv": (
                lambda start, names, header: agents_csv_pieces(g, start=start, names=names, header=header),
                agents_header,
                _writer_lines,
            ),
            "phylogeny.csv": (
                lambda start, names, header: alife_pieces(g, start=start, names=names, header=header),
                alife_header,
                lambda rows: "".join(map(csv_line, rows)),
            ),
            "curves.csv": (curves, lambda names: list(CURVE_COLUMNS), _writer_lines),
        }
        self.tables = [_Table(out / name, *tables[name]) for name in self.files]
        self.written = 0  # the lineage's rows in the files
        self.names: set[str] = set()
        # the recursive regime's lineage-path order: finished agents not yet in the lineage, the
        # children each made, and the stack of agents to add next (the next on top)
        self._done: dict[str, AgentRecord] = {}
        self._kids: dict[str, list[str]] = {}
        self._stack: list[str] = ["0"]

    def start(self, kids: Mapping[str, Sequence[str]] | None = None) -> None:
        """Write the files afresh from what the checkpoint holds (nothing, for a new run): the
        lineage's rows (``"joined"``), or every finished record and the children each made (``"path"``)."""
        for t in self.tables:
            t.path.unlink(missing_ok=True)
        if self.tracker is not None:
            self.tracker.start()
        if self.order == "path":
            self._kids = {a: list(k) for a, k in (kids or {}).items()}
            self._done = dict(self.records)
            self._advance()
        self.flush()

    def finished(self, record: AgentRecord, children: Sequence[str]) -> None:
        """An agent that finished and the ids of the children it made (``"path"``)."""
        self._done[record.id] = record
        self._kids[record.id] = list(children)
        self._advance()

    def _advance(self) -> None:
        stack, done, g = self._stack, self._done, self.lineage
        while stack and stack[-1] in done:
            rec = done.pop(stack.pop())
            add_record(g, rec)
            stack.extend(sorted(self._kids.pop(rec.id, ()), key=path_key, reverse=True))

    def flush(self) -> None:
        """Write the rows the lineage gained and flush the files (after a checkpoint save: never
        ahead of it)."""
        start, n = self.written, len(self.lineage)
        if n > start:
            self.names.update(self.lineage.attribute_names(start))
            names = sorted(self.names)
            for t in self.tables:
                t.write(start, names)
            self.written = n
            if self.tracker is not None:
                ids = self.lineage.id_range(start, n)
                self.tracker.add([self.records[a] for a in ids], self.lineage.arrays.depth[start:n].tolist())
        for t in self.tables:
            t.flush()
        if self.tracker is not None:
            self.tracker.flush()

    def close(self, complete: bool = False) -> None:
        """Close the files; a ``complete`` run's agents still waiting for the order join first (in
        lineage-path order: none wait unless an agent's children never ran)."""
        try:
            if complete and self._done:
                for rec in in_path_order(self._done.values()):
                    add_record(self.lineage, rec)
                self._done = {}
            if complete:
                self.flush()
                if self.tracker is not None:
                    self.tracker.finish([self.records[a] for a in self.lineage.id_range()])
        finally:
            for t in self.tables:
                t.close()
            if self.tracker is not None:
                self.tracker.close(complete)
