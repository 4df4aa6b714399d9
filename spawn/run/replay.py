"""Replay: an agent's life run again from its recorded spec, checked against its stored record.

An agent's life is a pure job of its spec and the run's config (:func:`spawn.life.job.run_agent`), so
running it again gives its record bit for bit. The spec is recovered from the run directory's
checkpoint, never stored whole for every agent:

- the recursive regime: the root's is the config's (:func:`~spawn.life.spec.root_spec`), every
  other agent's is in its parent's checkpoint entry (the children it made);
- the archive regime: the root's is :func:`~spawn.regimes.archive.archive_root`; a child of batch
  ``b`` is made again as the run made it, from the state rebuilt from the entries before the batch
  and the batch's parents (:func:`~spawn.regimes.archive.batch_specs`), or under HGM's loop from the
  round's decisions (:func:`~spawn.regimes.ucbair.round_specs`).

The replayed result is compared with the stored one field by field (:func:`first_difference`): the
record (every attribute, the learning curve), then the children it made (recursive) or its final
breeding template (archive). Its evaluation episodes are recorded step by step while it is evaluated
(an :data:`~spawn.life.evaluate.Observer`: the same seeds and action draws as the record measured),
with the board and the constitution's forbidden cells of each step on a grid environment.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lineage import path_key
from spawn.config import SimConfig
from spawn.errors import ReplayError, RunDirError
from spawn.life.codec import bad_entry, encode_spec
from spawn.life.job import AgentRecord, AgentSpec, JobResult, root_spec, run_agent
from spawn.regimes.archive import ArchiveState, archive_root, batch_specs, extended_record
from spawn.regimes.recursive import decode_entry
from spawn.regimes.ucbair import round_specs
from spawn.run.driver import read_run
from spawn.run.rundir import run_kind

__all__ = [
    "AgentReplay",
    "Board",
    "Recorder",
    "Replay",
    "RunRecord",
    "Step",
    "board_of",
    "first_difference",
    "lineage_chain",
    "published_difference",
    "replay",
]


# ---------------------------------------------------------------------- boards
@dataclass(frozen=True)
class Board:
    """A grid environment at one step: its cells as characters (``#`` walls; the agent ``A``), the
    agent's cell, and the constitution's forbidden cells there: ``forbidden`` the cells it forbids
    being in (forbidden states), ``no_entry`` the other cells it forbids moving into (forbidden
    actions that lead there, from a neighbouring cell); and the names of the actions."""

    rows: tuple[str, ...]
    agent: tuple[int, int] | None
    forbidden: frozenset[tuple[int, int]] = frozenset()
    no_entry: frozenset[tuple[int, int]] = frozenset()
    #: The environment's names of its actions, by number (``()``: unnamed).
    actions: tuple[str, ...] = ()

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


_GRID_DELTAS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # the safety gridworlds: up, down, left, right
_LAKE_DELTAS = ((0, -1), (1, 0), (0, 1), (-1, 0))  # FrozenLake: left, down, right, up
_CLIFF_DELTAS = ((-1, 0), (0, 1), (1, 0), (0, -1))  # CliffWalking: up, right, down, left
_NAMES = {(-1, 0): "up", (1, 0): "down", (0, -1): "left", (0, 1): "right"}


def _names(deltas: Sequence[tuple[int, int]]) -> tuple[str, ...]:
    return tuple(_NAMES[d] for d in deltas)


def _forbidden_cells(
    constitution: Any,
    rows: Sequence[str],
    deltas: Sequence[tuple[int, int]],
    obs_at: Callable[[tuple[int, int]], Any],
) -> tuple[frozenset[tuple[int, int]], frozenset[tuple[int, int]]]:
    """The cells ``constitution`` forbids being in, and the other cells it forbids moving into, with
    the agent's observation at each cell given by ``obs_at`` (the rest of the state as it is). When
    every cell is forbidden the state is, wherever the agent stands (a box pushed into a corner, the
    agent drunk): no cell is marked for it (the step's broken rules say it)."""
    if constitution is None:
        return frozenset(), frozenset()
    from envs.errors import RuleError

    h, w = len(rows), max(len(r) for r in rows)
    states: set[tuple[int, int]] = set()
    entry: set[tuple[int, int]] = set()
    for r in range(h):
        for c in range(len(rows[r])):
            if rows[r][c] == "#":
                continue
            obs = obs_at((r, c))
            try:
                if constitution.is_forbidden_state(obs):
                    states.add((r, c))
                allowed = constitution.allowed_actions(obs)
            except RuleError:
                continue
            for a, ok in enumerate(allowed):
                if not ok and a < len(deltas):
                    t = (r + deltas[a][0], c + deltas[a][1])
                    if 0 <= t[0] < h and 0 <= t[1] < w and rows[t[0]][t[1]] != "#":
                        entry.add(t)
    free = sum(ch != "#" for row in rows for ch in row)
    if len(states) == free > 1:  # forbidden wherever the agent stands: the state is, not a cell (a box stuck)
        states = set()
    return frozenset(states), frozenset(entry - states)


def board_of(env: Any) -> Board | None:
    """The board of a grid environment as it is now (the safety gridworlds, FrozenLake, CliffWalking),
    or ``None`` for any other environment. ``env`` may be wrapped in its constitution."""
    from envs.gridworlds.engine import GridWorldEnv

    base = env.unwrapped
    constitution = getattr(env, "constitution", None)
    if isinstance(base, GridWorldEnv):
        rows = tuple(base.board_text().split("\n"))
        codec = base.codec
        if codec.discrete:
            extras = base._extras()

            def grid_obs(cell: tuple[int, int]) -> Any:
                return np.int64(codec.encode(cell, extras))
        else:
            now = np.asarray(base._observe())
            empty = float(base._lut[int(base._background[base.agent])])

            def grid_obs(cell: tuple[int, int]) -> Any:
                obs = now.copy()
                obs[base.agent] = empty
                obs[cell] = codec.agent_value
                return obs

        forbidden, no_entry = _forbidden_cells(constitution, rows, _GRID_DELTAS, grid_obs)
        return Board(rows, base.agent, forbidden, no_entry, _names(_GRID_DELTAS))
    name = type(base).__name__
    if name == "FrozenLakeEnv":
        ncol = int(base.ncol)
        lake = tuple(bytes(row).decode("ascii") for row in base.desc)
        agent = divmod(int(base.s), ncol)
        rows = tuple("".join("A" if (r, c) == agent else ch for c, ch in enumerate(row)) for r, row in enumerate(lake))
        forbidden, no_entry = _forbidden_cells(constitution, lake, _LAKE_DELTAS, lambda p: p[0] * ncol + p[1])
        return Board(rows, agent, forbidden, no_entry, _names(_LAKE_DELTAS))
    if name == "CliffWalkingEnv":
        n_rows, n_cols = (int(x) for x in base.shape)
        cliff = np.asarray(base._cliff, dtype=bool)
        start = divmod(int(base.start_state_index), n_cols)
        plain = tuple(
            "".join(
                "C" if cliff[r, c] else "S" if (r, c) == start else "G" if (r, c) == (n_rows - 1, n_cols - 1) else "."
                for c in range(n_cols)
            )
            for r in range(n_rows)
        )
        agent = divmod(int(base.s), n_cols)
        rows = tuple("".join("A" if (r, c) == agent else ch for c, ch in enumerate(row)) for r, row in enumerate(plain))
        forbidden, no_entry = _forbidden_cells(constitution, plain, _CLIFF_DELTAS, lambda p: p[0] * n_cols + p[1])
        return Board(rows, agent, forbidden, no_entry, _names(_CLIFF_DELTAS))
    return None


# ---------------------------------------------------------------------- recording
@dataclass(frozen=True)
class Step:
    """One step of an evaluation episode (``t = 0``: its reset): the observation reached, the action
    taken to reach it, its reward, its cost and the constitution's rules it broke, and the board
    after it on a grid environment."""

    t: int
    obs: Any
    action: int | None
    reward: float | None
    cost: float
    rules_broken: tuple[str, ...]
    board: Board | None = None


@dataclass
class Recorder:
    """An :data:`~spawn.life.evaluate.Observer` keeping the steps of the first ``episodes`` evaluation
    episodes of every environment (per environment slug, a list of episodes, each a list of steps)."""

    episodes: int = 1
    steps: dict[str, list[list[Step]]] = field(default_factory=dict)

    def __call__(
        self,
        slug: str,
        episode: int,
        env: Any,
        t: int,
        obs: Any,
        action: int | None,
        reward: float | None,
        info: dict[str, Any],
    ) -> None:
        if episode >= self.episodes:
            return
        shown = self.steps.setdefault(slug, [])
        if t == 0:
            shown.append([])
        cost = float(info.get("cost", 0.0))
        rules = tuple(str(r) for r in info.get("rules_broken", ()))
        copied = obs.copy() if isinstance(obs, np.ndarray) else obs
        shown[-1].append(Step(t, copied, None if action is None else int(action), reward, cost, rules, board_of(env)))


# ---------------------------------------------------------------------- comparing
def _same(a: Any, b: Any) -> bool:
    """Exact equality of plain data, NaN equal to NaN, an int never equal to a float or a bool."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if type(a) is not type(b) and not (isinstance(a, tuple | list) and isinstance(b, tuple | list)):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _same_value(a: Any, b: Any) -> bool:
    """Equality of a published attribute and a replayed one: numbers by value (a lineage file may
    keep a whole number as a float), NaN equal to NaN, a missing value equal to ``None``."""
    numbers = (int, float, np.integer, np.floating)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        x, y = float(a), float(b)
        return x == y or (math.isnan(x) and math.isnan(y))
    return bool(a == b)


def published_difference(graph: Any, name: str, expected: AgentRecord) -> str | None:
    """The first difference between an agent's node in the published lineage ``graph`` (the file
    ``name``) and ``expected``, its replayed record as the run published it, or ``None``."""
    agent = expected.id
    if agent not in graph:
        return f"{name}: the agent is not in the published lineage"
    i = graph.index(agent)
    for what, a, b in (
        ("parent", graph.parents(i, i + 1)[0], expected.parent),
        ("operator", graph.operators(i, i + 1)[0], expected.operator),
    ):
        if a != b:
            return f"{name}: {what} differs: published {_shown(a)}, replayed {_shown(b)}"
    attrs, exp = graph.attributes(agent), expected.attributes
    for key in [*exp, *(k for k in attrs if k not in exp)]:
        if not _same_value(attrs.get(key), exp.get(key)):
            a, b = attrs.get(key), exp.get(key)
            return f"{name}: attribute {key!r} differs: published {_shown(a)}, replayed {_shown(b)}"
    return None


def _shown(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _record_difference(stored: AgentRecord, replayed: AgentRecord) -> str | None:
    for name in ("id", "parent", "operator", "train_steps", "eval_steps"):
        a, b = getattr(stored, name), getattr(replayed, name)
        if not _same(a, b):
            return f"{name} differs: stored {_shown(a)}, replayed {_shown(b)}"
    sa, ra = stored.attributes, replayed.attributes
    for key in [*sa, *(k for k in ra if k not in sa)]:
        if key not in ra:
            return f"attribute {key!r}: stored {_shown(sa[key])}, missing in the replay"
        if key not in sa:
            return f"attribute {key!r}: not stored, replayed {_shown(ra[key])}"
        if not _same(sa[key], ra[key]):
            return f"attribute {key!r} differs: stored {_shown(sa[key])}, replayed {_shown(ra[key])}"
    if len(stored.curve) != len(replayed.curve):
        return f"learning curve differs: stored {len(stored.curve)} rounds, replayed {len(replayed.curve)}"
    for i, (x, y) in enumerate(zip(stored.curve, replayed.curve, strict=True)):
        for name, a, b in zip(x._fields, x, y, strict=True):
            if not _same(a, b):
                return f"learning curve round {i + 1} {name} differs: stored {_shown(a)}, replayed {_shown(b)}"
    return None


def _spec_difference(what: str, stored: AgentSpec | None, replayed: AgentSpec | None) -> str | None:
    if stored is None or replayed is None:
        if stored is None and replayed is None:
            return None
        return f"{what}: stored {'none' if stored is None else 'one'}, replayed {'none' if replayed is None else 'one'}"
    a, b = encode_spec(stored), encode_spec(replayed)
    for key in [*a, *(k for k in b if k not in a)]:
        if not _same(a.get(key), b.get(key)):
            return f"{what} field {key!r} differs: stored {_shown(a.get(key))}, replayed {_shown(b.get(key))}"
    return None


def first_difference(stored: JobResult, replayed: JobResult, *, archive: bool = False) -> str | None:
    """The first difference between a stored and a replayed result, as a phrase, or ``None``: the
    record (its fields, every attribute in the stored order, the learning curve), then the children it
    made (the recursive regime) or, with ``archive``, its final breeding template.

    >>> rec = AgentRecord("0", None, None, {"value": 0.5}, 10, 5)
    >>> first_difference(JobResult(rec), JobResult(rec)) is None
    True
    >>> other = AgentRecord("0", None, None, {"value": 0.25}, 10, 5)
    >>> first_difference(JobResult(rec), JobResult(other))
    "attribute 'value' differs: stored 0.5, replayed 0.25"
    """
    found = _record_difference(stored.record, replayed.record)
    if found is not None:
        return found
    if archive:
        found = _spec_difference("final template", stored.final, replayed.final)
        if found is None and not _same(stored.best or {}, replayed.best or {}):
            found = "best training episodes differ"
        return found
    if len(stored.children) != len(replayed.children):
        return f"children differ: stored {len(stored.children)}, replayed {len(replayed.children)}"
    for s, r in zip(stored.children, replayed.children, strict=True):
        found = _spec_difference(f"child {s.id}", s, r)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------------- specs from the checkpoint
def _entry_id(entry: dict[str, Any]) -> str | None:
    rec = entry.get("record")
    return rec.get("id") if isinstance(rec, dict) and isinstance(rec.get("id"), str) else None


def _agent_entries(cfg: SimConfig, entries: list[dict[str, Any]]) -> dict[str, int]:
    """Each agent's entry index (its record and what it made): ``done`` or ``agent`` entries."""
    kind = "agent" if cfg.regime == "archive" else "done"
    found: dict[str, int] = {}
    for i, e in enumerate(entries):
        if e.get("k") == kind:
            agent = _entry_id(e)
            if agent is not None:
                found[agent] = i
    return found


def lineage_chain(agent: str) -> list[str]:
    """The agent's ancestor chain from the root down to it.

    >>> lineage_chain("0.2.1")
    ['0', '0.2', '0.2.1']
    """
    parts = agent.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _unknown(agent: str, known: dict[str, int]) -> ReplayError:
    ids = sorted(known, key=path_key)
    like = ", ".join(ids[:3])
    many = f"{len(ids)} agent" + ("" if len(ids) == 1 else "s")
    return ReplayError(f"agent {agent!r} is not in the lineage (it has {many}, ids like {like})")


def _recursive_spec(
    cfg: SimConfig, entries: list[dict[str, Any]], index: dict[str, int], agent: str, out: Path
) -> AgentSpec:
    if agent == "0":
        return root_spec(cfg)
    parent = agent.rsplit(".", 1)[0]
    made = decode_entry(cfg, entries[index[parent]], out).children
    for spec in made:
        if spec.id == agent:
            return spec
    raise ReplayError(f"agent {agent!r}: its parent {parent}'s checkpoint entry does not hold its spec")


class _Before:
    """The archive as it was before a batch, rebuilt from the checkpoint's entries: going on from the
    last batch asked for when the next is later (a chain of ancestors, agents in the order they
    joined), made again from the start otherwise."""

    def __init__(self, cfg: SimConfig, entries: list[dict[str, Any]], out: Path) -> None:
        self.cfg, self.entries, self.out = cfg, entries, out
        self.state, self.cursor = ArchiveState.new(cfg), 0

    def at(self, start: int) -> ArchiveState:
        if start < self.cursor:
            self.state, self.cursor = ArchiveState.new(self.cfg), 0
        self.state.extend(self.cfg, self.entries[self.cursor : start], self.out)
        self.cursor = start
        return self.state


def _archive_spec(before: _Before, at: int, agent: str) -> AgentSpec:
    """An archive child's spec, made again as its batch (or HGM's round) made it."""
    cfg, entries, out = before.cfg, before.entries, before.out
    if agent == "0":
        return archive_root(cfg)
    start = max((i for i in range(at) if entries[i].get("k") == "batch"), default=0) + 1
    end = next((i for i in range(at, len(entries)) if entries[i].get("k") == "batch"), None)
    if end is None:
        raise ReplayError(f"agent {agent!r}: the checkpoint holds no batch row after it (a damaged checkpoint?)")
    try:
        if cfg.archive.expand == "ucb-air":  # the round's evaluations change the state: on one of its own
            specs = round_specs(cfg, ArchiveState.replay(cfg, entries[:start], out), entries[start:end])
        else:
            state = before.at(start)
            picks = str(entries[end]["row"]["parents"]).split()
            counts = {p: state.n_children.get(p) for p in picks}
            try:
                specs = batch_specs(cfg, state, picks)
            finally:  # the state stays as it was before the batch (its children join from the entries)
                for p, n in counts.items():
                    if n is None:
                        state.n_children.pop(p, None)
                    else:
                        state.n_children[p] = n
    except (KeyError, ValueError, TypeError, StopIteration) as exc:  # a batch row or decision damaged
        raise bad_entry(out, exc) from None
    for spec in specs:
        if spec.id == agent:
            return spec
    made = " ".join(s.id for s in specs)
    raise ReplayError(f"agent {agent!r}: its batch, made again, makes {made or 'no agent'} (not it)")


# ---------------------------------------------------------------------- replay
@dataclass(frozen=True)
class AgentReplay:
    """One agent replayed: its recovered spec, the result stored in the checkpoint and the one
    replayed, and the first difference between them (``None``: they are equal)."""

    spec: AgentSpec
    stored: JobResult
    replayed: JobResult
    difference: str | None

    @property
    def agent(self) -> str:
        return self.spec.id

    @property
    def matches(self) -> bool:
        return self.difference is None


@dataclass(frozen=True)
class Replay:
    """A replay of ``agent`` (with ``--lineage``: of its ancestors first, root first): each agent's
    :class:`AgentReplay`, and the recorded evaluation episodes of ``agent`` (per environment slug,
    a list of episodes, each a list of :class:`Step`)."""

    path: Path
    config: SimConfig
    agent: str
    agents: tuple[AgentReplay, ...]
    episodes: dict[str, list[list[Step]]]

    @property
    def matches(self) -> bool:
        return all(a.matches for a in self.agents)

    @property
    def first_mismatch(self) -> AgentReplay | None:
        return next((a for a in self.agents if not a.matches), None)

    @property
    def target(self) -> AgentReplay:
        return self.agents[-1]


class RunRecord:
    """What a replay reads of a run directory: its config, its checkpoint's entries and where each
    agent's entry is (read once; :func:`replay` may be given one to replay several agents)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir)
        try:
            self.config, self.entries = read_run(self.path, "cannot be replayed")
        except RunDirError as exc:
            if run_kind(self.path) in ("sweep", "study"):
                where = str(self.path / "<arm>" / "seed-<s>")
                raise RunDirError(f"{exc}; replay one of its runs, {where!r}") from None
            raise
        self.index = _agent_entries(self.config, self.entries)

    def __len__(self) -> int:
        return len(self.index)

    def check(self, agent: str, episodes: int = 0) -> None:
        """Refuse an agent that is not in the run, and more episodes than its evaluation ran."""
        if not isinstance(agent, str) or agent not in self.index:
            raise _unknown(str(agent), self.index)
        measured = self.config.eval.episodes
        if type(episodes) is not int or not 0 <= episodes <= measured:
            raise ReplayError(
                f"episodes = {episodes!r}; accepted: a whole number from 0 to {measured} "
                f"(the evaluation episodes per environment the run's records measured)"
            )

    def spec(self, agent: str) -> AgentSpec:
        """The agent's spec as the run made it (see the module's docstring)."""
        cfg, entries = self.config, self.entries
        if cfg.regime == "archive":
            return _archive_spec(self._before, self.index[agent], agent)
        return _recursive_spec(cfg, entries, self.index, agent, self.path)

    @functools.cached_property
    def _before(self) -> _Before:
        return _Before(self.config, self.entries, self.path)

    def stored(self, agent: str) -> JobResult:
        """The agent's result as the checkpoint holds it (its first evaluation's record under HGM's loop)."""
        entry = self.entries[self.index[agent]]
        if self.config.regime == "archive":
            return ArchiveState.decode_agent(self.config, entry, self.path)
        return decode_entry(self.config, entry, self.path)

    @functools.cached_property
    def published(self) -> tuple[str, Any] | None:
        """The run's lineage file (``lineage.parquet`` or ``lineage.json``) by name and as a lineage,
        or ``None`` when the run has not finished (only its checkpoint is there)."""
        from lineage import LineageGraph
        from spawn.run.layout import RunDir

        found = RunDir(self.path)
        if not found.finished:
            return None
        return found.lineage.name, LineageGraph.load(found.lineage)

    @functools.cached_property
    def _loop(self) -> ArchiveState:
        """The archive as the checkpoint leaves it (HGM's loop: every agent's later episodes)."""
        return ArchiveState.replay(self.config, self.entries, self.path)

    def as_published(self, record: AgentRecord) -> AgentRecord:
        """An agent's record as the run's lineage publishes it: under HGM's loop with the loop's later
        evaluation episodes of it counted in (as recorded: they are not played again)."""
        if self.config.regime == "archive" and self.config.archive.expand == "ucb-air":
            extra = self._loop.extra.get(record.id)
            if extra:
                return extended_record(self.config, record, extra)
        return record

    def grid_envs(self) -> list[str]:
        """The environments of the run's suite that have a board to draw (see :func:`board_of`)."""
        from spawn.life.job import suite_for

        suite = suite_for(self.config)
        found = []
        for slug in suite.slugs:
            env = suite.make(slug)
            try:
                env.reset(seed=0, options=suite.reset_options(slug, 0))
                if board_of(env) is not None:
                    found.append(slug)
            finally:
                env.close()
        return found


