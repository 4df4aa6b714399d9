"""The AIQ estimator: a cached stratum pool of BF programs, antithetic runs of an agent, Upsilon and Sigma.

Two allocations of programs to strata: ``"adaptive"``, the reference's default adaptive stratified
estimator (stages of growing size, each allocating in proportion to ``p`` times the stratum's standard
deviation so far), and ``"proportional"`` (in proportion to ``p``, fixed in advance, so every agent meets
the same programs and :func:`compare_agents` can pair them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from attribution.aiq import (
    StratifiedEstimate,
    adaptive_allocation,
    adaptive_estimate,
    adaptive_stages,
    aligned_scores,
    pair_sds,
    paired_difference,
    proportional_allocation,
)
from attribution.aiq import stratified_estimate as _stratified
from envs.bf import INSTRUCTIONS, MAX_STEPS, STRATA, BFMachine, bf_constitution, sample_program
from lineage import LineageError, atomic_write, read_text
from spawn import limits
from spawn.aiq.agents import AIQAgent, make_aiq_agent
from spawn.errors import ConfigError

__all__ = [
    "ALLOCATIONS",
    "POOL_CHUNK",
    "REFERENCE_P",
    "AgentFactory",
    "LocalProcessExecutor",
    "StratumPool",
    "UniversalResult",
    "check_work",
    "compare_agents",
    "default_cache_dir",
    "estimate_upsilon",
    "load_pool",
    "run_episode",
]

#: Active programs per cached pool chunk; a pool is a whole number of chunks, chunk ``k`` seeded alone.
POOL_CHUNK = 250
#: Section 10 of the reference notes: a re-estimate of p[1..20] for BF(5) (not from the AIQ repository).
REFERENCE_P = (
    0.1755, 0.1042, 0.0249, 0.0053, 0.0192, 0.0196, 0.0169, 0.0170, 0.0187, 0.0070,
    0.0575, 0.0469, 0.0700, 0.0625, 0.0688, 0.0565, 0.0681, 0.0670, 0.0467, 0.0478,
)  # fmt: skip
#: ``estimate_upsilon``'s allocations of programs to strata; the first is the default.
ALLOCATIONS = ("adaptive", "proportional")
_POOL_KEY = 0x501
_RUN_KEY = 0x52


def default_cache_dir() -> Path:
    """``$LINEAGE_SIM_CACHE`` or ``$XDG_CACHE_HOME/lineage-sim`` (``~/.cache/lineage-sim``)."""
    env = os.environ.get("LINEAGE_SIM_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lineage-sim"


# ---------------------------------------------------------------------- a local process pool
class LocalProcessExecutor:
    """``map`` over a local process pool, results in input order (the Executor part the estimator uses)."""

    name = "processes"

    def __init__(self, workers: int = 2) -> None:
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers)
        chunk = max(1, len(items) // (self.workers * 4))
        return list(self._pool.map(fn, items, chunksize=chunk))

    def where(self) -> dict[str, Any]:
        return {"runtime": self.name, "nodes": 1, "cpus": self.workers}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class _Inline:
    name = "inline"

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        return [fn(x) for x in items]


# ---------------------------------------------------------------------- the stratum pool
@dataclasses.dataclass(frozen=True)
class StratumPool:
    """Classified active BF programs by stratum, drawn from a seed; ``p`` are the stratum weights.

    ``raw``, ``passive`` and ``overtime`` count every program drawn to find the active ones.
    """

    n_symbols: int
    seed: int
    programs: tuple[tuple[str, ...], ...]
    raw: int
    passive: int
    overtime: int

    @property
    def counts(self) -> np.ndarray:
        return np.array([len(x) for x in self.programs], dtype=np.int64)

    @property
    def size(self) -> int:
        return int(self.counts.sum())

    @property
    def p(self) -> np.ndarray:
        """Stratum weights: each stratum's share of the active programs (0 for stratum 0)."""
        c = self.counts.astype(np.float64)
        return c / c.sum()

    def reference_distance(self) -> float:
        """Total-variation distance from ``p[1:]`` to :data:`REFERENCE_P` (sampling noise ~0.02 at 20,000)."""
        return 0.5 * float(np.abs(self.p[1:] - np.asarray(REFERENCE_P)).sum())


