"""The archive regime: selectors against their formulas, DGM vs HGM, determinism, budget, resume."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from lineage import LineageGraph
from spawn.config import parse_config
from spawn.errors import ConfigError
from spawn.regimes.selectors import clade_counts, select, selection_probabilities
from spawn.run.driver import resume, simulate

from ..helpers import HIRING, config

N = 20_000


def _archive() -> LineageGraph:
    g = LineageGraph()
    g.add_agent("0", value=0.4, successes=4, trials=10)
    g.add_agent("0.0", parent="0", operator="mutate", value=0.7, successes=7, trials=10)
    g.add_agent("0.1", parent="0", operator="finetune", value=0.55, successes=5, trials=10)
    g.add_agent("0.0.0", parent="0.0", operator="finetune", value=0.7, successes=8, trials=10)
    return g


def _frequencies(picks: tuple[str, ...], ids: list[str]) -> np.ndarray:
    return np.array([picks.count(a) for a in ids]) / len(picks)


@pytest.mark.parametrize("selector", ["uniform", "dgm", "rule:discounted:gamma=0.5", "rule:cmp"])
def test_choice_frequencies_match_the_formula(selector: str) -> None:
    g = _archive()
    ids = g.ids
    probs = selection_probabilities(selector, ids, g, dgm_lambda=10.0, temperature=0.2)
    p = np.array([probs[a] for a in ids])
    freq = _frequencies(select(selector, ids, g, N, np.random.default_rng(1), temperature=0.2).picks, ids)
    tolerance = 4 * np.sqrt(p * (1 - p) / N) + 1e-12  # four standard errors of a binomial frequency
    assert np.all(np.abs(freq - p) <= tolerance), (freq, p)


def test_dgm_formula_by_hand() -> None:
    g = _archive()
    sig = lambda v: 1 / (1 + math.exp(-10 * (v - 0.5)))  # noqa: E731
    raw = {"0": sig(0.4) / 3, "0.0": sig(0.7) / 2, "0.1": sig(0.55) / 1, "0.0.0": sig(0.7) / 1}
    total = sum(raw.values())
    assert selection_probabilities("dgm", g.ids, g) == pytest.approx({a: w / total for a, w in raw.items()})


def test_greedy_picks_the_best_with_ties_by_id() -> None:
    g = _archive()
    sel = select("greedy", g.ids, g, 5, np.random.default_rng(0))
    assert sel.picks == ("0.0",) * 5  # 0.0 and 0.0.0 tie at 0.7: the earlier id wins


def test_hgm_thompson_win_probability_matches_the_integral() -> None:
    g = LineageGraph()
    g.add_agent("0", successes=2, trials=5)
    g.add_agent("0.0", parent="0", successes=1, trials=5)
    g.add_agent("0.1", parent="0", successes=3, trials=4)
    counts = clade_counts(g, 10)
    assert counts["0"] == (6.0, 8.0)  # pooled over the clade: 2+1+3 successes, 3+4+1 failures
    archive = ["0.0", "0.1"]
    tau = 2.0
    a = {x: tau * (1 + counts[x][0]) for x in archive}
    b = {x: tau * (1 + counts[x][1]) for x in archive}
    # P(draw of 0.1 beats draw of 0.0) = integral of f_0.1(x) F_0.0(x) dx
    exact, _ = integrate.quad(
        lambda x: stats.beta.pdf(x, a["0.1"], b["0.1"]) * stats.beta.cdf(x, a["0.0"], b["0.0"]), 0, 1
    )
    picks = select("hgm", archive, g, N, np.random.default_rng(3), hgm_tau=tau).picks
    freq = picks.count("0.1") / N
    assert abs(freq - exact) <= 4 * math.sqrt(exact * (1 - exact) / N)


def test_dgm_penalises_children_while_hgm_credits_the_clade() -> None:
    # A scored well and its clade succeeds, but A has many children; B is alone and mediocre.
    g = LineageGraph()
    g.add_agent("0", value=0.5, successes=5, trials=10)
    g.add_agent("0.0", parent="0", value=0.8, successes=8, trials=10)  # A
    for k in range(4):
        g.add_agent(f"0.0.{k}", parent="0.0", value=0.85, successes=9, trials=10)
    g.add_agent("0.1", parent="0", value=0.6, successes=6, trials=10)  # B
    archive = ["0.0", "0.1"]
    dgm = select("dgm", archive, g, 4000, np.random.default_rng(0)).picks
    hgm = select("hgm", archive, g, 4000, np.random.default_rng(0)).picks
    assert dgm.count("0.1") > dgm.count("0.0")  # the children count against A
    assert hgm.count("0.0") > 0.95 * len(hgm)  # A's clade record wins


def _archive_cfg(**kw: object) -> object:
    base = {
        "regime": "archive",
        "selector": "dgm",
        "budget": 3000,
        "envs": [HIRING],
        "archive": {"batch_size": 3, "child_budget": 400, "root_budget": 600},
        "eval": {"episodes": 2, "max_steps": 60},
    }
    base.update(kw)
    return config(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("selector", ["uniform", "greedy", "dgm", "hgm", "rule:discounted:gamma=0.7"])
def test_archive_runs_with_every_selector_within_budget(selector: str, tmp_path: Path) -> None:
    cfg = _archive_cfg(selector=selector)
    g = simulate(cfg, tmp_path / "a").lineage
    assert g is not None
    assert g.column("train_steps").sum() == 3000 and g.attributes("0")["train_steps"] == 600
    assert len(g) == 1 + math.ceil(2400 / 400)
    rows = (tmp_path / "a" / "batches.csv").read_text().splitlines()
    assert rows[0].startswith("batch,archive_size,spent,best_agent,best_value,parents")
    assert len(rows) == 1 + 2  # two batches of three
    assert all(g.attributes(a)["trigger"] == f"selector:{selector}" for a in g if a != "0")


def test_archive_is_deterministic_and_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    cfg = _archive_cfg(selector="hgm")
    simulate(cfg, tmp_path / "a")
    simulate(cfg, tmp_path / "b", stop_after=2)
    assert not (tmp_path / "b" / "lineage.json").exists()
    resume(tmp_path / "b")
    for name in ("lineage.json", "agents.csv", "summary.json", "batches.csv", "phylogeny.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_margin_keeps_weak_children_out_of_the_archive(tmp_path: Path) -> None:
    cfg = _archive_cfg(
        selector="uniform", archive={"batch_size": 2, "child_budget": 300, "keep": "margin", "margin": 0.0}
    )
    g = simulate(cfg, tmp_path / "m").lineage
    assert g is not None
    root = g.attributes("0")["value"]
    weak = {a for a in g if a != "0" and g.attributes(a)["value"] < root}
    assert weak, "the test needs at least one child below the root"
    assert all(not g.children(a) for a in weak)  # never picked as a parent


def test_bad_selector_refused() -> None:
    with pytest.raises(ConfigError, match="did you mean 'hgm'"):
        parse_config(
            {
                "seed": 1,
                "budget": 10,
                "regime": "archive",
                "selector": "hgn",
                "envs": [{"id": "FrozenLake-v1"}],
            }
        )
    with pytest.raises(ConfigError, match="unknown rule 'discountd'"):
        parse_config(
            {"seed": 1, "budget": 10, "selector": "rule:discountd", "envs": [{"id": "FrozenLake-v1"}]}
        )
    with pytest.raises(ConfigError, match=r"archive\.dgm_lambda"):
        parse_config(
            {"seed": 1, "budget": 10, "archive": {"dgm_lambda": -1}, "envs": [{"id": "FrozenLake-v1"}]}
        )


def test_best_episodes_are_kept_only_for_an_operator_that_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    import spawn.regimes.archive as archive

    ops = {"finetune": 1.0, "mutate": 1.0, "add-tool": 0.0, "new-task": 0.0}
    cfg = _archive_cfg(selector="uniform", operators=ops)
    simulate(cfg, tmp_path / "lean")
    segments = sorted((tmp_path / "lean" / "checkpoint").glob("seg-*.jsonl"))
    entries = [json.loads(line) for seg in segments for line in seg.read_text().splitlines()]
    agents = [e for e in entries if e["k"] == "agent"]
    assert agents and all(e["best"] is None for e in agents)  # neither kept nor saved
    # keeping them anyway (as before) changes no output: nothing drawn reads them
    monkeypatch.setattr(archive, "reads_best_episodes", lambda weights: True)  # ArchiveState.new asks it
    simulate(cfg, tmp_path / "kept")
    kept = [json.loads(line) for seg in sorted((tmp_path / "kept" / "checkpoint").glob("seg-*.jsonl"))
            for line in seg.read_text().splitlines()]
    assert any(e.get("best") for e in kept if e["k"] == "agent")
    for name in ("lineage.json", "agents.csv", "summary.json", "batches.csv", "curves.csv"):
        assert (tmp_path / "lean" / name).read_bytes() == (tmp_path / "kept" / name).read_bytes(), name
    # with add-tool drawable they are kept, and a resumed run rebuilds them from the checkpoint
    tool = _archive_cfg(selector="uniform", operators={**ops, "add-tool": 1.0})
    simulate(tool, tmp_path / "whole")
    simulate(tool, tmp_path / "cut", stop_after=3)
    resume(tmp_path / "cut")
    for name in ("lineage.json", "agents.csv", "batches.csv"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "cut" / name).read_bytes(), name


def test_uniform_draws_what_the_general_select_draws() -> None:
    """Uniform's own select (no dict over the archive) picks what Selector.select picks from its
    probabilities, draw for draw."""
    from spawn.regimes.selectors import SelectOptions, Selector, selector_for

    ids = [f"0.{i}" for i in range(37)]
    g = LineageGraph()
    for a in ["0", *ids]:
        g.add_agent(a, parent=None if a == "0" else "0")
    uniform = selector_for("uniform")
    for seed in range(5):
        fast = uniform.select(ids, g, 50, np.random.default_rng(seed), SelectOptions())
        slow = Selector.select(uniform, ids, g, 50, np.random.default_rng(seed), SelectOptions())
        assert fast.picks == slow.picks
        assert all(fast.scores[p] == slow.scores[p] for p in fast.picks)


def test_the_archive_merges_each_batch_in_id_order() -> None:
    """Agents join the archive a batch at a time, merged in lineage-path order on the next read: the
    same list as inserting each in order (the reference), whatever the order they join in."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from lineage import path_key
    from spawn.regimes.archive import ArchiveState

    ids = st.lists(st.integers(0, 12), min_size=1, max_size=4).map(lambda p: ".".join(map(str, [0, *p])))

    @settings(max_examples=40, deadline=None)
    @given(st.lists(st.lists(ids, max_size=6), max_size=6))
    def check(batches: list[list[str]]) -> None:
        state, reference, seen = ArchiveState(), [], set()
        for batch in batches:
            for agent in batch:
                if agent in seen:
                    continue
                seen.add(agent)
                state.incoming.append(agent)
                reference = sorted([*reference, agent], key=path_key)
            assert state.archive == reference
            assert state.incoming == []

    check()


@pytest.mark.parametrize("cap", [1, 2])
def test_the_depth_cap_keeps_deep_agents_from_breeding(cap: int, tmp_path: Path) -> None:
    """Once an archived agent reaches max_depth it is no longer picked, and the run goes on breeding
    from the shallower ones until its budget is spent."""
    cfg = _archive_cfg(selector="uniform", budget=4200, caps={"max_depth": cap, "max_agents": 100})
    g = simulate(cfg, tmp_path / "a").lineage
    assert g is not None
    depths = [a.count(".") for a in g]
    assert max(depths) == cap and len(g) == 1 + math.ceil(3600 / 400)
    assert all(not g.children(a) for a in g if a.count(".") == cap)
