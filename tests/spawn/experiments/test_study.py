"""The selector study: every arm a run, best value against budget with intervals, rule predictiveness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spawn.experiments.study import selector_study, weighted_correlation

from ..helpers import HIRING, config


def test_selector_study_on_a_small_budget(tmp_path: Path) -> None:
    cfg = config(
        regime="archive",
        budget=1800,
        envs=[HIRING],
        archive={"batch_size": 2, "child_budget": 300, "root_budget": 600},
        eval={"episodes": 2, "max_steps": 50},
    )
    result = selector_study(cfg, ["greedy", "hgm"], [1, 2], tmp_path / "s", rules=["self", "discounted", "clade-mean"])
    for sel in ("greedy", "hgm"):
        for seed in (1, 2):
            assert (tmp_path / "s" / sel / f"seed-{seed}" / "lineage.json").is_file()
        curve = result.curves[result.curves.selector == sel]
        # against total steps, training and evaluation, read from each run's steps.csv
        steps = [pd.read_csv(tmp_path / "s" / sel / f"seed-{seed}" / "steps.csv") for seed in (1, 2)]
        totals = sorted({int(t) for frame in steps for t in frame.total_steps})
        assert list(curve.spent) == totals and (curve.n == 2).all()
        # each point is the training budget (600, 1200, 1800) plus the evaluations so far
        assert len(totals) == 3 and all(t > b for t, b in zip(totals, [600, 1200, 1800], strict=True))
        assert (np.diff(curve["mean"]) >= 0).all()  # best so far never falls
        assert (curve.lo <= curve["mean"]).all() and (curve["mean"] <= curve.hi).all()
    assert set(result.predictiveness.rule) == {"self", "discounted", "clade-mean"}
    assert set(result.predictiveness.selector) == {"greedy", "hgm", "all"}
    assert (result.predictiveness.pairs > 0).all()
    on_disk = pd.read_csv(tmp_path / "s" / "study.csv")
    assert len(on_disk) == len(result.curves)
    again = selector_study(cfg, ["greedy", "hgm"], [1, 2], tmp_path / "t", rules=["self", "discounted", "clade-mean"])
    assert (tmp_path / "s" / "study.csv").read_bytes() == (tmp_path / "t" / "study.csv").read_bytes()
    assert again.final.equals(result.final)


def test_weighted_correlation_reference() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert (
        weighted_correlation(x, y, np.ones(50)) == np.corrcoef(x, y)[0, 1].round(12)
        or abs(weighted_correlation(x, y, np.ones(50)) - np.corrcoef(x, y)[0, 1]) < 1e-12
    )
    w = np.r_[np.ones(25), np.zeros(25)]
    assert abs(weighted_correlation(x, y, w) - np.corrcoef(x[:25], y[:25])[0, 1]) < 1e-12


def test_every_arm_and_rule_is_checked_before_anything_is_written(tmp_path: Path) -> None:
    import pytest

    from spawn.errors import ConfigError

    cfg = config(regime="archive", budget=600, envs=[HIRING], archive={"child_budget": 300})
    for selectors, rules, message in [
        (["greedy", "rule:shapley:samples=1000000000"], ["self"], "shapley_samples"),
        (["greedy", "gredy"], ["self"], "did you mean 'greedy'"),
        (["greedy"], ["self", "shapley:samples=1000000000"], "shapley_samples"),
    ]:
        with pytest.raises(ConfigError, match=message):
            selector_study(cfg, selectors, [1], tmp_path / "s", rules=rules)
        assert not (tmp_path / "s").exists()


def test_a_selector_or_seed_given_twice_or_none_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    import pytest

    from spawn.errors import ConfigError

    cfg = config(regime="archive", budget=600, envs=[HIRING], archive={"child_budget": 300})
    for selectors, seeds, message in [
        (["greedy", "hgm", "greedy"], [1], "selectors 'greedy' and 'greedy' would share the study's folder 'greedy'"),
        (["greedy"], [1, 2, 1], r"seeds are given twice: \[1, 2, 1\]"),
        ([], [1], "at least one selector and one seed"),
        (["greedy"], [], "at least one selector and one seed"),
    ]:
        with pytest.raises(ConfigError, match=message):
            selector_study(cfg, selectors, seeds, tmp_path / "s", rules=["self"])
        assert not (tmp_path / "s").exists()
