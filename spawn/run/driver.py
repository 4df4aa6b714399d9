"""The simulation driver: runs agent jobs on an executor, checkpoints, and writes the run directory.

Results are merged in the lineage's order (lineage-path order in the recursive regime, the order
agents joined in the archive regime), never in arrival order, and every file that must be identical
across runs is built from that lineage alone: ``agents.csv``, ``phylogeny.csv`` and ``curves.csv``
as the run goes (:mod:`spawn.run.streams`), the rest at its end; wall-clock facts go to
``timing.json``.
"""

from __future__ import annotations

import contextlib
import gc
import platform
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lineage import LineageGraph, atomic_write, remove_stray_temporaries
from spawn.config import SimConfig, TrackingConfig, config_to_toml
from spawn.errors import CheckpointError, RunDirError
from spawn.life.job import AgentRecord, JobResult
from spawn.life.lineage import run_lineage
from spawn.regimes.archive import ArchiveState, batches_csv, run_archive, steps_csv
from spawn.regimes.recursive import RecursiveState, run_recursive
from spawn.regimes.ucbair import held_out_test, run_ucb_air
from spawn.run.checkpoint import CheckpointWriter, has_checkpoint, read_checkpoint
from spawn.run.outputs import json_text, write_outputs
from spawn.run.progress import RunProgress
from spawn.run.rundir import PROJECT_FILES, Claim, open_dir, open_out, run_kind
from spawn.run.streams import Streams
from spawn.run.tracking import Tracker, open_tracker
from spawn.runtimes import Executor
from spawn.runtimes.inline import InlineExecutor

__all__ = [
    "RunOutcome",
    "Terminated",
    "prepare_run_dir",
    "read_run",
    "resume",
    "sigterm_saves_checkpoint",
    "sigterm_seen",
    "simulate",
]

class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by the command line's handler: handled as SIGINT is."""


# ---------------------------------------------------------------------- run directory, checkpoint
def prepare_run_dir(out: Path, force: bool, kind: str = "run") -> Claim:
    """Take ``out`` for a new run (see :func:`spawn.run.rundir.open_out`): checked, made, locked, cleaned.

    The caller releases the returned :class:`~spawn.run.rundir.Claim` (or undoes it after a failure).
    """
    return open_out(out, force=force, kind=kind)


# ---------------------------------------------------------------------- the run
@dataclass(frozen=True)
class RunOutcome:
    lineage: LineageGraph | None  # None when stopped early
    complete: bool
    wall_seconds: float
    where: dict[str, Any]


#: A regime's run: whether it finished, its agents, how many are new, what ``summary.json`` adds, the
#: lineage of its agents if the regime kept one (in the order it is written), and the files it wrote
#: as it went (:mod:`spawn.run.streams`).
Ran = tuple[bool, dict[str, AgentRecord], int, dict[str, Any], LineageGraph | None, tuple[str, ...]]
Body = Callable[["RunProgress"], Ran]


class _SaveThenStream:
    """The saver a regime is given: the checkpoint's save, then the streamed files' rows of what it
    saved (``pull`` first brings the streams' lineage up to date), never ahead of it."""

    def __init__(self, writer: CheckpointWriter, streams: Streams, pull: Callable[[], object] | None = None) -> None:
        self.writer, self.streams, self.pull = writer, streams, pull

    def save(self, entries: list[dict[str, Any]]) -> None:
        self.writer.save(entries)
        if self.pull is not None:
            self.pull()
        self.streams.flush()
        gc.freeze()  # what the run keeps so far, out of the collector's sight (see _collector)


def _streams(
    cfg: SimConfig, out: Path, state: ArchiveState | RecursiveState, tracker: Tracker | None = None
) -> Streams:
    """The run's streamed files (and its tracking), written afresh from what ``state`` (the checkpoint's) holds."""
    if isinstance(state, ArchiveState):
        streams = Streams(cfg, out, "joined", state.lineage(cfg), state.records, tracker)
        streams.start()
        return streams
    kids: dict[str, list[str]] = {}
    born = [(r.parent, r.id) for r in state.records.values()] + [(s.parent, s.id) for s in state.waiting.values()]
    for parent, agent in born:
        if parent is not None:
            kids.setdefault(parent, []).append(agent)
    streams = Streams(cfg, out, "path", run_lineage(cfg), state.records, tracker)
    streams.start(kids)
    return streams


