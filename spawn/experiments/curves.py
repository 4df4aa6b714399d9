"""Best value found against budget spent: one archive run's step curve, and an arm's over its seeds.

This is the one best-against-budget curve of lineage-sim: a selector study's ``study.csv`` and
``lineage-sim plot --kind selection`` of a sweep or a run are both made by
:func:`best_against_budget`. A run's curve (:func:`run_curve`) is a step function: the root's value
once the root has trained, then after each batch the best value so far, kept as a running maximum.
An arm's seeds are aligned on the union of their budget points, each seed's curve carried forward
to the points it does not have (its best so far still holds there), so the mean at a budget is
always over every seed that has reached it, never over whichever seeds happen to stop exactly there.
:func:`steps_curve` is the same against total steps, training and evaluation (a run's ``steps.csv``).

Examples
--------
>>> import pandas as pd
>>> a = run_curve(100, 0.2, pd.DataFrame({"spent": [200, 300], "best_value": [0.5, 0.5]}))
>>> b = run_curve(100, 0.4, pd.DataFrame({"spent": [250], "best_value": [0.6]}))
>>> print(best_against_budget({"greedy": [a, b]})[["selector", "spent", "mean", "n"]].to_string(index=False))
selector  spent  mean  n
  greedy    100  0.30  2
  greedy    200  0.45  2
  greedy    250  0.55  2
  greedy    300  0.55  2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from attribution.intervals import t_interval

__all__ = ["CURVE_COLUMNS", "best_against_budget", "run_curve", "steps_curve"]

#: The columns of :func:`best_against_budget` (and of a study's ``study.csv``).
CURVE_COLUMNS = ("selector", "spent", "mean", "lo", "hi", "n")


def run_curve(root_spent: int, root_value: float, batches: pd.DataFrame) -> pd.Series:
    """Best value so far against budget spent in one archive run, indexed by budget spent.

    ``root_spent`` and ``root_value`` are the root's training steps and value (the first point);
    ``batches`` is the run's ``batches.csv`` (its ``spent`` and ``best_value`` columns). A budget
    point given twice keeps its last value; the curve is a running maximum, so it never falls.
    """
    points = {int(root_spent): float(root_value)}
    for spent, best in zip(batches["spent"], batches["best_value"], strict=True):
        points[int(spent)] = float(best)
    return pd.Series(points, dtype=float).sort_index().cummax()


def steps_curve(steps: pd.DataFrame) -> pd.Series:
    """The archive's best value against total steps (training and evaluation) in one archive run,
    from its ``steps.csv`` (``total_steps`` and ``best_value``; the root's row first): the equal-cost
    curve, on which an expand-only selector and HGM's loop are compared. A point given twice keeps
    its last value. Not a running maximum: under HGM's loop the best agent is the one with the
    highest posterior mean, and its value may fall as it is evaluated again.

    >>> steps_curve(pd.DataFrame({"total_steps": [110, 150, 150, 170], "best_value": [0.2, 0.5, 0.6, 0.4]})).tolist()
    [0.2, 0.6, 0.4]
    """
    points: dict[int, float] = {}
    for total, best in zip(steps["total_steps"], steps["best_value"], strict=True):
        points[int(total)] = float(best)
    return pd.Series(points, dtype=float).sort_index()


def best_against_budget(arms: Mapping[str, Sequence[pd.Series]]) -> pd.DataFrame:
    """Per arm (its label in column ``selector``): at every budget point of any of its seeds' curves,
    the mean best value so far with a 95% t-interval over seeds (``lo``, ``hi``) and how many seeds
    count (``n``: those that have reached the point). Arms without curves give no rows.
    """
    rows: list[dict[str, Any]] = []
    for label, curves in arms.items():
        if not curves:
            continue
        table = pd.concat(list(curves), axis=1).sort_index().ffill()
        for spent, row in table.iterrows():
            values = row.to_numpy(dtype=float)
            mean, lo, hi = t_interval(values)
            n = int(np.isfinite(values).sum())
            rows.append({"selector": label, "spent": int(spent), "mean": mean, "lo": lo, "hi": hi, "n": n})
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))
