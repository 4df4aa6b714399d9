"""Runtimes beyond the in-process one: ``ray-actors`` and ``ray-shards``, imported only when chosen.

Nothing here imports Ray at module level: :func:`make_ray_actors` and :func:`make_ray_shards` import their
module (and so Ray) when called, which :func:`spawn.runner.make_executor` does only for these
runtimes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spawn.runtimes.errors import AttemptsExhaustedError, RayRuntimeError

if TYPE_CHECKING:
    from spawn.runtimes.ray_actors import RayActorsExecutor
    from spawn.runtimes.ray_shards import RayShardsExecutor

__all__ = ["AttemptsExhaustedError", "RayRuntimeError", "make_ray_actors", "make_ray_shards"]


def make_ray_actors(**options: Any) -> RayActorsExecutor:
    """A :class:`~spawn.runtimes.ray_actors.RayActorsExecutor` (imports Ray on call).

    Parameters
    ----------
    **options
        ``address``, ``dashboard``, ``kill_prob``, ``max_attempts``, ``ship_code``, ``py_modules``,
        ``num_cpus``, ``job``, ``poll_seconds``.
    """
    from spawn.runtimes.ray_actors import RayActorsExecutor

    return RayActorsExecutor(**options)


def make_ray_shards(**options: Any) -> RayShardsExecutor:
    """A :class:`~spawn.runtimes.ray_shards.RayShardsExecutor` (imports Ray on call).

    Parameters
    ----------
    **options
        ``shards`` and the options of :func:`make_ray_actors` but ``poll_seconds``, plus
        ``slice_seconds``.
    """
    from spawn.runtimes.ray_shards import RayShardsExecutor

    return RayShardsExecutor(**options)
