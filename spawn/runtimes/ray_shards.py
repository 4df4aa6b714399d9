"""``ray-shards``: agents as plain ``run_agent`` calls inside a fixed pool of shard actors.

For 10^4 agents and more, where one process per agent does not fit. The driver keeps the
frontier (born, not yet run) in lineage-path order and hands each idle shard a contiguous slice
of it. A shard runs its specs and, depth first, the children they create, for about
``slice_seconds`` (at least one agent), then returns the results and the specs it did not reach;
so each call carries enough work that Ray's per-call cost (about a millisecond) is small, and no
shard idles for long while another holds work.

Resources: each shard asks for ``min(1, CPUs / shards)`` CPUs, so any number of shards fits the
cluster (``--shards 4`` on 2 cores runs four shards at half a CPU each); they are spread over
the nodes. Faults: a shard that dies is created again and the specs of the lost call are
replayed; with ``kill_prob`` each call is killed with that probability before one of its agents,
the point drawn from the fault stream of (the call's first agent, its attempt). The agents of a
call that died are replayed one per call, so a death is charged to the agent that caused it.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import ray

from lineage import path_key
from spawn.config import SimConfig
from spawn.life.job import AgentSpec, JobResult, run_agent
from spawn.runtimes.errors import AttemptsExhaustedError, RayRuntimeError
from spawn.runtimes.faults import die, kill_point
from spawn.runtimes.ray_common import RETRYABLE, Job, RaySession, RaySettings, node_label, surface_errors

__all__ = ["RayShardsExecutor"]

Work = list[tuple[AgentSpec, int]]  # specs with their attempt numbers


class _Shard:
    """A worker process that runs many agents, one after another, as plain function calls."""

    def __init__(self, job: Job, kill_prob: float) -> None:
        self.job = job
        self.kill_prob = kill_prob

    def run(self, cfg: SimConfig, work: Work, slice_seconds: float) -> tuple[list[JobResult], list[AgentSpec], str]:
        """Run ``work`` and the children it creates for about ``slice_seconds``; return what is left."""
        lead = work[0][0].id
        attempt = max(a for _, a in work)
        point = kill_point(cfg.seed, lead, attempt, self.kill_prob, len(work) + 1)
        heap = [(path_key(s.id), s.id, s) for s, _ in work]
        heapq.heapify(heap)
        results: list[JobResult] = []
        start = time.perf_counter()
        # engine = "cohort": the specs ready, one cohort, their children the next (one agent at a
        # time when a fault is to be injected before one of them, or with a job of the caller's own)
        cohorts = cfg.engine == "cohort" and point is None and self.job is run_agent
        while heap:
            if point is not None and len(results) == point:
                die()
            if results and time.perf_counter() - start >= slice_seconds:
                break
            if cohorts:
                from spawn.life.cohort import run_cohort

                done = run_cohort([heapq.heappop(heap)[2] for _ in range(len(heap))], cfg)
            else:
                done = [self.job(heapq.heappop(heap)[2], cfg)]
            for result in done:
                results.append(result)
                for child in result.children:
                    heapq.heappush(heap, (path_key(child.id), child.id, child))
        if point is not None:
            die()
        left = [s for _, _, s in sorted(heap)]
        return results, left, ray.get_runtime_context().get_node_id()

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        return [fn(x) for x in items]


Shard: Any = ray.remote(_Shard)


class RayShardsExecutor:
    """Runs agents batched in a fixed pool of shard actors.

    Parameters
    ----------
    shards : int or None
        Shard actors in the pool; ``None``: one per CPU Ray reports.
    slice_seconds : float
        About how long one shard call runs before handing back the specs it did not reach.
    address, dashboard, kill_prob, max_attempts, ship_code, py_modules, num_cpus, job
        See :class:`~spawn.runtimes.ray_common.RaySettings`.
    """

    name = "ray-shards"

    def __init__(
        self,
        *,
        shards: int | None = None,
        slice_seconds: float = 0.5,
        address: str | None = None,
        dashboard: bool = False,
        kill_prob: float = 0.0,
        max_attempts: int = 4,
        ship_code: bool | None = None,
        py_modules: Sequence[str] = (),
        num_cpus: int | None = None,
        job: Job = run_agent,
    ) -> None:
        if shards is not None and not (isinstance(shards, int) and shards >= 1):
            raise RayRuntimeError(f"--shards must be a whole number >= 1, got {shards!r}")
        if not slice_seconds > 0:
            raise RayRuntimeError(f"slice_seconds must be > 0, got {slice_seconds!r}")
        self.settings = RaySettings(
            address, dashboard, kill_prob, max_attempts, ship_code, tuple(py_modules), num_cpus, job
        )
        self.slice_seconds = slice_seconds
        self.session = RaySession(self.settings)
        cpus = self.session.cpus()
        self.n = shards or cpus
        self.shard_cpus = min(1.0, cpus / self.n)
        self._pool: list[Any] = []
        self._env: dict[str, Any] | None = None
        self.nodes: Counter[str] = Counter()
        self.deaths = 0
        self.calls = 0

    # ------------------------------------------------------------------ the pool
    def _new_shard(self) -> Any:
        options: dict[str, Any] = {
            "num_cpus": self.shard_cpus,
            "scheduling_strategy": "SPREAD",
            "max_restarts": 0,
        }
        if self._env is not None:
            options["runtime_env"] = self._env
        return Shard.options(**options).remote(self.settings.job, self.settings.kill_prob)

    def _ensure_pool(self, cfg: SimConfig | None) -> list[Any]:
        env = self.session.actor_env(cfg) if cfg is not None else None
        if env is None and cfg is None and not self.session.job_level:
            env = self.session.code_env
        if self._pool and env != self._env and env is not None:
            self._kill_pool()  # a config with other plugin modules: new processes
        if not self._pool:
            self._env = env
            self._pool = [self._new_shard() for _ in range(self.n)]
        return self._pool

    def _kill_pool(self) -> None:
        for shard in self._pool:
            ray.kill(shard, no_restart=True)
        self._pool = []

    # ------------------------------------------------------------------ the executor interface
    def run_tree(self, cfg: SimConfig, specs: Sequence[AgentSpec], on_result: Callable[[JobResult], None]) -> None:
        """Run ``specs`` and every descendant on the shards; ``on_result`` for each as calls return.

        The agents of a call whose shard died are replayed one per call ("isolated"), each run
        alone with no time slice, so that any further death is charged to the one agent that was
        running. Every death of a call counts as an attempt of each agent in it.
        """
        pool = self._ensure_pool(cfg)
        frontier: list[tuple[Any, str, AgentSpec]] = [(path_key(s.id), s.id, s) for s in specs]
        heapq.heapify(frontier)
        isolated: list[tuple[Any, str, AgentSpec]] = []
        attempts: dict[str, int] = {}
        idle = list(range(self.n))
        inflight: dict[Any, tuple[int, Work, bool]] = {}
        max_attempts = self.settings.max_attempts
        with surface_errors():
            while frontier or isolated or inflight:
                while idle and (frontier or isolated):
                    i = idle.pop(0)
                    work: Work = []
                    alone = bool(isolated)
                    if alone:
                        _, sid, spec = heapq.heappop(isolated)
                        work.append((spec, attempts[sid]))
                    else:
                        for _ in range(math.ceil(len(frontier) / (len(idle) + 1))):
                            _, sid, spec = heapq.heappop(frontier)
                            work.append((spec, attempts.get(sid, 1)))
                    seconds = 0.0 if alone else self.slice_seconds
                    inflight[pool[i].run.remote(cfg, work, seconds)] = (i, work, alone)
                    self.calls += 1
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    i, work, alone = inflight.pop(ref)
                    idle.append(i)
                    try:
                        results, left, node = ray.get(ref)
                    except RETRYABLE as exc:
                        self.deaths += 1
                        pool[i] = self._new_shard()
                        for spec, attempt in work:
                            if attempt >= max_attempts:
                                reason = exc.__class__.__name__
                                raise AttemptsExhaustedError(spec.id, attempt, "shard", reason) from None
                            attempts[spec.id] = attempt + 1
                            heapq.heappush(isolated, (path_key(spec.id), spec.id, spec))
                        continue
                    self.nodes[node_label(node)] += len(results)
                    for result in results:
                        on_result(result)
                    for spec in left:
                        heapq.heappush(frontier, (path_key(spec.id), spec.id, spec))

    @property
    def cohorts(self) -> int:
        """How many cohorts a batch is cut into under ``engine = "cohort"``: one per shard."""
        return self.n

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[fn(x) for x in items]`` in contiguous chunks, one per shard; results in input order."""
        items = list(items)
        if not items:
            return []
        pool = self._ensure_pool(None)
        size = math.ceil(len(items) / self.n)
        chunks = [items[k : k + size] for k in range(0, len(items), size)]
        out: list[list[Any] | None] = [None] * len(chunks)
        tries = [1] * len(chunks)
        with surface_errors():
            inflight = {pool[c].map.remote(fn, chunk): c for c, chunk in enumerate(chunks)}
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    c = inflight.pop(ref)
                    try:
                        out[c] = ray.get(ref)
                    except RETRYABLE as exc:
                        self.deaths += 1
                        if tries[c] >= self.settings.max_attempts:
                            why = exc.__class__.__name__
                            raise RayRuntimeError(
                                f"shard {c} died on all {tries[c]} attempts of a map ({why})"
                            ) from None
                        tries[c] += 1
                        pool[c] = self._new_shard()
                        inflight[pool[c].map.remote(fn, chunks[c])] = c
        return [y for chunk in out for y in (chunk or [])]

    def where(self) -> dict[str, Any]:
        """Nodes, CPUs, how Ray was reached, shards, agents per node, deaths (for ``timing.json``)."""
        facts = self.session.where(self.name)
        facts.update(
            shards=self.n,
            shard_cpus=self.shard_cpus,
            calls=self.calls,
            agents_per_node=dict(sorted(self.nodes.items())),
            nodes_used=len(self.nodes),
            shard_deaths=self.deaths,
            kill_prob=self.settings.kill_prob,
            max_attempts=self.settings.max_attempts,
        )
        return facts

    def close(self) -> None:
        """Kill the shards; shut down the Ray this executor started or joined."""
        try:
            if ray.is_initialized():
                self._kill_pool()
        finally:
            self.session.close()
