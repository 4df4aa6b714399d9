"""``compare --universal``: every rule applied per environment and summed with the environments' K
into Upsilon, Sigma and Sigma_K, checked against plain loops, at K of thousands of bits, on real runs
and on a paired ``constitutions = [true, false]`` sweep."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attribution.table import resolve_rules
from attribution.tree import TreeArrays
from lineage import LineageGraph
from spawn.cli import main
from spawn.config import load_config
from spawn.errors import ConfigError
from spawn.experiments.compare_sweep import compare_sweep
from spawn.experiments.sweep import run_sweep
from spawn.experiments.universal import (
    EnvironmentComplexity,
    environment_view,
    relative_loss,
    run_complexities,
    universal_credit,
)
from spawn.run.driver import simulate

from ..helpers import FROZEN, HIRING, config

# a root and two children; environment a has a constitution (distance, cost), b has none
PARENT = [-1, 0, 0]
COLUMNS = {
    "value": [0.4, 0.5, 0.6],
    "a.value": [0.2, 0.4, 0.9],
    "b.value": [0.6, 0.6, 0.3],
    "a.distance": [1.0, 0.0, 2.0],
    "a.violations": [4.0, 0.0, 2.0],
    "distance": [0.5, 0.0, 1.0],
    "budget": [100.0, 50.0, 50.0],
    "b.return": [1.0, 2.0, 3.0],
    "return": [1.0, 2.0, 3.0],
}
ENVS = [EnvironmentComplexity("a", 3.0, 5.0, (0.0, 2.0)), EnvironmentComplexity("b", 1.0, 1.0, (0.0, 1.0))]


def tree() -> TreeArrays:
    return TreeArrays.from_parent(PARENT, COLUMNS, ids=["0", "0.0", "0.1"])


def test_an_environment_view_reads_that_environments_measurements() -> None:
    a, b = (environment_view(tree(), e, ["a", "b"]) for e in ENVS)
    assert a.column("value").tolist() == [0.2, 0.4, 0.9] and b.column("value").tolist() == [0.6, 0.6, 0.3]
    assert a.column("distance").tolist() == [1.0, 0.0, 2.0]
    assert b.column("distance").tolist() == [0.0, 0.0, 0.0]  # no constitution: nothing forbidden, never the mean
    assert a.column("scaled_violations").tolist() == [2.0, 0.0, 1.0]  # per episode over the width 2
    assert b.column("budget").tolist() == [100.0, 50.0, 50.0]  # not measured per environment: as it is
    assert b.column("violations").tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(a.column("return")).all()  # measured per environment, but not on a: missing, not the mean
    assert "budget" in (a.names or []) and "a.value" not in (a.names or [])


def slow(rule_credit: list[list[float]], k: list[float]) -> Fraction:
    """sum_e 2**-K_e credit_e of the root, exactly."""
    return sum((Fraction(2) ** -int(ke) * Fraction(c[0]) for ke, c in zip(k, rule_credit, strict=True)), Fraction(0))


def test_upsilon_and_sigma_are_the_weighted_sums_of_per_environment_credit() -> None:
    u = universal_credit(tree(), resolve_rules(["self", "best-descendant"]), ENVS)
    by_rule = u.table.set_index("rule")
    # self on each environment alone: the root's own value there; Sigma with V' = V 2**-D (b: D = 0)
    raw = [[0.2], [0.6]]
    aligned = [[0.2 * 2**-1.0], [0.6]]
    assert by_rule.loc["self", "upsilon"] == pytest.approx(float(slow(raw, [3, 1])), rel=1e-12)
    assert by_rule.loc["self", "sigma"] == pytest.approx(float(slow(aligned, [3, 1])), rel=1e-12)
    assert by_rule.loc["self", "sigma_k"] == pytest.approx(float(slow(raw, [5, 1])), rel=1e-12)
    ups, sig = float(slow(raw, [3, 1])), float(slow(aligned, [3, 1]))
    assert by_rule.loc["self", "tax"] == pytest.approx(ups - sig, rel=1e-12)
    assert by_rule.loc["self", "relative_tax"] == pytest.approx(1 - sig / ups, rel=1e-12)
    assert by_rule.loc["self", "mix_upsilon"] == pytest.approx((0.2 + 0.6) / 2)
    # best-descendant on a: 0.9 (child 0.1), on b: 0.6 (the root); Sigma per environment takes the best aligned
    best_raw = [[0.9], [0.6]]
    best_aligned = [[max(0.2 / 2, 0.4, 0.9 / 4)], [0.6]]
    assert by_rule.loc["best-descendant", "upsilon"] == pytest.approx(float(slow(best_raw, [3, 1])), rel=1e-12)
    assert by_rule.loc["best-descendant", "sigma"] == pytest.approx(float(slow(best_aligned, [3, 1])), rel=1e-12)
    # b weighs 2**-1 against a's 2**-3: it holds most of Upsilon
    assert by_rule.loc["self", "dominant"] == "b"
    assert by_rule.loc["self", "dominant_share"] == pytest.approx(0.6 / 2 / (0.2 / 8 + 0.6 / 2))
    env = u.environments.set_index(["rule", "env"])
    assert env.loc[("self", "a"), "weight"] == pytest.approx(0.25 / 1.25)
    assert env.loc[("self", "a"), "aligned_credit"] == pytest.approx(0.1)


def test_at_thousands_of_bits_the_sums_are_exact_in_log2_and_one_environment_decides() -> None:
    near = [EnvironmentComplexity("a", 2000.0, 2010.0, (0, 2)), EnvironmentComplexity("b", 2001.0, 2001.0, (0, 1))]
    u = universal_credit(tree(), resolve_rules(["self"]), near).table.iloc[0]
    assert u["upsilon"] == 0.0  # 2**-2000 underflows as a float ...
    exact = Fraction(2) ** -2000 * Fraction(0.2) + Fraction(2) ** -2001 * Fraction(0.6)
    log2 = math.log2(exact * 2**2000) - 2000
    assert u["log2_upsilon"] == pytest.approx(log2, abs=1e-12)  # ... but not in log2
    sigma = Fraction(2) ** -2000 * Fraction(0.1) + Fraction(2) ** -2001 * Fraction(0.6)
    assert u["relative_tax"] == pytest.approx(float(1 - sigma / exact), rel=1e-12)
    # a thousand bits apart: b is all of the sum, whatever the agent does on a
    far = [EnvironmentComplexity("a", 3000.0, 3000.0, (0, 2)), EnvironmentComplexity("b", 2000.0, 2000.0, (0, 1))]
    columns = dict(COLUMNS)
    base = universal_credit(TreeArrays.from_parent(PARENT, columns), resolve_rules(["self"]), far).table.iloc[0]
    columns["a.value"] = [1.0, 1.0, 1.0]
    moved = universal_credit(TreeArrays.from_parent(PARENT, columns), resolve_rules(["self"]), far).table.iloc[0]
    assert base["dominant"] == "b" and base["dominant_share"] == 1.0
    assert moved["log2_upsilon"] == base["log2_upsilon"] == pytest.approx(math.log2(0.6) - 2000)
    assert moved["mix_upsilon"] != base["mix_upsilon"]  # the equal-weight mix sees a


def test_relative_loss_in_log_space() -> None:
    assert relative_loss(-3000.0, -3000.0) == 0.0
    assert relative_loss(-3000.0, -3002.0) == pytest.approx(0.75)
    assert relative_loss(-3000.0, -math.inf) == 1.0
    assert math.isnan(relative_loss(-math.inf, -1.0)) and math.isnan(relative_loss(-1.0, math.nan))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("universal") / "run"
    cfg = config(
        envs=[HIRING, FROZEN],
        budget=1200,
        spawn={"round_steps": 200, "every": 2, "max_children": 2},
        eval={"episodes": 2, "max_steps": 40},
    )
    simulate(cfg, out)
    return out


def test_a_run_uses_its_environments_k_with_and_without_the_constitution(run: Path) -> None:
    ks = {e.slug: e for e in run_complexities(run / "lineage.json")}
    assert ks["Hiring-v0"].k_constitution > ks["Hiring-v0"].k > 1000  # the constitution's bits added
    assert ks["FrozenLake-v1"].k_constitution == ks["FrozenLake-v1"].k  # none there


def test_compare_universal_on_a_run(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c.json"
    assert main(["compare", str(run), "--rule", "self", "--rule", "discounted", "--universal", "--json", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "universal intelligence" in shown and "departure from Legg and Hutter" in shown
    doc = json.loads(out.read_text())["universal"]
    ks = {e["env"]: e["k"] for e in doc["environments"]}
    rows = {r["rule"]: r for r in doc["rules"]}
    agents = pd.read_csv(run / "agents.csv", dtype={"id": str}).set_index("id")
    root = agents.loc["0"]
    # self: the root's own value per environment, weighted 2**-K (summed relative to the smallest K)
    kmin = min(ks.values())
    terms = [2.0 ** -(ks[e] - kmin) * root[f"{e}.value"] for e in ks]
    assert rows["self"]["log2_upsilon"] == pytest.approx(math.log2(sum(terms)) - kmin, abs=1e-9)
    assert rows["self"]["mix_upsilon"] == pytest.approx(np.mean([root[f"{e}.value"] for e in ks]))
    aligned = [root["Hiring-v0.value"] * 2 ** -root["Hiring-v0.distance"], root["FrozenLake-v1.value"]]
    assert rows["self"]["mix_sigma"] == pytest.approx(np.mean(aligned))
    assert rows["discounted"]["dominant"] in ks


def test_universal_needs_the_runs_config(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alone = tmp_path / "lineage.json"
    alone.write_bytes((run / "lineage.json").read_bytes())
    assert main(["compare", str(alone), "--rule", "self", "--universal"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "config.toml" in err[0]
    with pytest.raises(ConfigError, match=r"config\.toml"):
        run_complexities(alone)


def test_the_value_lost_to_the_constitution_is_paired_by_seed(tmp_path: Path) -> None:
    cfg = config(
        envs=[HIRING],
        budget=800,
        agent={"objective": "penalised", "penalty_weight": 0.5},
        spawn={"round_steps": 200, "every": 2, "max_children": 1},
        eval={"episodes": 2, "max_steps": 40},
        sweep={"constitutions": [True, False], "seeds": [1, 2]},
    )
    run_sweep(cfg, tmp_path / "s")
    result = compare_sweep(tmp_path / "s", ["self"], universal=True)
    governed, free = "constitutions=true", "constitutions=false"
    per_seed = {}
    for arm in (governed, free):
        for s in (1, 2):
            path = tmp_path / "s" / arm / f"seed-{s}" / "lineage.json"
            ks = run_complexities(path)
            table = universal_credit(LineageGraph.load(path), resolve_rules(["self"]), ks).table
            per_seed[arm, s] = table.iloc[0]
    expect = [relative_loss(per_seed[free, s]["log2_upsilon"], per_seed[governed, s]["log2_sigma"]) for s in (1, 2)]
    assert result.values(governed, "value_lost_imperative", "self") == pytest.approx(expect)
    assert result.interval(governed, "value_lost_imperative", "self")[0] == pytest.approx(np.mean(expect))
    mixed = [per_seed[free, s]["mix_upsilon"] - per_seed[governed, s]["mix_upsilon"] for s in (1, 2)]
    assert result.values(governed, "mix_value_lost", "self") == pytest.approx(mixed)
    # the free arm has no twin: no loss; nothing forbidden there, so no tax
    assert result.values(free, "value_lost", "self") == []
    assert result.values(free, "relative_tax", "self") == [0.0, 0.0]
    assert "value_lost_complexity" in result.to_csv()
    # the complexity framing: the same credit weighed 2**-k lighter, k the constitution's bits
    k = run_complexities(tmp_path / "s" / governed / "seed-1" / "lineage.json")[0]
    assert result.values(governed, "relative_tax_k", "self")[0] == pytest.approx(1 - 2 ** -(k.k_constitution - k.k))
    assert load_config(tmp_path / "s" / "config.toml").sweep["constitutions"] == [True, False]
