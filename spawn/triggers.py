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

    Examples
    --------
    >>> w = DriftWatch("adwin")
    >>> for x in [0.0] * 500 + [1.0] * 500:
    ...     w.update(x)
    >>> w.alarm(), w.alarm()
    (True, False)
    """

    def __init__(self, detector: str, params: Mapping[str, float] | None = None) -> None:
        try:
            self.detector = DETECTORS[detector](dict(params or {}))
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
        self.detector.update(x)
        if self.detector.drift_detected:
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
