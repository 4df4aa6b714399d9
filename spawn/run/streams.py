"""``agents.csv``, ``phylogeny.csv`` and ``curves.csv`` written as a run goes, not at its end.

Rows are appended in the lineage's own order, which a run knows as it goes: the archive regime's
agents in the order they joined (batch by batch, each batch in lineage-path order), the recursive
regime's in lineage-path order, each row as soon as every agent before it in that order has
finished (at once when the tree runs depth first, as the per-agent engine runs it in process; a
generation at a time the cohort engine runs it breadth first, so there rows wait for the agents
before them). The files are flushed after every checkpoint save, never ahead of it: a kill leaves
each file holding rows of checkpointed agents only, and ``resume`` writes them again from the
checkpoint and goes on, so that a run's files have the same bytes however often it was
interrupted, and the bytes the lineage's own writers give (:func:`spawn.run.outputs.agents_csv`,
:func:`lineage.io.to_alife_csv`, :func:`spawn.run.outputs.curves_csv`).

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from lineage import atomic_write, path_key
from lineage.graph import clean_attributes
from lineage.io import alife_cell
from lineage.parquet import AGENT_COLUMNS
from lineage.text import csv_line
from spawn.config import SimConfig
from spawn.life.spec import CURVE_COLUMNS, AgentRecord

__all__ = ["STREAMED", "Streams", "streamed_files"]

#: The files a run may write as it goes.
STREAMED = ("agents.csv", "phylogeny.csv", "curves.csv")

_Row = tuple[int, AgentRecord, int, int, dict[str, Any]]  # row, record, parent's row (-1), depth, attributes


def streamed_files(cfg: SimConfig) -> tuple[str, ...]:
    """The files ``cfg``'s run writes as it goes (the others of :data:`STREAMED` are written at the end)."""
    loop = cfg.regime == "archive" and cfg.archive.expand == "ucb-air"  # measurements change later
    csv_table = cfg.output.format != "parquet"
    return (*(("agents.csv",) if csv_table and not loop else ()), *(() if loop else ("phylogeny.csv",)), "curves.csv")


def _by_name(cells: Callable[[_Row], dict[str, Any]]) -> Callable[[_Row, list[str]], list[list[Any]]]:
    """An agent's one row, its cells by column name (empty where it has no value)."""

    def rows(row: _Row, columns: list[str]) -> list[list[Any]]:
        by_name = cells(row)
        return [[by_name.get(k, "") for k in columns]]

    return rows


def _agents_header(names: Iterable[str]) -> list[str]:
    return [*AGENT_COLUMNS, *sorted(n for n in names if n not in AGENT_COLUMNS)]


def _agents_cells(row: _Row) -> dict[str, Any]:
    _, rec, _, depth, attrs = row
    return attrs | {"id": rec.id, "parent": rec.parent, "depth": depth, "operator": rec.operator}


def _phylogeny_header(names: Iterable[str]) -> list[str]:
    names = set(names)
    time = ["origin_time"] if "birth_time" in names else []
    return ["id", "ancestor_list", *time, "agent_id", "operator", *sorted(names - {"birth_time"})]


def _phylogeny_cells(row: _Row) -> dict[str, Any]:
    i, rec, parent, _, attrs = row
    cells = {k: alife_cell(v) for k, v in attrs.items()}
    if "birth_time" in cells:
        cells["origin_time"] = cells.pop("birth_time")
    ancestors = "[none]" if parent < 0 else f"[{parent}]"
    return cells | {"id": i, "ancestor_list": ancestors, "agent_id": rec.id, "operator": rec.operator or ""}


def _curve_rows(row: _Row, columns: list[str]) -> list[list[Any]]:
    rec = row[1]
    return [[rec.id, *("" if x is None else x for x in r)] for r in rec.curve]


