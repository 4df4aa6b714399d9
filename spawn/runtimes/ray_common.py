"""What both Ray runtimes share: settings, joining or starting Ray, shipping code, surfacing errors.

Imported only when a Ray runtime is chosen; ``import spawn`` never imports Ray.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import ray
import ray.exceptions as rex

from spawn.config import SimConfig
from spawn.life.job import AgentSpec, JobResult, run_agent
from spawn.runtimes.errors import RayRuntimeError

__all__ = [
    "PROJECT_PACKAGES",
    "RETRYABLE",
    "RaySession",
    "RaySettings",
    "node_label",
    "plugin_modules",
    "surface_errors",
]

#: The project's packages: shipped to the workers with ``runtime_env["py_modules"]`` on a cluster.
PROJECT_PACKAGES = ("lineage", "envs", "attribution", "spawn")

#: Failures of the process or node an agent ran on: the agent is replayed from its spec.
RETRYABLE: tuple[type[BaseException], ...] = (
    rex.RayActorError,
    rex.ObjectLostError,
    rex.WorkerCrashedError,
    rex.NodeDiedError,
)

Job = Callable[[AgentSpec, SimConfig], JobResult]


@dataclass(frozen=True)
class RaySettings:
    """Options common to both Ray runtimes.

    Parameters
    ----------
    address : str or None
        A cluster to join (``host:port`` or ``ray://...``); ``None`` reads ``RAY_ADDRESS`` and,
        when that is unset too, starts a local Ray for the run and shuts it down at the end.
    dashboard : bool
        Start the dashboard with a local Ray (ignored when joining a cluster).
    kill_prob : float
        Fault injection: probability in ``[0, 1)`` that an agent actor (or a shard call) is killed.
    max_attempts : int
        Attempts per agent (or shard call) before the run fails naming the agent.
    ship_code : bool or None
        Ship the project's packages (and plugin modules) to the workers through ``runtime_env``;
        ``None`` ships them exactly when joining a cluster by address.
    py_modules : sequence of str
        Further local packages or modules to ship (plugins not named in the config).
    num_cpus : int or None
        CPUs of a local Ray started by the run (``None``: all). Never passed when joining.
    job : callable
        The agent's life, ``run_agent`` unless a test or benchmark replaces it (module level).
    """

    address: str | None = None
    dashboard: bool = False
    kill_prob: float = 0.0
    max_attempts: int = 4
    ship_code: bool | None = None
    py_modules: tuple[str, ...] = ()
    num_cpus: int | None = None
    job: Job = field(default=run_agent)

    def __post_init__(self) -> None:
        if not (isinstance(self.kill_prob, int | float) and 0.0 <= self.kill_prob < 1.0):
            raise RayRuntimeError(f"--kill-prob must be in [0, 1), got {self.kill_prob!r}")
        if not (isinstance(self.max_attempts, int) and self.max_attempts >= 1):
            raise RayRuntimeError(f"--max-attempts must be a whole number >= 1, got {self.max_attempts!r}")
        if self.num_cpus is not None and self.num_cpus < 1:
            raise RayRuntimeError(f"num_cpus must be >= 1, got {self.num_cpus!r}")


def _module_path(name: str) -> str | None:
    """The local directory (package) or file (module) of a top-level module, if importable."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return str(Path(next(iter(spec.submodule_search_locations))).resolve())
    if spec.origin and spec.origin.endswith(".py"):
        return str(Path(spec.origin).resolve())
    return None  # built-in or installed as an extension: the workers have it or not


def plugin_modules(cfg: SimConfig) -> list[str]:
    """Top-level modules of the plugins a config names (``plugins``, ``module:Class`` agents, ``module:Env`` ids)."""
    names = list(getattr(cfg, "plugins", ()))
    if ":" in cfg.agent.kind:
        names.append(cfg.agent.kind.split(":", 1)[0])
    for env in cfg.envs:
        env_id = getattr(env, "id", "")
        if ":" in env_id:
            names.append(env_id.split(":", 1)[0])
    tops = sorted({n.split(".", 1)[0] for n in names} - set(PROJECT_PACKAGES))
    return [p for p in (_module_path(t) for t in tops) if p is not None]


def node_label(node_id: str) -> str:
    """A short, stable name for a Ray node in ``timing.json``."""
    return node_id[:12]


class RaySession:
    """The Ray this run uses: reused if already initialised, joined by address, or started locally.

    Only a Ray that this object started or joined is shut down by :meth:`close`; a session that
    was initialised before (a notebook, a test module) is left running.
    """

    def __init__(self, settings: RaySettings) -> None:
        self.settings = settings
        self.owned = False
        address = settings.address or os.environ.get("RAY_ADDRESS") or None
        if ray.is_initialized():
            self.mode = "reused"  # its runtime_env is its owner's; ship only when asked
            self.code_env = self._code_env(settings.py_modules) if settings.ship_code else None
            self.job_level = False
            return
        self.mode = "joined" if address else "started"
        ship = settings.ship_code if settings.ship_code is not None else address is not None
        self.code_env = self._code_env(settings.py_modules) if ship else None
        self.job_level = ship
        kwargs: dict[str, Any] = {
            "namespace": "lineage-sim",
            "logging_level": logging.WARNING,
            "runtime_env": self.code_env,
        }
        try:
            if address:  # a cluster decides its own resources: none are passed
                ray.init(address=address, **kwargs)
            else:  # "local": never attach to a cluster 'ray start' left on this machine
                ray.init(
                    address="local",
                    num_cpus=settings.num_cpus,
                    include_dashboard=settings.dashboard,
                    **kwargs,
                )
        except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError, ...
            where = f"the Ray cluster at {address!r}" if address else "a local Ray"
            text = " ".join(str(exc).split())
            hint = ""
            if address and os.environ.get("RAY_AUTH_MODE", "").lower() != "token":
                hint = "; is it up? a 'ray start' cluster needs RAY_AUTH_MODE=token in this environment"
            raise RayRuntimeError(f"cannot start or join {where}: {text[:300]}{hint}") from None
        self.owned = True

    @staticmethod
    def _code_env(extra: Sequence[str]) -> dict[str, Any]:
        mods = [p for p in (_module_path(n) for n in PROJECT_PACKAGES) if p is not None]
        return {"py_modules": [*mods, *extra], "excludes": ["__pycache__", "*.pyc"]}

    @property
    def ships_code(self) -> bool:
        """Whether the project's code reaches the workers through ``runtime_env``."""
        return self.code_env is not None

    def actor_env(self, cfg: SimConfig) -> dict[str, Any] | None:
        """The per-actor ``runtime_env`` for a run of ``cfg``: ``None`` when the job's is enough.

        A per-actor ``py_modules`` replaces the job's, so it repeats the project's packages and
        adds the config's plugin modules.
        """
        if self.code_env is None:
            return None
        plugins = plugin_modules(cfg)
        if self.job_level and not plugins:
            return None
        return {**self.code_env, "py_modules": [*self.code_env["py_modules"], *plugins]}

    def cpus(self) -> int:
        """CPUs Ray reports for the whole cluster (at least 1)."""
        return max(1, math.floor(ray.cluster_resources().get("CPU", 1)))

    def where(self, runtime: str) -> dict[str, Any]:
        """Nodes, CPUs and how this run reached Ray (for ``timing.json``)."""
        try:
            alive = [n for n in ray.nodes() if n.get("Alive")]
            cpus = sum(n.get("Resources", {}).get("CPU", 0) for n in alive)
            address = ray.get_runtime_context().gcs_address
        except Exception:  # Ray already gone
            alive, cpus, address = [], 0, None
        return {
            "runtime": runtime,
            "nodes": len(alive),
            "cpus": int(cpus),
            "session": self.mode,
            "address": address,
            "code_shipped": self.ships_code,
            "ray": ray.__version__,
        }

    def close(self) -> None:
        """Shut Ray down if this session started or joined it."""
        if self.owned and ray.is_initialized():
            ray.shutdown()
        self.owned = False


def _root_cause(exc: BaseException) -> BaseException:
    cause: BaseException = exc
    seen = 0
    while isinstance(cause, rex.RayTaskError) and seen < 64:
        inner = getattr(cause, "cause", None)
        if not isinstance(inner, BaseException):
            break
        cause, seen = inner, seen + 1
    return cause


def _raise_cause(exc: rex.RayTaskError) -> NoReturn:
    cause = _root_cause(exc)
    if isinstance(cause, rex.RayTaskError):  # the cause could not be rebuilt: keep Ray's own text
        raise RayRuntimeError(f"an agent failed on a worker: {str(exc).splitlines()[0]}") from None
    if isinstance(cause, Exception) and not isinstance(cause, RayRuntimeError):
        cause.add_note(f"(raised on a Ray worker)\n{exc}")
    raise cause from None


@contextmanager
def surface_errors() -> Iterator[None]:
    """Turn Ray's wrappers into the exception the agent (or a nested actor) raised.

    A user-code exception from ``run_agent`` reaches the driver as itself (with the worker's
    traceback as a note); an exhausted agent as :class:`~spawn.runtimes.errors.AttemptsExhaustedError`;
    a runtime environment that cannot be set up as a one-line ``RayRuntimeError``.
    """
    try:
        yield
    except rex.RayTaskError as exc:
        _raise_cause(exc)
    except rex.RuntimeEnvSetupError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else exc.__class__.__name__
        raise RayRuntimeError(f"the workers could not set up the runtime_env: {first[:300]}") from None
    except (rex.ActorUnschedulableError, rex.TaskUnschedulableError) as exc:
        raise RayRuntimeError(f"Ray cannot place the work: {str(exc).splitlines()[0][:300]}") from None