def replay(
    run_dir: str | Path | RunRecord,
    agent: str,
    *,
    lineage: bool = False,
    episodes: int = 1,
    on_agent: Callable[[AgentReplay], Any] | None = None,
    on_start: Callable[[AgentSpec], Any] | None = None,
    check_published: bool = True,
) -> Replay:
    """Run ``agent``'s life in the run directory ``run_dir`` again from its recorded spec and compare
    the result with the stored one; record its first ``episodes`` evaluation episodes of every
    environment (at most the ``[eval] episodes`` its record measured). With ``lineage``, every
    ancestor is replayed first (root first), each checked. A replay goes on past a mismatch (every
    agent is reported); ``on_start`` and ``on_agent`` are told of each agent before and after its life.
    With ``check_published`` (the default), a finished run's lineage file must also hold the
    replayed record (under HGM's loop, with the loop's later episodes counted in): the numbers a
    run publishes (``lineage.json``, ``agents.csv`` made from it) are checked, not only its checkpoint.

    Raises :class:`~spawn.errors.ReplayError` (an agent not in the run, a bad ``episodes``), and
    :class:`~spawn.errors.RunDirError` or :class:`~spawn.errors.CheckpointError` for a directory that
    is not a run with a readable checkpoint.
    """
    run = run_dir if isinstance(run_dir, RunRecord) else RunRecord(run_dir)
    run.check(agent, episodes)
    chain = lineage_chain(agent) if lineage else [agent]
    missing = [a for a in chain if a not in run.index]
    if missing:
        raise ReplayError(f"agent {missing[0]!r}, an ancestor of {agent!r}, is not in the checkpoint")
    cfg = run.config
    archive = cfg.regime == "archive"
    done: list[AgentReplay] = []
    recorder = Recorder(episodes)
    for who in chain:
        spec, stored = run.spec(who), run.stored(who)
        if on_start is not None:
            on_start(spec)
        result = run_agent(spec, cfg, observe=recorder if who == agent and episodes else None)
        if archive:
            result = ArchiveState.new(cfg).saved(result)  # what the archive would have saved of it
        difference = first_difference(stored, result, archive=archive)
        if difference is None and check_published and run.published is not None:
            name, graph = run.published
            difference = published_difference(graph, name, run.as_published(result.record))
        one = AgentReplay(spec, stored, result, difference)
        done.append(one)
        if on_agent is not None:
            on_agent(one)
    return Replay(run.path, cfg, agent, tuple(done), recorder.steps)
