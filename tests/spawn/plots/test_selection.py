"""``--kind selection`` draws the study's own best-against-budget curve, for a sweep as for a study."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from spawn.experiments.study import study_tables
from spawn.plots import selection_curves

from ..experiments.runs import run_a, run_b


def test_a_sweeps_selection_curves_are_the_studys(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "sweep.json").write_text(json.dumps({"arms": ["selector=greedy"], "seed": None}))
    runs = {1: run_a(sweep / "selector=greedy" / "seed-1"), 2: run_b(sweep / "selector=greedy" / "seed-2")}
    curves = selection_curves(sweep)
    pd.testing.assert_frame_equal(curves, study_tables({"greedy": runs}, ["self"]).curves)
    assert curves.n.tolist() == [2, 2, 2, 2]  # both seeds at every budget point (see tests/spawn/experiments)
