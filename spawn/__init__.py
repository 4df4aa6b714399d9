"""Agents, self-improvement operators, runtimes, configuration and the command line.

The only package allowed to import the other three (``lineage``, ``envs``, ``attribution``).
For notebooks: ``spawn.simulate(config)`` runs a config (a TOML path, a mapping or a
:class:`spawn.config.SimConfig`) and returns a :class:`spawn.api.Run` with its lineage, a DataFrame
of agents and plotting methods; ``spawn.open_run(path)`` opens a finished run directory and
``spawn.resume(path)`` finishes an interrupted one; ``spawn.replay(path, agent)`` runs an agent's
life again from its recorded spec and checks it against its stored record.

The package is layered (each imports only those below it; an import-linter contract checks it):
``cli`` (the command line), ``api``, ``plots``, ``experiments`` (sweeps, selector studies), ``aiq``,
``run`` (the driver, outputs, run directories, checkpoints), ``regimes`` (recursive, archive,
selectors), ``runtimes`` (inline, Ray), ``life`` (an agent's life as a pure job), ``agents``.
``config``, ``registry``, ``errors``, ``limits`` and ``plugins`` are shared by all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from spawn.api import Run, Sweep
    from spawn.run.replay import Replay

__version__ = "0.1.0"

T = TypeVar("T", bound=type)
F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "__version__",
    "open_run",
    "register_agent",
    "register_objective",
    "register_operator",
    "register_runtime",
    "register_selector",
    "register_trigger",
    "replay",
    "resume",
    "simulate",
]


def simulate(config: Any, out: Any = None, **kwargs: Any) -> Run | Sweep:
    """Run a config as ``lineage-sim run`` would; see :func:`spawn.api.simulate`."""
    from spawn.api import simulate as _simulate

    return _simulate(config, out, **kwargs)


def replay(path: Any, agent: str, **kwargs: Any) -> Replay:
    """Run an agent's life again from its recorded spec and check it; see :func:`spawn.api.replay`."""
    from spawn.api import replay as _replay

    return _replay(path, agent, **kwargs)


def resume(path: Any, **kwargs: Any) -> Run | Sweep:
    """Finish an interrupted run or sweep directory as ``lineage-sim resume`` would; see :func:`spawn.api.resume`."""
    from spawn.api import resume as _resume

    return _resume(path, **kwargs)


def register_operator(name: str, *, kind: str) -> Callable[[T], T]:
    """Class decorator: register a self-improvement operator (``kind="narrow"`` or ``"broad"``);
    see :func:`spawn.life.operators.register_operator`."""
    from spawn.life.operators import register_operator as _register

    return _register(name, kind=kind)


def register_trigger(name: str) -> Callable[[T], T]:
    """Class decorator: register a spawn trigger; see :func:`spawn.life.triggers.register_trigger`."""
    from spawn.life.triggers import register_trigger as _register

    return _register(name)


def register_objective(name: str) -> Callable[[T], T]:
    """Class decorator: register a training objective; see :func:`spawn.life.objectives.register_objective`."""
    from spawn.life.objectives import register_objective as _register

    return _register(name)


def register_agent(name: str, **meta: Any) -> Callable[[T], T]:
    """Class decorator: register an agent kind with its declared hyper-parameters;
    see :func:`spawn.agents.register_agent`."""
    from spawn.agents import register_agent as _register

    return _register(name, **meta)


def register_selector(name: str, *, family: bool = False, **meta: Any) -> Callable[[T], T]:
    """Class decorator: register a parent selector of the archive regime (``family=True``: ``name:<argument>``);
    see :func:`spawn.regimes.selectors.register_selector`."""
    from spawn.regimes.selectors import register_selector as _register

    return _register(name, family=family, **meta)


def register_runtime(name: str, **meta: Any) -> Callable[[F], F]:
    """Decorator: register a runtime factory (``**options -> Executor``);
    see :func:`spawn.runtimes.register_runtime`."""
    from spawn.runtimes import register_runtime as _register

    return _register(name, **meta)


def open_run(path: Any) -> Run:
    """Open a finished run directory; see :func:`spawn.api.open_run`."""
    from spawn.api import open_run as _open_run

    return _open_run(path)
