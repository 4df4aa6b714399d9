"""Experiment tracking beside a run: TensorBoard event files and, optionally, a local MLflow store.

``[tracking] tensorboard = "DIR"`` (``lineage-sim run --tensorboard DIR``) writes, as the run goes
and after every checkpoint save (:class:`spawn.run.streams.Streams` hands over the agents that
joined the lineage since, in the lineage's order, never in arrival order)::

    DIR/events.out.tfevents.*          the run, as Ray Tune's experiment-level run
        run/best_value   best value so far      step: training steps the lineage spent so far
        run/population   agents in the lineage  (world time, as Tune's timesteps_total)
        run/depth        deepest generation
        run/alive        agents born, not yet finished (at each save)
        agents/<metric>  every agent's final metric (value, return, cost, ...)   step: its place in the lineage
        curves/<column>  every agent's learning curve, end to end                step: world time
    DIR/agents/<id>/events.out.tfevents.*   the first ``agent_runs`` agents, one TensorBoard run each
        curve/<column>   the agent's learning curve   step: its own training steps
        final/<metric>   every numeric attribute      step: its training steps at the end
    DIR/lineage-sim-tracking.json      what wrote the directory

The run's own event file also holds its settings for TensorBoard's HParams dashboard (seed, regime,
selector, engine, and a sweep's arm settings; metrics: :data:`HPARAM_METRICS`), so a sweep's runs
line up there as a Tune experiment's trials do.

Under HGM's loop (``expand = "ucb-air"``) an agent's measurements change after it joins: its final
metrics (``agents/*``, ``final/*``) are written when the run completes, with the values it ends with.

Event files are written directly (TFRecord framing of tensorboardX's ``Event`` protos, one event
holding every scalar of one step), not through ``SummaryWriter``: that is a thread and a queue per
writer, and one call per scalar. Tracking reads the run and writes only into its own directories:
the run directory has the same bytes with or without it. A resumed run writes its tracking
directory afresh from the checkpoint (as the streamed files are), so no event is written twice.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import socket
import struct
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from lineage import atomic_write
from spawn.config.data import shown
from spawn.errors import RunDirError
from spawn.life.spec import AgentRecord

__all__ = [
    "AGENT_METRICS",
    "CURVE_SCALARS",
    "MARKER",
    "EventFile",
    "Tracker",
    "check_tracking_dir",
    "mark_tracking_dir",
    "open_tracker",
    "read_events",
]

#: The file that says lineage-sim wrote a tracking directory (TensorBoard ignores it).
MARKER = "lineage-sim-tracking.json"
EVENTS_PREFIX = "events.out.tfevents."
#: The final metrics every agent logs into the run's own event file (``agents/<metric>``).
AGENT_METRICS = (
    "value",
    "return",
    "hidden_performance",
    "cost",
    "distance",
    "violations",
    "tv",
    "train_steps",
    "eval_steps",
)
#: The learning-curve columns logged (``curves/<column>``, ``curve/<column>``): CurveRow's fields.
CURVE_SCALARS = (
    ("return", "ret"),
    ("cost", "cost"),
    ("violations", "violations"),
    ("lagrange", "lagrange"),
    ("epsilon", "epsilon"),
)


def _crc() -> Callable[[bytes], int]:
    from tensorboardX.crc32c import crc32c  # the C ``crc32c`` package's when installed

    return crc32c


_SERIAL = itertools.count(1)


def _masked(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


class EventFile:
    """One TensorBoard event file: TFRecords of ``Event`` protos, opened in ``directory``."""

    def __init__(self, directory: Path) -> None:
        from tensorboardX.proto import event_pb2, summary_pb2

        self._event, self._summary = event_pb2.Event, summary_pb2.Summary
        self._crc = _crc()
        directory.mkdir(parents=True, exist_ok=True)
        # names sort in the order files were made (TensorBoard reads a directory's files in name order)
        stamp = f"{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}.{next(_SERIAL):06d}"
        name = f"{EVENTS_PREFIX}{stamp}.lineage-sim"
        self.path = directory / name
        self._fh: IO[bytes] | None = self.path.open("wb")
        self._write(self._event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())

    def _write(self, data: bytes) -> None:
        assert self._fh is not None
        header = struct.pack("<Q", len(data))
        crc = self._crc
        self._fh.write(
            header + struct.pack("<I", _masked(crc(header))) + data + struct.pack("<I", _masked(crc(data)))
        )

    def scalars(self, step: int, values: Iterable[tuple[str, float]], wall_time: float) -> None:
        """One event at ``step`` holding every ``(tag, value)`` (none: nothing written)."""
        value = self._summary.Value
        summary = self._summary(value=[value(tag=t, simple_value=v) for t, v in values])
        if summary.value:
            self._write(self._event(wall_time=wall_time, step=step, summary=summary).SerializeToString())

    def summary(self, summary: Any, wall_time: float, step: int = 0) -> None:
        """One event holding a ready ``Summary`` proto (the HParams dashboard's)."""
        self._write(self._event(wall_time=wall_time, step=step, summary=summary).SerializeToString())

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_events(path: Path) -> list[tuple[int, dict[str, float]]]:
    """Every scalar event of an event file: ``(step, {tag: value})``, in the file's order (a reader for
    tests and benchmarks; TensorBoard reads the same files with its own)."""
    from tensorboardX.proto import event_pb2

    data, out, at = path.read_bytes(), [], 0
    while at + 12 <= len(data):
        (n,) = struct.unpack_from("<Q", data, at)
        event = event_pb2.Event.FromString(data[at + 12 : at + 12 + n])
        at += 12 + n + 4
        if event.HasField("summary"):
            out.append((int(event.step), {v.tag: v.simple_value for v in event.summary.value}))
    return out


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _curve(rows: Sequence[Any], offset: int, prefix: str) -> Iterable[tuple[int, list[tuple[str, float]]]]:
    for row in rows:
        values = []
        for tag, field in CURVE_SCALARS:
            v = getattr(row, field)
            if v is not None and math.isfinite(v):
                values.append((prefix + tag, float(v)))
        yield offset + int(row.steps), values


def _owned(path: Path) -> bool:
    return (path / MARKER).is_file()


def _refusal(path: Path, what: str) -> str | None:
    """Why ``path`` cannot be a tracking directory for a new run, or ``None``."""
    if path.is_symlink() and not path.exists():
        return f"{what} {str(path)!r} is a broken link; accepted: a new or empty directory"
    if path.exists() and not path.is_dir():
        return f"{what} {str(path)!r} is not a directory; accepted: a new or empty directory"
    return None


def check_tracking_dir(path: Path, out: Path, what: str, *, force: bool, resume: bool = False) -> None:
    """Refuse ``path`` as the tracking directory of the run in ``out`` before anything is written
    (:class:`~spawn.errors.RunDirError`, one line): a file, the run directory or inside it, or a
    directory that holds other files (one lineage-sim tracked is taken with ``force`` or on ``resume``)."""
    problem = _refusal(path, what)
    if problem:
        raise RunDirError(problem)
    _outside(path, out, what)
    if not path.is_dir() or not any(path.iterdir()):
        return
    if not _owned(path):
        raise RunDirError(
            f"{what} {str(path)!r} is not empty; accepted: a new or empty directory, or one lineage-sim tracked"
        )
    if not (force or resume):
        raise RunDirError(
            f"{what} {str(path)!r} holds an earlier run's events; accepted: another directory, "
            "or --force to replace them"
        )
    if resume and not force:
        try:
            theirs = json.loads((path / MARKER).read_text(encoding="utf-8")).get("run")
        except (OSError, ValueError, AttributeError):
            theirs = None
        if theirs != str(out.resolve()):
            raise RunDirError(
                f"{what} {str(path)!r} holds another run's events ({shown(theirs)}); accepted: a new or empty "
                f"directory, or the one {str(out)!r} was tracked in"
            )


def _outside(path: Path, out: Path, what: str) -> None:
    here, run = path.resolve(), out.resolve()
    if here == run or run in here.parents:
        raise RunDirError(
            f"{what} {str(path)!r} is inside the run directory; accepted: a directory outside {str(out)!r}"
        )


def mark_tracking_dir(path: Path, out: Path) -> None:
    """Make ``path`` and say in it that lineage-sim tracks the run (or sweep) in ``out`` there."""
    path.mkdir(parents=True, exist_ok=True)
    marker = {"written_by": "lineage-sim", "run": str(out.resolve()), "layout": "the README of lineage-sim, Tracking"}
    atomic_write(path / MARKER, json.dumps(marker, indent=1) + "\n")


def _clear(path: Path) -> None:
    """Remove the event files lineage-sim wrote in the tracking directory ``path`` (nothing else)."""
    for f in path.glob(EVENTS_PREFIX + "*"):
        f.unlink()
    agents = path / "agents"
    if agents.is_dir():
        for sub in agents.iterdir():
            if sub.is_dir():
                for f in sub.glob(EVENTS_PREFIX + "*"):
                    f.unlink()
                if not any(sub.iterdir()):
                    sub.rmdir()
        if not any(agents.iterdir()):
            agents.rmdir()


_NO_MLFLOW = '[tracking] mlflow needs MLflow; accepted: pip install -e ".[mlflow]" (mlflow-skinny), or leave it out'


class _MLflow:
    """The same scalars into a local MLflow file store (``pip install -e ".[mlflow]"``): one MLflow run
    per lineage-sim run, tagged with its run directory; a resumed run's earlier MLflow run is replaced."""

    def __init__(self, store: Path, out: Path, name: str) -> None:
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")  # a local file store is what was asked for
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        try:
            from mlflow.entities import Metric
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise RunDirError(_NO_MLFLOW) from None
        store.mkdir(parents=True, exist_ok=True)
        self.metric = Metric
        self.client = MlflowClient(tracking_uri=store.resolve().as_uri())
        found = self.client.get_experiment_by_name("lineage-sim")
        exp = found.experiment_id if found else self.client.create_experiment("lineage-sim")
        tag = str(out.resolve())
        for old in self.client.search_runs([exp]):  # filtered here: a path may hold any character
            if old.data.tags.get("lineage_sim.out") == tag:
                self.client.delete_run(old.info.run_id)
        self.run = self.client.create_run(exp, run_name=name, tags={"lineage_sim.out": tag}).info.run_id
        self.pending: list[Any] = []

    def add(self, step: int, values: Iterable[tuple[str, float]], wall_time: float) -> None:
        ms = int(wall_time * 1000)
        self.pending += [self.metric(t, v, ms, step) for t, v in values]

    def flush(self) -> None:
        for i in range(0, len(self.pending), 1000):  # MLflow's batch limit
            self.client.log_batch(self.run, metrics=self.pending[i : i + 1000])
        self.pending = []

    def close(self, complete: bool) -> None:
        self.flush()
        self.client.set_terminated(self.run, "FINISHED" if complete else "KILLED")


class Tracker:
    """Writes the tracking of one run session: :meth:`start`, then :meth:`add` for the agents that
    joined the lineage (in its order) and :meth:`flush` after every checkpoint save, then :meth:`close`.

    ``alive`` (optional) gives the agents born and not yet finished, logged at every flush.
    """

    def __init__(
        self,
        tensorboard: Path | None,
        mlflow: Path | None,
        out: Path,
        *,
        agent_runs: int = 100,
        name: str | None = None,
        made: bool = False,
        hparams: Mapping[str, Any] | None = None,
    ) -> None:
        self.tensorboard, self.mlflow_dir, self.out = tensorboard, mlflow, out
        #: The run's settings for TensorBoard's HParams dashboard (a sweep's arm settings and seed)
        self.hparams: dict[str, Any] = dict(hparams or {})
        self.agent_runs, self.name = agent_runs, name or out.name
        self.made = made  # whether this session made the TensorBoard directory (undone on failure)
        self.alive: Callable[[], int] | None = None
        #: Under HGM's loop an agent's measurements change after it joins: its final metrics are
        #: written at the end (:meth:`finish`), its curve and the run's scalars as it goes.
        self.final_at_end = False
        self._run: EventFile | None = None
        self._session: tuple[Any, Any, Any] | None = None
        self._mlflow: _MLflow | None = None
        self.joined = 0  # agents in the lineage so far
        self.world = 0  # training steps the lineage spent so far
        self.best = -math.inf
        self.deepest = 0

    def start(self) -> None:
        """Write the directory afresh (events of an earlier session of this run removed)."""
        self.joined, self.world, self.best, self.deepest = 0, 0, -math.inf, 0
        if self.tensorboard is not None:
            self.tensorboard.mkdir(parents=True, exist_ok=True)
            _clear(self.tensorboard)
            mark_tracking_dir(self.tensorboard, self.out)
            self._run = EventFile(self.tensorboard)
            if self.hparams:
                self._session = _hparams(self.hparams)
                now = time.time()
                self._run.summary(self._session[0], now)
                self._run.summary(self._session[1], now)
        if self.mlflow_dir is not None:
            self._mlflow = _MLflow(self.mlflow_dir, self.out, self.name)
            if self.hparams:
                self._mlflow.client.log_batch(self._mlflow.run, params=_params(self.hparams))

    def _emit(self, step: int, values: list[tuple[str, float]], now: float) -> None:
        if self._run is not None:
            self._run.scalars(step, values, now)
        if self._mlflow is not None:
            self._mlflow.add(step, values, now)

    def add(self, records: Sequence[AgentRecord], depths: Sequence[int]) -> None:
        """The agents that joined the lineage since the last call, in its order, and their generations."""
        now = time.time()
        for rec, depth in zip(records, depths, strict=True):
            attrs: Mapping[str, Any] = rec.attributes
            before = self.world
            self.world += rec.train_steps
            self.joined += 1
            value = _number(attrs.get("value"))
            if value is not None:
                self.best = max(self.best, value)
            self.deepest = max(self.deepest, int(depth))
            run = [("run/population", float(self.joined)), ("run/depth", float(self.deepest))]
            if self.best > -math.inf:
                run.insert(0, ("run/best_value", self.best))
            self._emit(self.world, run, now)
            if not self.final_at_end:
                self._final(self.joined - 1, rec, now)
            for step, values in _curve(rec.curve, before, "curves/"):
                self._emit(step, values, now)
            if self.tensorboard is not None and self.joined <= self.agent_runs:
                self._agent_run(rec, now, curve=True, final=not self.final_at_end)

    def _final(self, index: int, rec: AgentRecord, now: float) -> None:
        metrics = [("agents/" + m, v) for m in AGENT_METRICS if (v := _number(_metric(rec, m))) is not None]
        self._emit(index, metrics, now)

    def finish(self, records: Sequence[AgentRecord]) -> None:
        """A complete run's every agent, in the lineage's order: the final metrics deferred to the
        end (:attr:`final_at_end`)."""
        if not self.final_at_end:
            return
        now = time.time()
        for i, rec in enumerate(records):
            self._final(i, rec, now)
            if self.tensorboard is not None and i < self.agent_runs:
                self._agent_run(rec, now, curve=False, final=True)

    def _agent_run(self, rec: AgentRecord, now: float, *, curve: bool, final: bool) -> None:
        assert self.tensorboard is not None
        f = EventFile(self.tensorboard / "agents" / rec.id)
        try:
            if curve:
                for step, values in _curve(rec.curve, 0, "curve/"):
                    f.scalars(step, values, now)
            if final:
                last = sorted((k, v) for k, x in rec.attributes.items() if (v := _number(x)) is not None)
                last += [("train_steps", float(rec.train_steps)), ("eval_steps", float(rec.eval_steps))]
                f.scalars(rec.train_steps, [("final/" + k, v) for k, v in dict(last).items()], now)
        finally:
            f.close()

    def flush(self) -> None:
        """After a checkpoint save: the agents alive now, and everything out to the files."""
        if self.alive is not None:
            self._emit(self.world, [("run/alive", float(self.alive()))], time.time())
        if self._run is not None:
            self._run.flush()
        if self._mlflow is not None:
            self._mlflow.flush()

    def close(self, complete: bool = False) -> None:
        try:
            if self._run is not None:
                if complete and self._session is not None:
                    self._run.summary(self._session[2], time.time())  # the HParams session ended
                self._run.close()
        finally:
            if self._mlflow is not None:
                self._mlflow.close(complete)
                self._mlflow = None

    def undo(self) -> None:
        """After a failed run: remove what this session wrote (the directory too, if it made it)."""
        self.close()
        if self.tensorboard is not None and self.tensorboard.is_dir():
            if self.made:
                shutil.rmtree(self.tensorboard, ignore_errors=True)
            else:
                _clear(self.tensorboard)
                (self.tensorboard / MARKER).unlink(missing_ok=True)


#: The metrics TensorBoard's HParams dashboard shows for each run (its last value of each tag).
HPARAM_METRICS = ("run/best_value", "run/population", "run/depth")


def _hparams(settings: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """The HParams dashboard's experiment, session start and session end summaries of a run."""
    from tensorboardX.summary import hparams

    plain = {k: v if isinstance(v, bool | int | float | str) else str(v) for k, v in settings.items()}
    exp, start, end = hparams(plain, dict.fromkeys(HPARAM_METRICS, 0.0))
    return exp, start, end


def _params(settings: Mapping[str, Any]) -> list[Any]:
    from mlflow.entities import Param

    return [Param(k, str(v)) for k, v in settings.items()]


def _metric(rec: AgentRecord, name: str) -> Any:
    if name == "train_steps":
        return rec.train_steps
    if name == "eval_steps":
        return rec.eval_steps
    return rec.attributes.get(name)


def open_tracker(
    tracking: Any,
    out: Path,
    *,
    force: bool = False,
    resume: bool = False,
    name: str | None = None,
    hparams: Mapping[str, Any] | None = None,
) -> Tracker | None:
    """The :class:`Tracker` of ``tracking`` (a :class:`~spawn.config.TrackingConfig`) for the run in
    ``out``, its directories checked (:func:`check_tracking_dir`) but nothing written; ``None`` when
    nothing is tracked."""
    if tracking is None or (tracking.tensorboard is None and tracking.mlflow is None):
        return None
    tb = None if tracking.tensorboard is None else Path(tracking.tensorboard)
    ml = None if tracking.mlflow is None else Path(tracking.mlflow)
    if tb is not None:
        check_tracking_dir(tb, out, "[tracking] tensorboard", force=force, resume=resume)
    if ml is not None:
        problem = _refusal(ml, "[tracking] mlflow")
        if problem:
            raise RunDirError(problem)
        _outside(ml, out, "[tracking] mlflow")
        import importlib.util
        import sys

        if "mlflow" not in sys.modules and importlib.util.find_spec("mlflow") is None:
            raise RunDirError(_NO_MLFLOW)
    made = tb is not None and not tb.exists()
    return Tracker(tb, ml, out, agent_runs=tracking.agent_runs, name=name, made=made, hparams=hparams)