def _writer_lines(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as ``csv.writer`` writes them (``agents.csv``'s and ``curves.csv``'s writer)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _csv_lines(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as :func:`lineage.text.csv_line` writes them (``phylogeny.csv``'s writer)."""
    return "".join(map(csv_line, rows))


class _Table:
    """One CSV file of the run, appended to: ``header`` gives its columns for the attribute names
    seen so far, ``rows`` an agent's rows under them, ``lines`` their text. When a row brings a new
    attribute, the file is rewritten once with the wider header (empty cells above)."""

    def __init__(
        self,
        path: Path,
        header: Callable[[Iterable[str]], list[str]],
        rows: Callable[[_Row, list[str]], list[list[Any]]],
        lines: Callable[[Iterable[Sequence[Any]]], str],
    ) -> None:
        self.path, self._header, self._rows, self._lines = path, header, rows, lines
        self.columns: list[str] = []
        self._fh: IO[str] | None = None

    def write(self, rows: list[_Row], names: set[str]) -> None:
        """Append ``rows`` (every attribute name of the run so far is in ``names``)."""
        columns = self._header(names)
        out: list[Sequence[Any]] = []
        if not self.columns:
            out.append(columns)
        elif columns != self.columns:
            self._widen(columns)
        self.columns = columns
        for row in rows:
            out += self._rows(row, columns)
        if self._fh is None:
            self._fh = self.path.open("a", encoding="utf-8", newline="")
        self._fh.write(self._lines(out))

    def _widen(self, columns: list[str]) -> None:
        """Rewrite the file with ``columns`` (the old ones and new ones), empty cells where new."""
        self.close()
        old = self.columns
        where = [old.index(c) if c in old else -1 for c in columns]
        with self.path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)  # the old header
            text = self._lines([columns, *(["" if i < 0 else cells[i] for i in where] for cells in reader)])
        atomic_write(self.path, text)

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class Streams:
    """The run's streamed files (:func:`streamed_files`) and the order their rows go in.

    ``order = "joined"`` (the archive regime): :meth:`joined` gives the agents that joined since,
    in order. ``order = "path"`` (the recursive regime): :meth:`finished` tells of each agent that
    finished and the children it made; rows go out in lineage-path order as that order is known.
    :meth:`flush` (after a checkpoint save) writes what is ready; :meth:`close` ends.
    """

    def __init__(self, cfg: SimConfig, out: Path, order: str) -> None:
        self.order = order
        files = streamed_files(cfg)
        tables = {
            "agents.csv": (_agents_header, _by_name(_agents_cells), _writer_lines),
            "phylogeny.csv": (_phylogeny_header, _by_name(_phylogeny_cells), _csv_lines),
            "curves.csv": (lambda names: list(CURVE_COLUMNS), _curve_rows, _writer_lines),
        }
        self.tables = [_Table(out / name, *tables[name]) for name in files]
        self.files = files
        self.names: set[str] = set()
        self.rows: dict[str, tuple[int, int]] = {}  # written agents: their row and depth
        self._ready: list[AgentRecord] = []
        # the recursive regime's lineage-path order: finished agents not yet written, the children
        # each finished agent made, and the stack of agents to write next (the next on top)
        self._done: dict[str, AgentRecord] = {}
        self._kids: dict[str, list[str]] = {}
        self._stack: list[str] = []

    # ------------------------------------------------------------------ what is ready
    def start(self, records: Mapping[str, AgentRecord], kids: Mapping[str, Sequence[str]] | None = None) -> None:
        """Write the files afresh from the agents the checkpoint holds (none for a new run): ``records``
        in the order they joined (``"joined"``), or finished with the children each made (``"path"``)."""
        for t in self.tables:
            t.path.unlink(missing_ok=True)
        if self.order == "joined":
            self._ready = list(records.values())
        else:
            self._kids = {a: list(k) for a, k in (kids or {}).items()}
            self._done = dict(records)
            self._stack = ["0"]
            self._advance()
        self.flush()

    def joined(self, records: Iterable[AgentRecord]) -> None:
        """Agents that joined the lineage, in the order they joined (``"joined"``)."""
        self._ready.extend(records)

    def finished(self, record: AgentRecord, children: Sequence[str]) -> None:
        """An agent that finished and the ids of the children it made (``"path"``)."""
        self._done[record.id] = record
        self._kids[record.id] = list(children)
        self._advance()

    def _advance(self) -> None:
        stack, done = self._stack, self._done
        while stack and stack[-1] in done:
            agent = stack.pop()
            self._ready.append(done.pop(agent))
            stack.extend(sorted(self._kids.pop(agent, ()), key=path_key, reverse=True))

    # ------------------------------------------------------------------ writing
    def flush(self) -> None:
        """Write every ready row and flush the files (after a checkpoint save: never ahead of it)."""
        ready, self._ready = self._ready, []
        rows: list[_Row] = []
        for rec in ready:
            attrs = clean_attributes(rec.id, rec.attributes)
            self.names.update(attrs)
            parent = self.rows.get(rec.parent, (-1, -1)) if rec.parent is not None else (-1, -1)
            row = (len(self.rows), rec, parent[0], parent[1] + 1, attrs)
            self.rows[rec.id] = (row[0], row[3])
            rows.append(row)
        for t in self.tables:
            if rows:
                t.write(rows, self.names)
            t.flush()

    def close(self, complete: bool = False) -> None:
        """Close the files; a ``complete`` run's agents still waiting for the order are written first
        (in lineage-path order: none wait unless an agent's children never ran)."""
        try:
            if complete and self.order == "path" and self._done:
                from spawn.life.lineage import in_path_order

                self._stack = []
                self._ready.extend(in_path_order(self._done.values()))
                self._done = {}
            if complete:
                self.flush()
        finally:
            for t in self.tables:
                t.close()
