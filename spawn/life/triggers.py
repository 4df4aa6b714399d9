"""Spawn triggers: after each training round, whether an agent creates a child.

Built in: ``drift`` (an alarm of a river drift detector on the reward stream), ``schedule`` (every
``[spawn] every`` rounds) and ``plateau`` (the returns stopped improving). Every trigger, built-in or
a plugin's, is a class registered with :func:`register_trigger` and made once per life with the
agent's spec and the run's config (only the triggers ``[spawn] triggers`` names). After each round
the life asks them in registration order (``fires(round)``) and the first that fires names the
birth; the later ones are not asked that round. A trigger may also watch every training reward of a
task (``watch(task)`` returns a function of the reward, or ``None``).

Examples
--------
>>> TRIGGERS.names()[:3]
('drift', 'schedule', 'plateau')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from spawn.registry import TRIGGERS

if TYPE_CHECKING:
    from spawn.config import SimConfig
    from spawn.life.spec import AgentSpec

__all__ = ["DETECTORS", "TRIGGERS", "DriftWatch", "Plateau", "Round", "Trigger", "register_trigger"]

C = TypeVar("C", bound=type)


def register_trigger(name: str) -> Callable[[C], C]:
    """Class decorator: register a trigger as ``name``; the class is made with ``(spec, cfg)`` per life."""
    decorate: Callable[[C], C] = TRIGGERS.class_decorator(name, "fires", "self, round")
    return decorate


@dataclass(frozen=True)
class Round:
    """What a trigger sees after a training round.

    ``number`` counts the rounds done (1 after the first), ``task`` is the environment the round
    trained on, ``returns`` the returns of the episodes that ended in it (the last episode's when none
    did; empty before any), ``steps`` the agent's training steps so far and ``clock`` its logical time
    (birth time plus steps).
    """

    number: int
    task: str
    returns: Sequence[float]
    steps: int
    clock: int


class Trigger:
    """Base class of triggers (optional: any class with ``__init__(spec, cfg)`` and ``fires(round)``)."""

    def __init__(self, spec: AgentSpec, cfg: SimConfig) -> None:
        self.spec, self.cfg = spec, cfg

    def watch(self, task: str) -> Callable[[float], None] | None:
        """A function called with every training reward on ``task``, or ``None``."""
        return None

    def fires(self, round: Round) -> bool:
        raise NotImplementedError


def _adwin(params: Mapping[str, Any]) -> Any:
    from river.drift import ADWIN

    return ADWIN(**params)


def _page_hinkley(params: Mapping[str, Any]) -> Any:
    from river.drift import PageHinkley

    return PageHinkley(**params)


DETECTORS: dict[str, Callable[[Mapping[str, Any]], Any]] = {"adwin": _adwin, "page-hinkley": _page_hinkley}


class DriftWatch:
    """Feeds every reward to a river drift detector and remembers whether it fired since last asked.

    Rewards are fed in blocks: the detector sees the mean reward of every ``window`` steps, which
    smooths a learner's own exploration noise and costs one detector update per block.
    With ``direction="down"`` (the default) only a drop of the reward counts: a learner's rising
    reward is its own progress, not a changed world. ADWIN is told apart by comparing its mean
    estimate before and after the change it found; Page-Hinkley runs in its ``down`` mode.

    Examples
    --------
    >>> w = DriftWatch("adwin", window=1)
    >>> for x in [0.0] * 500 + [1.0] * 500:
    ...     w.update(x)
    >>> w.alarm()
    False
    >>> for x in [0.0] * 500:
    ...     w.update(x)
    >>> w.alarm(), w.alarm(), w.first_alarm_at
    (True, False, 1024)
    """

    def __init__(
        self,
        detector: str,
        params: Mapping[str, float] | None = None,
        direction: str = "down",
        window: int = 1,
    ) -> None:
        if window < 1:
            raise ValueError(f"drift window must be >= 1 step, got {window}")
        self.window = window
        self._sum = 0.0
        self._n = 0
        if direction not in ("down", "both"):
            raise ValueError(f"unknown drift direction {direction!r}; accepted: down, both")
        self.direction = direction
        kwargs: dict[str, Any] = dict(params or {})
        if detector == "page-hinkley":
            kwargs.setdefault("mode", "down" if direction == "down" else "both")
        self._compare = detector == "adwin" and direction == "down"
        try:
            self.detector = DETECTORS[detector](kwargs)
        except KeyError:
            raise ValueError(
                f"unknown drift detector {detector!r}; accepted: {', '.join(DETECTORS)}"
            ) from None
        except TypeError as exc:
            raise ValueError(
                f"bad parameters {dict(params or {})} for drift detector {detector!r}: {exc}"
            ) from None
        self.fired = False
        self.count = 0
        self.first_alarm_at: int | None = None

    def update(self, x: float) -> None:
        self.count += 1
        if self.window > 1:
            self._sum += x
            self._n += 1
            if self._n < self.window:
                return
            x, self._sum, self._n = self._sum / self._n, 0.0, 0
        before = self.detector.estimation if self._compare else 0.0
        self.detector.update(x)
        if self.detector.drift_detected and (not self._compare or self.detector.estimation < before):
            self.fired = True
            if self.first_alarm_at is None:
                self.first_alarm_at = self.count

    def alarm(self) -> bool:
        """Whether the detector fired since the last call."""
        fired, self.fired = self.fired, False
        return fired


class Plateau:
    """Fires when the round's mean return has not improved by ``tolerance`` for ``patience`` rounds.

    Examples
    --------
    >>> p = Plateau(patience=2, tolerance=0.1)
    >>> [p.update(x) for x in [0.1, 0.5, 0.52, 0.55, 0.9]]
    [False, False, False, True, False]
    """

    def __init__(self, patience: int, tolerance: float) -> None:
        self.patience = patience
        self.tolerance = tolerance
        self.best = float("-inf")
        self.stale = 0

    def update(self, value: float) -> bool:
        if value > self.best + self.tolerance:
            self.best = value
            self.stale = 0
            return False
        self.stale += 1
        if self.stale >= self.patience:
            self.stale = 0
            return True
        return False


# ---------------------------------------------------------------------- the built-in triggers
@register_trigger("drift")
class Drift(Trigger):
    """A drift alarm: one detector per task (each environment's reward stream is its own).

    The children it makes are the alarms that ``summary.json`` scores against an environment's
    known drift step (``drift_alarms``: precision, recall, detection delay; see
    :func:`spawn.run.outputs.drift_alarms`).
    """

    def __init__(self, spec: AgentSpec, cfg: SimConfig) -> None:
        super().__init__(spec, cfg)
        sp = cfg.spawn
        self.watches = {
            t: DriftWatch(sp.detector, sp.detector_params, sp.drift_direction, sp.drift_window) for t in spec.tasks
        }

    def watch(self, task: str) -> Callable[[float], None] | None:
        return self.watches[task].update

    def fires(self, round: Round) -> bool:
        return self.watches[round.task].alarm()


@register_trigger("schedule")
class Schedule(Trigger):
    """Every ``[spawn] every`` rounds."""

    def fires(self, round: Round) -> bool:
        return round.number % self.cfg.spawn.every == 0


@register_trigger("plateau")
class PlateauTrigger(Trigger):
    """The round's mean episode return has not improved for ``plateau_patience`` rounds."""

    def __init__(self, spec: AgentSpec, cfg: SimConfig) -> None:
        super().__init__(spec, cfg)
        self.plateau = Plateau(cfg.spawn.plateau_patience, cfg.spawn.plateau_tolerance)

    def fires(self, round: Round) -> bool:
        return bool(round.returns) and self.plateau.update(float(np.mean(round.returns)))
