"""Rules compared over a sweep: each statistic aggregated over seeds is the mean of the per-seed
``compare`` results, its interval the t-interval of those values (a bootstrap for the ratio), one seed
gives no interval, and a sweep with a missing run or an unknown rule is refused."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from attribution import AttributionError
from attribution.comparison import Comparison, compare
from attribution.intervals import t_interval
from lineage import LineageGraph
from spawn.errors import RunDirError
from spawn.experiments.compare_sweep import (
    BOOTSTRAP_RESAMPLES,
    STATISTIC_COLUMNS,
    _ratio_bootstrap,
    compare_sweep,
    render_sweep_comparison,
)

from .test_sweep import SWEEP

ARMS = ["objective=raw", "objective=penalised"]
RULES = ["self", "discounted:gamma=0.5", "best-descendant"]


def make_sweep(path: Path) -> Path:
    """The fast sweep of test_sweep (Hiring, budget 1500): 2 arms x seeds 1, 2, run into ``path``."""
    from spawn.cli import main

    path.mkdir(parents=True, exist_ok=True)
    cfg = path / "s.toml"
    cfg.write_text(SWEEP)
    assert main(["run", str(cfg), "--out", str(path / "sweep"), "--quiet"]) == 0
    return path / "sweep"


def one_seed_copy(sweep: Path, dest: Path) -> Path:
    """``sweep`` as if it had been run with ``--seed 1``: one seed per arm."""
    shutil.copytree(sweep, dest)
    (dest / "sweep.json").write_text(json.dumps({"arms": ARMS, "seed": 1}) + "\n")
    for arm in ARMS:
        shutil.rmtree(dest / arm / "seed-2")
    return dest


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sweep(tmp_path_factory.mktemp("compare-sweep"))


def per_seed_comparisons(sweep: Path, arm: str) -> list[Comparison]:
    return [compare(LineageGraph.load(sweep / arm / f"seed-{s}" / "lineage.json"), RULES) for s in (1, 2)]


def test_every_statistic_is_the_t_interval_of_the_per_seed_compare(sweep: Path) -> None:
    result = compare_sweep(sweep, RULES)
    assert list(result.seeds) == ARMS and all(s == (1, 2) for s in result.seeds.values())
    assert list(result.statistics.columns) == list(STATISTIC_COLUMNS)
    for arm in ARMS:
        runs = per_seed_comparisons(sweep, arm)
        expected: dict[tuple[str, str], list[float]] = {}
        for rule in RULES:
            expected[(rule, "root_credit")] = [float(c.table.loc["0", rule]) for c in runs]
            expected[(rule, "gini")] = [float(c.leaders.loc[rule, "gini"]) for c in runs]
        expected[(RULES[0], f"kendall_tau[{RULES[1]}]")] = [float(c.kendall.loc[RULES[0], RULES[1]]) for c in runs]
        expected[("", "alignment_tax")] = [float(c.alignment_tax["tax"]) for c in runs]
        for (rule, stat), values in expected.items():
            assert result.values(arm, stat, rule) == pytest.approx(values)
            mean, lo, hi = result.interval(arm, stat, rule)
            assert mean == pytest.approx(sum(values) / 2)
            assert (mean, lo, hi) == pytest.approx(t_interval(values))
            assert lo <= mean <= hi
        # the root's credit differs between seeds, so its interval has width
        lo, hi = result.interval(arm, "root_credit", "self")[1:]
        assert hi > lo
    s = result.statistics
    assert set(s[s.method == "bootstrap"].statistic) == {"relative_alignment_tax"}
    assert (s[s.statistic != "relative_alignment_tax"].method == "t").all()
    # each pair of rules once, in the order given
    taus = s[s.statistic.str.startswith("kendall_tau") & (s.arm == ARMS[0])]
    assert list(zip(taus.rule, taus.statistic, strict=True)) == [
        (RULES[0], f"kendall_tau[{RULES[1]}]"),
        (RULES[0], f"kendall_tau[{RULES[2]}]"),
        (RULES[1], f"kendall_tau[{RULES[2]}]"),
    ]


def test_relative_alignment_tax_is_a_seeded_bootstrap_of_the_ratio(sweep: Path) -> None:
    result = compare_sweep(sweep, RULES[:2])
    for arm in ARMS:
        tax = np.array(result.values(arm, "alignment_tax"))
        best = np.array(result.values(arm, "raw_best_value"))
        point, lo, hi = result.interval(arm, "relative_alignment_tax")
        assert point == pytest.approx(tax.sum() / best.sum())
        assert lo <= hi
        # a slow reference on the same resampled seeds
        idx = np.random.Generator(np.random.PCG64(0)).integers(0, 2, size=(BOOTSTRAP_RESAMPLES, 2))
        ratios = [sum(tax[i] for i in row) / sum(best[i] for i in row) for row in idx]
        assert (lo, hi) == pytest.approx(tuple(np.quantile(ratios, [0.025, 0.975])))
    again = compare_sweep(sweep, RULES[:2])
    assert again.statistics.equals(result.statistics)  # the same seed, the same intervals


def test_the_bootstrap_on_known_numbers() -> None:
    # every resample has ratio 0.5: a zero-width interval at 0.5
    point, lo, hi, n = _ratio_bootstrap(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]), 7)
    assert (point, lo, hi, n) == (0.5, 0.5, 0.5, 3)
    # NaN seeds are left out; one seed left: no interval
    point, lo, hi, n = _ratio_bootstrap(np.array([1.0, math.nan]), np.array([4.0, 1.0]), 7)
    assert point == 0.25 and math.isnan(lo) and math.isnan(hi) and n == 1
    # the interval lies within the range of the per-seed ratios, and the seed decides it
    num, den = np.array([1.0, 2.0, 0.0, 5.0]), np.array([2.0, 2.0, 1.0, 5.0])
    a, b = _ratio_bootstrap(num, den, 1), _ratio_bootstrap(num, den, 1)
    assert a == b and 0.0 <= a[1] <= a[0] <= a[2] <= 1.0


def test_one_seed_per_arm_gives_no_interval(sweep: Path, tmp_path: Path) -> None:
    one = one_seed_copy(sweep, tmp_path / "one")
    result = compare_sweep(one, RULES[:2])
    assert all(s == (1,) for s in result.seeds.values())
    full = compare_sweep(sweep, RULES[:2])
    for arm in ARMS:
        mean, lo, hi = result.interval(arm, "root_credit", "self")
        assert mean == full.values(arm, "root_credit", "self")[0]
        assert math.isnan(lo) and math.isnan(hi)
    doc = json.loads(result.to_json())
    assert all(r["lo"] is None and r["hi"] is None for r in doc["statistics"])
    assert {r["n_seeds"] for r in doc["statistics"] if r["statistic"] == "root_credit"} == {1}
    row = next(line for line in result.to_csv().splitlines() if ",self,root_credit," in line)
    assert row.split(",")[4:8] == ["", "", "1", "t"]
    text = " ".join(str(p) for p in render_sweep_comparison(result))
    assert "no interval for an arm with one seed: objective=raw, objective=penalised" in text


def test_a_missing_run_an_unknown_rule_and_not_a_sweep_are_refused(sweep: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(sweep, broken)
    (broken / "objective=penalised" / "seed-2" / "lineage.json").unlink()
    with pytest.raises(RunDirError, match=r"the run objective=penalised/seed-2 is missing \(no lineage.json\)"):
        compare_sweep(broken, RULES)
    with pytest.raises(AttributionError, match="unknown rule 'selff'"):
        compare_sweep(sweep, ["selff"])
    with pytest.raises(RunDirError, match="is not a sweep directory"):
        compare_sweep(sweep / "objective=raw" / "seed-1", RULES)
    (broken / "sweep.json").write_text(json.dumps({"arms": ["objective=raw"], "seed": None}))
    with pytest.raises(RunDirError, match="names other arms than"):
        compare_sweep(broken, RULES)
