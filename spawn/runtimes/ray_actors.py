"""``ray-actors``: every agent is a Ray actor, and an agent actor creates its children as actors.

The tree of actors mirrors the lineage: the driver creates the first agents' actors; each agent
actor lives its life (``run_agent``), reports its record to a collector the driver owns (so the
progress bar and the checkpoint grow while the tree runs), then creates one actor per child it
gave birth to, waits for their subtrees, and returns its own subtree's results.

Resources: an agent actor asks for Ray's actor default, one CPU to be placed and *none* held
while it lives (``num_cpus`` is deliberately left unset). A parent waiting for its children so
holds no CPU that they need, and any number of agent actors fit on a node: a 2-core machine
holds dozens (about 50 MB of memory each plus the project's imports) without deadlock; the
operating system shares the cores among those that compute. Nodes without CPUs (a head node
started with ``--num-cpus=0``) get no agents. The collector asks for no CPU at all.

Faults: a child actor that dies (killed, out of memory, its node lost) is created again by its
parent and replays its spec; the root actors are watched by the driver. ``kill_prob`` injects
such deaths at points drawn from :mod:`spawn.runtimes.faults`. Exceptions raised by the agent's
own code are not retried: they reach the driver as themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from lineage import path_key
from spawn.config import SimConfig
from spawn.life.job import AgentSpec, JobResult, run_agent
from spawn.runtimes.errors import AttemptsExhaustedError
from spawn.runtimes.faults import die, kill_point
from spawn.runtimes.ray_common import RETRYABLE, Job, RaySession, RaySettings, node_label, surface_errors

__all__ = ["KILL_POINTS", "RayActorsExecutor"]

#: Where an injected fault kills an agent actor: 0 before its life, 1 after it (nothing reported),
#: 2 after reporting (before creating children), 3 while waiting for its children (they die with it).
KILL_POINTS = 4


class _Collector:
    """Driver-owned sink of finished agents (first report of each agent wins; replays are equal)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._new: list[tuple[JobResult, str]] = []
        self._deaths: list[tuple[str, int, str]] = []

    def put(self, result: JobResult, node: str) -> None:
        if result.record.id not in self._seen:
            self._seen.add(result.record.id)
            self._new.append((result, node))

    def death(self, agent: str, attempt: int, reason: str) -> None:
        self._deaths.append((agent, attempt, reason))

    def drain(self) -> tuple[list[tuple[JobResult, str]], list[tuple[str, int, str]]]:
        new, deaths = self._new, self._deaths
        self._new, self._deaths = [], []
        return new, deaths


@dataclass(frozen=True)
class _Plan:
    """What every agent actor of a run needs besides its spec."""

    cfg: SimConfig
    collector: Any
    kill_prob: float
    max_attempts: int
    job: Job
    runtime_env: dict[str, Any] | None


def _reason(exc: BaseException) -> str:
    return exc.__class__.__name__


class _Flock:
    """Agent actors that one owner (the driver or a parent actor) created and waits for."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.pending: dict[Any, tuple[AgentSpec, int, Any]] = {}

    def launch(self, spec: AgentSpec, attempt: int) -> None:
        options: dict[str, Any] = {"scheduling_strategy": "SPREAD", "max_restarts": 0}
        if self.plan.runtime_env is not None:
            options["runtime_env"] = self.plan.runtime_env
        actor = AgentActor.options(**options).remote(self.plan)
        self.pending[actor.live.remote(spec, attempt)] = (spec, attempt, actor)

    def step(self, timeout: float | None) -> list[JobResult]:
        """Wait for finished subtrees (up to ``timeout`` seconds); replay the agents whose actor died."""
        if not self.pending:
            return []
        ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=timeout)
        out: list[JobResult] = []
        for ref in ready:
            spec, attempt, actor = self.pending.pop(ref)
            try:
                out.extend(ray.get(ref))
            except RETRYABLE as exc:
                self.plan.collector.death.remote(spec.id, attempt, _reason(exc))
                if attempt >= self.plan.max_attempts:
                    raise AttemptsExhaustedError(spec.id, attempt, "actor", _reason(exc)) from None
                self.launch(spec, attempt + 1)
            finally:
                ray.kill(actor, no_restart=True)  # done or dead: free its process at once
        return out

    def kill_all(self) -> None:
        for _, _, actor in self.pending.values():
            ray.kill(actor, no_restart=True)
        self.pending.clear()


class _AgentActor:
    """One agent: lives, reports, creates its children as actors, returns its subtree."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan

    def live(self, spec: AgentSpec, attempt: int) -> list[JobResult]:
        plan = self.plan
        point = kill_point(plan.cfg.seed, spec.id, attempt, plan.kill_prob, KILL_POINTS)
        if point == 0:
            die()
        result = plan.job(spec, plan.cfg)
        if point == 1:
            die()
        ray.get(plan.collector.put.remote(result, ray.get_runtime_context().get_node_id()))
        if point == 2:
            die()
        subtree = [result]
        flock = _Flock(plan)
        for child in result.children:
            flock.launch(child, 1)
        if point == 3:
            die()
        try:
            while flock.pending:
                subtree.extend(flock.step(None))
        finally:
            flock.kill_all()
        return subtree


