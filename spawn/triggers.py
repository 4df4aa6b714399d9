"""Spawn triggers: a drift alarm on the reward stream (river), and a plateau of the returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["DETECTORS", "DriftWatch", "Plateau"]


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