def _pool_chunk(args: tuple[int, int, int, int]) -> tuple[list[tuple[int, str]], int, int, int]:
    seed, k, n, size = args
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_POOL_KEY, k)))
    found: list[tuple[int, str]] = []
    raw = passive = overtime = 0
    while len(found) < size:
        stratum, program = sample_program(rng, n)
        raw += 1
        if stratum == 0:
            passive += 1
        elif stratum < 0:
            overtime += 1
        else:
            found.append((stratum, program))
    return found, raw, passive, overtime


def _chunk_path(cache: Path, seed: int, n: int, k: int) -> Path:
    return cache / f"aiq-bf{n}-seed{seed}" / f"chunk{k:05d}-{POOL_CHUNK}.tsv"


#: Largest cached chunk file read back (a real one is about 10 kB); anything larger is redrawn.
_CHUNK_BYTES = 1_000_000
_COUNT = re.compile(r"[0-9]{1,12}")


def _read_chunk(path: Path) -> tuple[list[tuple[int, str]], int, int, int] | None:
    """A cached chunk, or ``None`` (then it is drawn again) for anything that is not a whole, sound chunk.

    A cache file is data: a FIFO, a device, a folder, a huge, truncated or foreign file is never
    trusted and never crashes; it is redrawn.
    """
    try:
        text = read_text(path, limit=_CHUNK_BYTES, what="an AIQ pool chunk")
    except (LineageError, OSError):
        return None
    lines = text.split("\n")
    if len(lines) != POOL_CHUNK + 2 or lines[-1] != "":  # header, the programs, the final newline
        return None
    head: dict[str, int] = {}
    fields = lines[0].removeprefix("# ").split(" ")
    for kv in fields:
        key, _, value = kv.partition("=")
        if key not in ("raw", "passive", "overtime") or key in head or not _COUNT.fullmatch(value):
            return None
        head[key] = int(value)
    if len(head) != 3:
        return None
    found: list[tuple[int, str]] = []
    for line in lines[1:-1]:
        stratum, sep, program = line.partition("\t")
        if not sep or not stratum.isdigit() or len(stratum) > 2 or not 1 <= int(stratum) < STRATA:
            return None
        if not program or set(program) - set(INSTRUCTIONS):
            return None
        found.append((int(stratum), program))
    if head["raw"] != POOL_CHUNK + head["passive"] + head["overtime"]:
        return None
    return found, head["raw"], head["passive"], head["overtime"]


def _write_chunk(path: Path, chunk: tuple[list[tuple[int, str]], int, int, int]) -> None:
    found, raw, passive, overtime = chunk
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"# raw={raw} passive={passive} overtime={overtime}\n" + "".join(f"{s}\t{p}\n" for s, p in found)
    atomic_write(path, text)


def check_work(programs: int, episode_length: int, pool_size: int) -> None:
    """Refuse an AIQ estimate over the limits (``aiq_cycles``, ``aiq_pool``) before any work or cache write."""
    limits.check("aiq_pool", pool_size, f"a stratum pool of {pool_size:,} programs")
    limits.check(
        "aiq_cycles",
        2 * programs * episode_length,
        f"{programs:,} programs x 2 runs x {episode_length:,} cycles",
    )
    capacity = math.ceil(pool_size / POOL_CHUNK) * POOL_CHUNK
    if programs > capacity:
        raise ConfigError(
            f"{programs:,} programs need more than the pool of {capacity:,} holds; "
            "use a larger pool (pool_size, --pool-size: about 2 x programs)"
        )