AgentActor: Any = ray.remote(_AgentActor)
Collector: Any = ray.remote(_Collector)


def _apply(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


class RayActorsExecutor:
    """Runs every agent as a Ray actor; children are created by their parent's actor.

    Parameters
    ----------
    address, dashboard, kill_prob, max_attempts, ship_code, py_modules, num_cpus, job
        See :class:`~spawn.runtimes.ray_common.RaySettings`.
    poll_seconds : float
        How often the driver drains the collector (progress and checkpoints).
    """

    name = "ray-actors"

    def __init__(
        self,
        *,
        address: str | None = None,
        dashboard: bool = False,
        kill_prob: float = 0.0,
        max_attempts: int = 4,
        ship_code: bool | None = None,
        py_modules: Sequence[str] = (),
        num_cpus: int | None = None,
        job: Job = run_agent,
        poll_seconds: float = 0.2,
    ) -> None:
        self.settings = RaySettings(
            address, dashboard, kill_prob, max_attempts, ship_code, tuple(py_modules), num_cpus, job
        )
        self.poll_seconds = poll_seconds
        self.session = RaySession(self.settings)
        self.nodes: Counter[str] = Counter()
        self.deaths: list[tuple[str, int, str]] = []

    def run_tree(self, cfg: SimConfig, specs: Sequence[AgentSpec], on_result: Callable[[JobResult], None]) -> None:
        """Run ``specs`` and their descendants as nested actors; ``on_result`` for each, as they finish."""
        here = ray.get_runtime_context().get_node_id()
        collector = Collector.options(
            num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=True)
        ).remote()
        s = self.settings
        plan = _Plan(cfg, collector, s.kill_prob, s.max_attempts, s.job, self.session.actor_env(cfg))
        flock = _Flock(plan)
        seen: set[str] = set()

        def drain() -> None:
            new, deaths = ray.get(collector.drain.remote())
            self.deaths.extend(deaths)
            for result, node in new:
                if result.record.id not in seen:
                    seen.add(result.record.id)
                    self.nodes[node_label(node)] += 1
                    on_result(result)

        try:
            with surface_errors():
                for spec in sorted(specs, key=lambda sp: path_key(sp.id)):
                    flock.launch(spec, 1)
                while flock.pending:
                    finished = flock.step(self.poll_seconds)
                    drain()
                    for result in finished:  # all reported already, unless a report was lost
                        if result.record.id not in seen:
                            seen.add(result.record.id)
                            on_result(result)
                drain()
        finally:
            flock.kill_all()  # an actor's children die with it (fate sharing)
            ray.kill(collector)

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``[fn(x) for x in items]`` as Ray tasks spread over the nodes; results in input order."""
        options: dict[str, Any] = {
            "scheduling_strategy": "SPREAD",
            "max_retries": self.settings.max_attempts - 1,
        }
        if self.session.code_env is not None and not self.session.job_level:
            options["runtime_env"] = self.session.code_env
        task = ray.remote(_apply).options(**options)
        with surface_errors():
            return list(ray.get([task.remote(fn, x) for x in items]))

    def where(self) -> dict[str, Any]:
        """Nodes, CPUs, how Ray was reached, agents per node and actor deaths (for ``timing.json``)."""
        facts = self.session.where(self.name)
        facts["agents_per_node"] = dict(sorted(self.nodes.items()))
        facts["nodes_used"] = len(self.nodes)
        facts["actor_deaths"] = len(self.deaths)
        facts["kill_prob"] = self.settings.kill_prob
        facts["max_attempts"] = self.settings.max_attempts
        return facts

    def close(self) -> None:
        """Shut down the Ray this executor started or joined (a reused session keeps running)."""
        self.session.close()
