"""Agents, self-improvement operators, runtimes, configuration and the command line.

The only package allowed to import the other three (``lineage``, ``envs``, ``attribution``).
For notebooks: ``spawn.simulate(config)`` runs a config (a TOML path, a mapping or a
:class:`spawn.config.SimConfig`) and returns a :class:`spawn.api.Run` with its lineage, a DataFrame
of agents and plotting methods; ``spawn.open_run(path)`` opens a finished run directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spawn.api import Run, Sweep

__version__ = "0.1.0"

__all__ = ["__version__", "open_run", "simulate"]


def simulate(config: Any, out: Any = None, **kwargs: Any) -> Run | Sweep:
    """Run a config as ``lineage-sim run`` would; see :func:`spawn.api.simulate`."""
    from spawn.api import simulate as _simulate

    return _simulate(config, out, **kwargs)


def open_run(path: Any) -> Run:
    """Open a finished run directory; see :func:`spawn.api.open_run`."""
    from spawn.api import open_run as _open_run

    return _open_run(path)
