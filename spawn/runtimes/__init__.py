"""The runtimes: where agents' jobs run. ``inline`` (this process), ``ray-actors`` and ``ray-shards``.

Each is a factory registered with :func:`register_runtime` (``**options -> Executor``, see
:class:`spawn.runtimes.base.Executor`), as a plugin's would be; ``lineage-sim run --runtime`` offers the
registered names. Nothing here imports Ray at module level: :func:`make_ray_actors` and
:func:`make_ray_shards` import their module (and so Ray) when called, which
:func:`make_executor` does only for these runtimes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from spawn.registry import RUNTIMES
from spawn.runtimes.base import Executor, OnResult, make_executor
from spawn.runtimes.errors import AttemptsExhaustedError, RayRuntimeError

if TYPE_CHECKING:
    from spawn.runtimes.inline import InlineExecutor
    from spawn.runtimes.ray_actors import RayActorsExecutor
    from spawn.runtimes.ray_shards import RayShardsExecutor

__all__ = [
    "RUNTIMES",
    "AttemptsExhaustedError",
    "Executor",
    "OnResult",
    "RayRuntimeError",
    "make_executor",
    "make_inline",
    "make_ray_actors",
    "make_ray_shards",
    "register_runtime",
]


_F = TypeVar("_F", bound=Callable[..., Any])


def register_runtime(name: str, **meta: Any) -> Callable[[_F], _F]:
    """Decorator: register a runtime factory (a class or function, ``**options -> Executor``) as ``name``.

    The factory is called only when the runtime is chosen, so it may import what it needs (Ray) then.
    """
    register = RUNTIMES.register(name, **meta)

    def deco(factory: _F) -> _F:
        if not callable(factory):
            raise TypeError(f"register_runtime({name!r}) decorates a callable, got {type(factory).__name__}")
        register(factory)
        return factory

    return deco


@register_runtime("inline")
def make_inline(**options: Any) -> InlineExecutor:
    """An :class:`~spawn.runtimes.inline.InlineExecutor`: every agent in this process, in lineage-path order."""
    from spawn.runtimes.inline import InlineExecutor

    return InlineExecutor(**options)


@register_runtime("ray-actors")

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


@register_runtime("ray-shards")
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