def _recursive_body(
    cfg: SimConfig,
    writer: CheckpointWriter,
    executor: Executor,
    state: RecursiveState,
    stop_after: int | None,
    checkpoint_every: float,
    checkpoint_agents: int,
    tracker: Tracker | None,
) -> Body:
    def body(bar: RunProgress) -> Ran:
        bar.advance(len(state.records), sum(r.train_steps for r in state.records.values()))
        bar.born(len(state.records) + len(state.waiting) or 1)  # a new run: the root, about to start
        for r in state.records.values():
            bar.finished(r)
        streams = _streams(cfg, writer.out, state, tracker)

        def on_agent(result: JobResult) -> None:
            bar.advance(1, result.record.train_steps)
            bar.born(len(result.children))
            bar.finished(result.record)
            streams.finished(result.record, [c.id for c in result.children])

        complete = False
        try:
            complete, new = run_recursive(
                cfg,
                _SaveThenStream(writer, streams),
                executor,
                state,
                on_agent,
                stop_after=stop_after,
                checkpoint_every=checkpoint_every,
                checkpoint_agents=checkpoint_agents,
            )
        finally:
            streams.close(complete)
        return complete, state.records, new, {}, streams.lineage if complete else None, streams.files

    return body


def _archive_body(
    cfg: SimConfig,
    writer: CheckpointWriter,
    executor: Executor,
    state: ArchiveState,
    stop_after: int | None,
    tracker: Tracker | None,
) -> Body:
    loop = cfg.archive.expand == "ucb-air"  # the budget counts evaluation steps too

    def body(bar: RunProgress) -> Ran:
        before = len(state.records)
        bar.advance(before, state.total if loop else state.spent)
        bar.born(before)
        for r in state.records.values():
            bar.finished(r)

        def on_batch(results: list[JobResult], steps: int | None = None) -> None:
            bar.advance(len(results), sum(r.record.train_steps for r in results) if steps is None else steps)
            bar.born(len(results))  # an archive's batch is born and finishes together
            for r in results:
                bar.finished(r.record)

        streams = _streams(cfg, writer.out, state, tracker)
        run = run_ucb_air if loop else run_archive
        complete = False
        try:
            saver = _SaveThenStream(writer, streams, lambda: state.lineage(cfg))  # the agents that joined since
            complete = run(cfg, saver, executor, state, on_batch, stop_after)
        finally:
            streams.close(complete)
        extra = {}
        if complete:
            atomic_write(writer.out / "batches.csv", batches_csv(state.log))
            atomic_write(writer.out / "steps.csv", steps_csv(state))
            if cfg.archive.test_episodes:
                extra["archive_best"] = held_out_test(cfg, state)
        # the selectors' lineage holds every agent as the records do, in the order they joined (made
        # again, it took a tenth of a millisecond an agent)
        grown = state.lineage(cfg) if complete else None
        return complete, state.records, len(state.records) - before, extra, grown, streams.files

    return body


_sigterm_saves = False
_sigterm_seen = False


def _on_sigterm(signum: int, frame: Any) -> None:
    global _sigterm_seen
    _sigterm_seen = True
    raise Terminated


def sigterm_seen() -> bool:
    """Whether SIGTERM arrived inside :func:`sigterm_saves_checkpoint` (Ray may re-raise the
    :class:`Terminated` it interrupted as a plain KeyboardInterrupt)."""
    return _sigterm_seen


@contextlib.contextmanager
def sigterm_saves_checkpoint() -> Iterator[None]:
    """Inside the block, SIGTERM raises :class:`Terminated` in the main thread, so that a run saves its
    checkpoint and ends as on SIGINT (the command line's ``run`` and ``resume`` use this)."""
    global _sigterm_saves, _sigterm_seen
    _sigterm_seen = False
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old, before = signal.signal(signal.SIGTERM, _on_sigterm), _sigterm_saves
    _sigterm_saves = True
    try:
        yield
    finally:
        _sigterm_saves = before
        signal.signal(signal.SIGTERM, old)


def _rearm_sigterm() -> None:
    """Put SIGTERM back on :func:`_on_sigterm` when asked for: starting Ray installs a handler of its
    own, which ends the process without a checkpoint."""
    if _sigterm_saves and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)


#: The cyclic collector's thresholds during a run (Python's default is (700, 10, 10)).
RUN_GC_THRESHOLDS = (1_000_000, 10, 10)


