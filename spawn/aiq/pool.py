"""The stratum pool of BF programs: drawn from a seed in chunks, classified by stratum, cached on disk.

Chunk ``k`` of a seed's pool is drawn alone, from ``SeedSequence(seed, spawn_key=(0x501, k))``, so a pool
does not depend on the executor and a larger pool extends a smaller one. Each chunk is cached as text
(:func:`chunk_path`); a cached chunk is data, read back only when whole and sound (:func:`read_chunk`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from envs.bf import INSTRUCTIONS, STRATA, sample_program
from lineage import LineageError, atomic_write, read_text
from spawn import limits
from spawn.errors import ConfigError
from spawn.runtimes import make_executor

__all__ = [
    "POOL_CHUNK",
    "REFERENCE_P",
    "StratumPool",
    "check_work",
    "chunk_path",
    "default_cache_dir",
    "load_pool",
    "read_chunk",
]

#: Active programs per cached pool chunk; a pool is a whole number of chunks, chunk ``k`` seeded alone.
POOL_CHUNK = 250
#: Section 10 of the reference notes: a re-estimate of p[1..20] for BF(5) (not from the AIQ repository).
REFERENCE_P = (
    0.1755, 0.1042, 0.0249, 0.0053, 0.0192, 0.0196, 0.0169, 0.0170, 0.0187, 0.0070,
    0.0575, 0.0469, 0.0700, 0.0625, 0.0688, 0.0565, 0.0681, 0.0670, 0.0467, 0.0478,
)  # fmt: skip
_POOL_KEY = 0x501


def default_cache_dir() -> Path:
    """``$LINEAGE_SIM_CACHE`` or ``$XDG_CACHE_HOME/lineage-sim`` (``~/.cache/lineage-sim``)."""
    env = os.environ.get("LINEAGE_SIM_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lineage-sim"


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


def chunk_path(cache: Path, seed: int, n: int, k: int) -> Path:
    """Where chunk ``k`` of the BF(``n``) pool of ``seed`` is cached under ``cache``."""
    return cache / f"aiq-bf{n}-seed{seed}" / f"chunk{k:05d}-{POOL_CHUNK}.tsv"


#: Largest cached chunk file read back (a real one is about 10 kB); anything larger is redrawn.
_CHUNK_BYTES = 1_000_000
_COUNT = re.compile(r"[0-9]{1,12}")


def read_chunk(path: Path) -> tuple[list[tuple[int, str]], int, int, int] | None:
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
        got = read_chunk(chunk_path(cache, seed, n_symbols, k))
        if got is not None:
            chunks[k] = got
    missing = [k for k in range(needed) if k not in chunks]
    ex = executor if executor is not None else make_executor("inline")
    step = max(1, getattr(ex, "workers", 1)) * 2
    for start in range(0, len(missing), step):
        batch = missing[start : start + step]
        for k, chunk in zip(batch, ex.map(_pool_chunk, [(seed, k, n_symbols, POOL_CHUNK) for k in batch]), strict=True):
            chunks[k] = chunk
            with contextlib.suppress(OSError, LineageError):  # an unwritable cache only costs time
                _write_chunk(chunk_path(cache, seed, n_symbols, k), chunk)
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