def load_pool(
    seed: int = 0,
    size: int = 20_000,
    n_symbols: int = 5,
    cache_dir: str | Path | None = None,
    executor: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> StratumPool:
    """The stratum pool of at least ``size`` active programs for ``seed``, from the cache or drawn now.

    Drawn in chunks of :data:`POOL_CHUNK` active programs, chunk ``k`` from
    ``SeedSequence(seed, spawn_key=(0x501, k))``: the same seed gives the same pool whatever the
    executor, and a larger pool extends a smaller one. Chunks are cached as text under
    ``cache_dir/aiq-bf<n>-seed<seed>/`` (written atomically).

    Examples
    --------
    >>> import tempfile
    >>> pool = load_pool(seed=1, size=10, cache_dir=tempfile.mkdtemp())
    >>> pool.size, len(pool.programs), pool.raw > pool.size
    (250, 21, True)
    """
    if size < 1:
        raise ConfigError(f"pool size = {size}; accepted: >= 1")
    limits.check("aiq_pool", size, f"a stratum pool of {size:,} programs")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    chunks: dict[int, tuple[list[tuple[int, str]], int, int, int]] = {}
    needed = math.ceil(size / POOL_CHUNK)
    for k in range(needed):
        got = _read_chunk(_chunk_path(cache, seed, n_symbols, k))
        if got is not None:
            chunks[k] = got
    missing = [k for k in range(needed) if k not in chunks]
    ex = executor if executor is not None else _Inline()
    step = max(1, getattr(ex, "workers", 1)) * 2
    for start in range(0, len(missing), step):
        batch = missing[start : start + step]
        for k, chunk in zip(batch, ex.map(_pool_chunk, [(seed, k, n_symbols, POOL_CHUNK) for k in batch]), strict=True):
            chunks[k] = chunk
            with contextlib.suppress(OSError, LineageError):  # an unwritable cache only costs time
                _write_chunk(_chunk_path(cache, seed, n_symbols, k), chunk)
        if progress is not None:
            progress(min(start + step, len(missing)), len(missing))
    by: list[list[str]] = [[] for _ in range(STRATA)]
    raw = passive = overtime = 0
    for k in range(needed):
        found, r, pa, ot = chunks[k]
        raw, passive, overtime = raw + r, passive + pa, overtime + ot
        for s, prog in found:
            by[s].append(prog)
    return StratumPool(n_symbols, seed, tuple(tuple(x) for x in by), raw, passive, overtime)


# ---------------------------------------------------------------------- one run
AgentFactory = Callable[[np.random.Generator], AIQAgent]


def run_episode(
    program: str,
    agent: AIQAgent,
    episode_length: int,
    flip: float,
    rng: np.random.Generator,
    n_symbols: int = 5,
    forbidden: Sequence[Sequence[bool]] | None = None,
) -> tuple[float, float]:
    """One run of the reference's ``_test_agent``: ``(score, distance)``; score NaN on overtime.

    The score is the mean reward per cycle times ``flip`` (the antithetic sign, also applied to what
    the agent sees). With ``forbidden[obs][a]`` (a constitution's mask), ``distance`` is the mean over
    cycles of ``-log2`` of the probability the agent gave to the allowed actions: the projection
    distance over the agent's own state occupancy; else 0.

    Examples
    --------
    >>> from spawn.aiq.agents import FreqAgent
    >>> agent = FreqAgent(np.random.default_rng(0), epsilon=0.0)
    >>> run_episode(",..#", agent, 100, 1.0, np.random.default_rng(1))
    (96.5, 0.0)
    """
    m = BFMachine(program, n_symbols, rng)
    cycle, t, h, rand = m.cycle, m.t, m.h, m.rand
    rewards = [flip * r for r in m.rewards]
    perceive = agent.perceive
    p, o0, o1 = 0, m.mid, m.mid
    reward = 0.0
    total = 0.0
    bits = 0.0
    for _ in range(episode_length):
        if forbidden is not None and any(forbidden[o1]):
            probs = agent.action_probs(o1)
            allowed = sum(q for q, f in zip(probs, forbidden[o1], strict=True) if not f)
            bits -= math.log2(max(allowed, 1e-300))
        a = perceive(o1, reward)
        h.pop()
        h.insert(0, a)
        p, o0, o1, steps = cycle(t, p, h, o0, o1, rand)
        if steps >= MAX_STEPS:
            return math.nan, math.nan
        reward = rewards[o0]
        total += reward
    return total / episode_length, bits / episode_length


@dataclasses.dataclass(frozen=True)
class _Task:
    program: str
    stratum: int
    index: int
    agent: str
    params: tuple[tuple[str, float], ...]
    episode_length: int
    seed: int
    n_symbols: int
    aligned: bool
    factory: AgentFactory | None = None


def _run_pair(task: _Task) -> tuple[float, float, float, float]:
    """Both antithetic runs of one program; ``(r+, r-, d+, d-)``."""
    forbidden = None
    if task.aligned:
        c = bf_constitution(task.n_symbols)
        forbidden = [[not ok for ok in c.allowed_actions(o).tolist()] for o in range(task.n_symbols)]
    out: list[float] = []
    dist: list[float] = []
    for side, flip in enumerate((1.0, -1.0)):
        base = (_RUN_KEY, task.stratum, task.index, side)
        env_rng = np.random.default_rng(np.random.SeedSequence(task.seed, spawn_key=(*base, 0)))
        agent_rng = np.random.default_rng(np.random.SeedSequence(task.seed, spawn_key=(*base, 1)))
        agent = (
            task.factory(agent_rng)
            if task.factory is not None
            else make_aiq_agent(task.agent, agent_rng, task.episode_length, task.n_symbols, **dict(task.params))
        )
        score, d = run_episode(task.program, agent, task.episode_length, flip, env_rng, task.n_symbols, forbidden)
        if math.isnan(score):
            return math.nan, math.nan, math.nan, math.nan
        out.append(score)
        dist.append(d)
    return out[0], out[1], dist[0], dist[1]


# ---------------------------------------------------------------------- the estimator
@dataclasses.dataclass(frozen=True)
class UniversalResult:
    """An agent's AIQ estimate (``upsilon``) and, with a constitution, the aligned ``sigma``.

    ``runs[i]`` maps a program's index in stratum ``i`` of the pool to ``(r+, r-, d+, d-)``; programs
    that ran overtime are kept as NaN rows, and left out of the estimates. ``allocation`` counts the
    programs each stratum was given (overtime ones replaced), ``allocation_method`` is ``"adaptive"``
    or ``"proportional"``, and ``stages`` the adaptive estimator's cumulative stage totals in runs.
    """

    agent: str
    upsilon: StratifiedEstimate
    sigma: StratifiedEstimate | None
    runs: tuple[dict[int, tuple[float, float, float, float]], ...]
    p: tuple[float, ...]
    allocation: tuple[int, ...]
    episode_length: int
    seed: int
    seconds: float
    cycles: int
    overtime: int
    allocation_method: str = "proportional"
    stages: tuple[int, ...] = ()

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.seconds if self.seconds > 0 else math.nan

    def to_json(self) -> dict[str, Any]:
        """The result as plain JSON data (AIQ scale, -100..100)."""
        u = self.upsilon
        doc: dict[str, Any] = {
            "agent": self.agent,
            "estimate": u.estimate,
            "ci95": list(u.ci95),
            "half_width": u.half_width,
            "reference_half_width": u.reference_half_width,
            "programs": u.programs,
            "overtime_programs": self.overtime,
            "per_stratum": {
                str(i): {
                    "p": self.p[i],
                    "programs": u.n[i],
                    "mean": None if math.isnan(u.means[i]) else u.means[i],
                }
                for i in range(len(self.p))
                if self.p[i] > 0
            },
            "episode_length": self.episode_length,
            "seed": self.seed,
            "allocation": self.allocation_method,
            "seconds": round(self.seconds, 3),
            "cycles_per_second": round(self.cycles_per_second, 1),
        }
        if self.stages:
            doc["stages"] = list(self.stages)
        if self.sigma is not None:
            doc["aligned"] = {
                "estimate": self.sigma.estimate,
                "ci95": list(self.sigma.ci95),
                "alignment_tax": u.estimate - self.sigma.estimate,
                "constitution": bf_constitution().name,
            }
        return doc


def _pairs(runs: dict[int, tuple[float, float, float, float]], keys: Sequence[int]) -> np.ndarray:
    return np.array([runs[k][:2] for k in keys], dtype=np.float64).reshape(len(keys), 2)


def estimate_upsilon(
    agent: str = "freq",
    programs: int = 1000,
    episode_length: int = 1000,
    seed: int = 0,
    *,
    allocation: str = "adaptive",
    aligned: bool = False,
    executor: Any = None,
    pool: StratumPool | None = None,
    pool_size: int = 20_000,
    cache_dir: str | Path | None = None,
    agent_params: dict[str, float] | None = None,
    factory: AgentFactory | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 64,
) -> UniversalResult:
    """Estimate an agent's AIQ on BF(5) programs, the reference's stratified way, with antithetic runs.

    ``allocation`` says how the ``programs`` (antithetic pairs; ``2 programs`` runs) are spread over
    the pool's strata:

    * ``"adaptive"`` (the default, as in the reference): the adaptive stratified estimator of the
      reference's section 4.2. The runs are split into stages, ``N = [0, 3A, 6A, 10A, 20A, ...]``
      cut at ``2 programs`` (:func:`~attribution.aiq.adaptive_stages`); each stage gives every
      stratum with ``p > 0`` one program plus a share in proportion to ``p`` times the stratum's
      standard deviation of a pair's mean so far ("method a",
      :func:`~attribution.aiq.adaptive_allocation`), so programs go where they reduce the variance
      most. The estimate is ``sum_i p_i`` times the stratum's mean run, with the stratified 95%
      interval and the reference's own half-width (:func:`~attribution.aiq.adaptive_estimate`).
      The allocation depends on the agent's own results, so two agents get different programs:
      such results cannot be paired by :func:`compare_agents`.
    * ``"proportional"``: in proportion to ``p`` (at least two per stratum), fixed before any run:
      every agent meets the same programs with the same seeds, which is what paired comparisons need.

    Programs are taken from each stratum of the pool in pool order (the seeded order in which the pool
    was drawn), so for a seed a program's runs are the same under either allocation. A program that
    runs overtime is replaced by the stratum's next one. Every run's randomness comes from
    ``SeedSequence(seed, spawn_key=(stratum, index, side, role))``: the same seed gives the same
    numbers on every executor. ``factory`` scores any agent with ``perceive`` and ``action_probs``
    (e.g. a lineage agent) instead of a named baseline; it must be picklable for a process pool. With
    ``aligned``, Sigma applies :func:`~envs.bf.bf_constitution` (on the programs Upsilon chose).

    Examples
    --------
    >>> import tempfile
    >>> r = estimate_upsilon("random", 30, 50, pool_size=250, cache_dir=tempfile.mkdtemp())
    >>> r.allocation_method, r.stages, -30 < r.upsilon.estimate < 30
    ('adaptive', (0, 60), True)
    >>> r.upsilon.programs >= 20
    True
    """
    if allocation not in ALLOCATIONS:
        raise ConfigError(f"allocation = {allocation!r}; accepted: {', '.join(ALLOCATIONS)}")
    if programs < 1 or episode_length < 1:
        raise ConfigError(f"programs = {programs} and episode_length = {episode_length}; both must be >= 1")
    check_work(programs, episode_length, pool.size if pool is not None else max(pool_size, 1))
    if factory is None:
        make_aiq_agent(agent, np.random.default_rng(0), episode_length, 5, **(agent_params or {}))  # validates
    start = time.perf_counter()
    ex = executor if executor is not None else _Inline()
    if pool is None:
        pool = load_pool(seed, max(pool_size, 1), cache_dir=cache_dir, executor=ex)
    p = pool.p
    live = [i for i in range(STRATA) if p[i] > 0]
    advice = "use a larger pool (pool_size, --pool-size: about 2 x programs)"
    stages: list[int] = []
    if allocation == "proportional":
        alloc = proportional_allocation(p, programs)
        short = [i for i in range(STRATA) if alloc[i] > len(pool.programs[i])]
    else:
        stages = adaptive_stages(len(live), 2 * programs)
        if len(stages) < 2:
            raise ConfigError(
                f"programs = {programs} is too few for the adaptive allocation over {len(live)} strata "
                f"(it needs more than {len(live) / 2:g}); use more programs or the proportional allocation"
            )
        alloc = np.zeros(STRATA, dtype=np.int64)
        need = len(stages) - 1  # at least one program per stratum and stage
        short = [i for i in live if len(pool.programs[i]) < need] if programs <= pool.size else live
    if short:
        raise ConfigError(
            f"{programs} programs need more than the pool of {pool.size} holds in strata {short}; {advice}"
        )
    params = tuple(sorted((agent_params or {}).items()))
    runs: list[dict[int, tuple[float, float, float, float]]] = [{} for _ in range(STRATA)]
    next_index = [0] * STRATA
    done = 0
    total = int(alloc.sum()) if allocation == "proportional" else stages[-1] // 2
    overtime = 0

    def task(i: int, j: int) -> _Task:
        return _Task(pool.programs[i][j], i, j, agent, params, episode_length, seed, pool.n_symbols, aligned, factory)

    def fill(target: np.ndarray) -> list[int]:
        """Run programs in pool order until stratum ``i`` has ``target[i]`` valid pairs; strata left short."""
        nonlocal done, overtime
        while True:
            todo: list[_Task] = []
            for i in range(STRATA):
                valid = sum(1 for v in runs[i].values() if not math.isnan(v[0]))
                want = int(target[i]) - valid
                while want > 0 and next_index[i] < len(pool.programs[i]):
                    todo.append(task(i, next_index[i]))
                    next_index[i] += 1
                    want -= 1
            if not todo:
                break
            for s in range(0, len(todo), batch):
                part = todo[s : s + batch]
                for t, res in zip(part, ex.map(_run_pair, part), strict=True):
                    runs[t.stratum][t.index] = res
                    if math.isnan(res[0]):
                        overtime += 1
                    else:
                        done += 1
                if progress is not None:
                    progress(min(done, total), total)
        return [i for i in range(STRATA) if sum(1 for v in runs[i].values() if not math.isnan(v[0])) < target[i]]

    def valid_pairs() -> list[np.ndarray]:
        keys = [sorted(k for k, v in r.items() if not math.isnan(v[0])) for r in runs]
        return [_pairs(runs[i], keys[i]) for i in range(STRATA)]

    if allocation == "proportional":
        fill(alloc)
    else:
        sd = np.ones(STRATA)
        for k in range(1, len(stages)):
            alloc += adaptive_allocation(p, sd, stages[k] - stages[k - 1]) // 2
            total = max(total, int(alloc.sum()))
            short = fill(alloc)
            if short:
                raise ConfigError(f"the pool of {pool.size} ran out of programs in strata {short}; {advice}")
            sd = pair_sds(p, valid_pairs())
    keys = [sorted(k for k, v in r.items() if not math.isnan(v[0])) for r in runs]

    def estimator(rows: list[np.ndarray]) -> StratifiedEstimate:
        return _stratified(p, rows) if allocation == "proportional" else adaptive_estimate(p, rows, stages[-1])

    upsilon = estimator(valid_pairs())
    sigma = None
    if aligned:
        aligned_rows = []
        for i in range(STRATA):
            a = np.array([runs[i][k] for k in keys[i]], dtype=np.float64).reshape(len(keys[i]), 4)
            aligned_rows.append(np.column_stack([aligned_scores(a[:, 0], a[:, 2]), aligned_scores(a[:, 1], a[:, 3])]))
        sigma = estimator(aligned_rows)
    cycles = 2 * episode_length * (done + overtime)
    return UniversalResult(
        agent=agent if factory is None else getattr(factory, "__name__", "custom"),
        upsilon=upsilon,
        sigma=sigma,
        runs=tuple(runs),
        p=tuple(float(x) for x in p),
        allocation=tuple(int(x) for x in alloc),
        episode_length=episode_length,
        seed=seed,
        seconds=time.perf_counter() - start,
        cycles=cycles,
        overtime=overtime,
        allocation_method=allocation,
        stages=tuple(stages),
    )


def compare_agents(results: Sequence[UniversalResult]) -> dict[tuple[str, str], StratifiedEstimate]:
    """Paired differences between consecutive results (same seed and pool): ``(a, b) -> a - b``.

    Only programs both agents completed count (by their index in the pool). Pairing needs the same
    programs for every agent, so the results must come from ``allocation="proportional"``: the
    adaptive allocation follows each agent's own variances and gives agents different programs (a
    :class:`~spawn.errors.ConfigError` says so).

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> rs = [
    ...     estimate_upsilon(a, 25, 40, allocation="proportional", pool_size=250, cache_dir=d)
    ...     for a in ("freq", "random")
    ... ]
    >>> diff = compare_agents(rs)[("freq", "random")]
    >>> diff.programs >= 25
    True
    """
    out: dict[tuple[str, str], StratifiedEstimate] = {}
    adaptive = [r.agent for r in results if r.allocation_method != "proportional"]
    if adaptive:
        raise ConfigError(
            f"paired comparisons need the same programs for every agent: estimate {', '.join(adaptive)} "
            "with allocation='proportional' (the adaptive allocation follows each agent's own results)"
        )
    for a, b in itertools.pairwise(results):
        if a.seed != b.seed or a.p != b.p or a.episode_length != b.episode_length:
            raise ConfigError(f"{a.agent} and {b.agent} were not run on the same programs and seed")
        pa, pb = [], []
        for ra, rb in zip(a.runs, b.runs, strict=True):
            keys = sorted(k for k in set(ra) & set(rb) if not (math.isnan(ra[k][0]) or math.isnan(rb[k][0])))
            pa.append(_pairs(ra, keys))
            pb.append(_pairs(rb, keys))
        out[(a.agent, b.agent)] = paired_difference(a.p, pa, pb)
    return out