@contextlib.contextmanager
def _collector() -> Iterator[None]:
    """The cyclic garbage collector tuned for a run, as it was again afterwards.

    A run allocates millions of small containers that live to its end (records, specs, the
    lineage's index) and few cycles. With Python's defaults every full collection walked all of
    them again: at 5*10^4 agents the collector took a third of the run, and more as it grew. Each
    checkpoint save freezes what the run holds so far (``gc.freeze``: never walked again; all of it
    lives to the end anyway), and collections of new objects come every 10^6 allocations rather
    than 700 (the run's garbage is freed by reference counting: it makes few cycles); together the
    collector's share falls from a third to nothing measurable. Nothing a run writes depends on it.
    """
    before = gc.get_threshold()
    gc.set_threshold(*RUN_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _run(
    cfg: SimConfig, out: Path, executor: Executor, progress: bool, body: Body, tracker: Tracker | None = None
) -> RunOutcome:
    _rearm_sigterm()
    start = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    bar = RunProgress(cfg.budget, enabled=progress, nodes=_nodes_in_use(executor))
    if tracker is not None:
        tracker.alive = bar.alive
    try:
        with bar, _collector():
            complete, records, new, extra, grown, streamed = body(bar)
    finally:
        where = executor.where()
        executor.close()
        _rearm_sigterm()
    wall = time.perf_counter() - start
    lineage = write_outputs(cfg, out, records, extra, grown, streamed) if complete else None
    steps = sum(r.train_steps for r in records.values())
    evals = sum(r.eval_steps for r in records.values())
    timing = {
        "started_at": started_at,
        "wall_seconds": round(wall, 3),
        "agents": len(records),
        "agents_this_session": new,
        "train_steps": steps,
        "eval_steps": evals,
        "steps_per_second": round((steps + evals) / wall, 1) if wall > 0 else None,
        "complete": complete,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "where": where,
    }
    atomic_write(out / "timing.json", json_text(timing))
    return RunOutcome(lineage, complete, wall, where)


def _body(
    cfg: SimConfig,
    writer: CheckpointWriter,
    executor: Executor,
    stop_after: int | None,
    checkpoint_every: float,
    checkpoint_agents: int,
    entries: list[dict[str, Any]] | None,
    tracker: Tracker | None = None,
) -> Body:
    if cfg.regime == "archive":
        state = ArchiveState.new(cfg) if entries is None else ArchiveState.replay(cfg, entries, writer.out)
        return _archive_body(cfg, writer, executor, state, stop_after, tracker)
    rstate = RecursiveState() if entries is None else RecursiveState.replay(cfg, entries, writer.out)
    return _recursive_body(cfg, writer, executor, rstate, stop_after, checkpoint_every, checkpoint_agents, tracker)


def _nodes_in_use(executor: Executor) -> Callable[[], int] | None:
    """On a ``ray-*`` runtime, how many nodes have run an agent so far (what the executor knows)."""
    ray = str(getattr(executor, "name", "")).startswith("ray-")
    if not ray or not isinstance(getattr(executor, "nodes", None), dict):
        return None
    return lambda: len(getattr(executor, "nodes", ()))


def _settings(cfg: SimConfig, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """A run's settings on TensorBoard's HParams dashboard: seed, regime, selector, engine, budget, then ``extra``."""
    return {
        "seed": cfg.seed,
        "regime": cfg.regime,
        "selector": cfg.selector,
        "engine": cfg.engine,
        "budget": cfg.budget,
        **(extra or {}),
    }


#: Checkpoint at least this often (seconds of wall-clock) and every this many agents, by default.
CHECKPOINT_SECONDS = 2.0
CHECKPOINT_AGENTS = 1000


def _interruption(exc: BaseException) -> bool:
    """SIGINT (and SIGTERM, see :class:`Terminated`) keep the checkpoint; any other failure undoes."""
    return isinstance(exc, KeyboardInterrupt)


def simulate(
    cfg: SimConfig,
    out: str | Path,
    executor: Executor | None = None,
    *,
    force: bool = False,
    progress: bool = False,
    stop_after: int | None = None,
    checkpoint_every: float = CHECKPOINT_SECONDS,
    checkpoint_agents: int = CHECKPOINT_AGENTS,
    tracking_name: str | None = None,
    tracking_settings: Mapping[str, Any] | None = None,
) -> RunOutcome:
    """Run a whole simulation into the run directory ``out``.

    ``stop_after`` stops after that many agents (as an interruption would); :func:`resume` then
    finishes the run to the same bytes. Errors in the config are raised before anything is written.
    The first checkpoint is written before the first agent starts, then one at least every
    ``checkpoint_every`` seconds and every ``checkpoint_agents`` agents. A failure once the run has
    started (an agent's error with ``on_error = "fail"``, a write that fails) removes what the run
    wrote; an interruption (SIGINT, SIGTERM, ``stop_after``) keeps its checkpoint for ``resume``.
    ``cfg.tracking`` (:mod:`spawn.run.tracking`) is written beside the run, as it goes, and changes
    none of its bytes; ``tracking_name`` names the run there (default: the run directory's name),
    ``tracking_settings`` (a sweep's arm settings) join its settings on the HParams dashboard.
    """
    from spawn.life.job import suite_for

    tracker = None
    try:
        suite_for(cfg)  # makes and checks every environment before anything is written
        out = Path(out)
        tracker = open_tracker(
            cfg.tracking, out, force=force, name=tracking_name, hparams=_settings(cfg, tracking_settings)
        )
        rd = prepare_run_dir(out, force)
    except BaseException:
        if executor is not None:
            executor.close()
        raise
    try:
        # The empty checkpoint first, then the config: a directory with a config.toml can be resumed.
        writer = CheckpointWriter.create(out, cfg, cfg.regime)
        atomic_write(out / "config.toml", config_to_toml(cfg))
        executor = executor or InlineExecutor()
        body = _body(cfg, writer, executor, stop_after, checkpoint_every, checkpoint_agents, None, tracker)
        outcome = _run(cfg, out, executor, progress, body, tracker)
    except BaseException as exc:
        if executor is not None:
            executor.close()
        if _interruption(exc) and has_checkpoint(out) and (out / "config.toml").is_file():
            rd.release()  # resumable: the checkpoint stays (and the tracking of what it holds)
        else:
            rd.undo()
            if tracker is not None:
                tracker.undo()
        raise
    rd.release()
    return outcome


def _check_run_dir(out: Path) -> None:
    """Refuse what is not a run directory with a config (a sweep's or study's folder, a plain folder)."""
    if not out.is_dir():
        raise RunDirError(f"{str(out)!r} is not a run directory")
    kind = run_kind(out)
    if kind in ("sweep", "study"):
        raise RunDirError(f"{str(out)!r} is a {kind} directory, not a run directory")
    if not (out / "config.toml").is_file():
        raise RunDirError(f"{str(out)!r} is not a run directory (no config.toml)")


def _run_config(out: Path, what: str) -> SimConfig:
    """The config a run directory was run with (a config this version refuses: ``what`` cannot be done)."""
    from spawn.config import load_config
    from spawn.errors import ConfigError

    try:
        return load_config(out / "config.toml")
    except ConfigError as exc:
        raise CheckpointError(f"{out / 'config.toml'}: {what} ({exc})") from None


def read_run(out: str | Path, what: str = "cannot be read") -> tuple[SimConfig, list[dict[str, Any]]]:
    """A run directory's config and its checkpoint's entries, as :func:`resume` reads them, but only
    read: no lock is taken and nothing is tidied (a run may be writing there). ``what`` ends the
    line of a config this version refuses."""
    path = Path(out)
    _check_run_dir(path)
    cfg = _run_config(path, what)
    entries, _ = read_checkpoint(path, cfg, cfg.regime, tidy=False)
    return cfg, entries


def resume(
    out: str | Path,
    executor: Executor | None = None,
    *,
    progress: bool = False,
    stop_after: int | None = None,
    checkpoint_every: float = CHECKPOINT_SECONDS,
    checkpoint_agents: int = CHECKPOINT_AGENTS,
    tracking: TrackingConfig | None = None,
    tracking_name: str | None = None,
    tracking_settings: Mapping[str, Any] | None = None,
) -> RunOutcome:
    """Finish an interrupted run in ``out`` from its checkpoint.

    A failure leaves the checkpoint as it was before the command (and removes outputs this command
    wrote); an interruption keeps what was added, for the next ``resume``. ``tracking`` (the run's
    ``config.toml`` has none: tracking is no part of the run) writes its directories afresh from the
    checkpoint, then as the run goes on.
    """
    out = Path(out)
    try:
        _check_run_dir(out)
        tracker = open_tracker(tracking, out, resume=True, name=tracking_name)
        rd = open_dir(out, kind="run")
    except BaseException:
        if executor is not None:
            executor.close()
        raise
    try:
        cfg = _run_config(out, "cannot be resumed")
        if tracker is not None:
            tracker.hparams = _settings(cfg, tracking_settings)
        entries, writer = read_checkpoint(out, cfg, cfg.regime)
        remove_stray_temporaries(out, PROJECT_FILES)
        before = {name for name in PROJECT_FILES if (out / name).exists()}
        mark = writer.mark()
        executor = executor or InlineExecutor()
        body = _body(cfg, writer, executor, stop_after, checkpoint_every, checkpoint_agents, entries, tracker)
    except BaseException:
        rd.release()
        if executor is not None:
            executor.close()
        raise
    try:
        outcome = _run(cfg, out, executor, progress, body, tracker)
    except BaseException as exc:
        if not _interruption(exc):
            if tracker is not None:
                tracker.undo()
            try:
                writer.rollback(mark)
                for name in PROJECT_FILES:
                    if name not in before and name != "timing.json":
                        (out / name).unlink(missing_ok=True)
                # the streamed files as the checkpoint (rolled back) holds them
                state = (ArchiveState if cfg.regime == "archive" else RecursiveState).replay(cfg, entries, out)
                _streams(cfg, out, state).close()
            finally:
                rd.release()
        else:
            rd.release()
        raise
    rd.release()
    return outcome
