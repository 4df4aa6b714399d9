"""Errors of the Ray runtimes: each is one line naming what went wrong and what to do."""

from __future__ import annotations

from spawn.errors import SpawnError

__all__ = ["AttemptsExhaustedError", "RayRuntimeError"]


class RayRuntimeError(SpawnError, RuntimeError):
    """A Ray runtime that cannot run: bad option, unreachable cluster, refused connection."""


class AttemptsExhaustedError(RayRuntimeError):
    """An agent whose actor (or shard call) died on every one of its allowed attempts."""

    def __init__(self, agent: str, attempts: int, where: str, reason: str = "") -> None:
        self.agent, self.attempts, self.where, self.reason = agent, attempts, where, reason
        last = f" (last: {reason})" if reason else ""
        super().__init__(
            f"agent {agent}: its {where} died on all {attempts} attempts{last}; "
            "giving up (raise --max-attempts, or lower --kill-prob)"
        )

    def __reduce__(self) -> tuple[type, tuple[str, int, str, str]]:  # pickles through Ray intact
        return (AttemptsExhaustedError, (self.agent, self.attempts, self.where, self.reason))
