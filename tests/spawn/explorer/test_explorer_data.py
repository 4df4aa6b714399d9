"""``lineage-sim view``: the page's embedded data against the run's own files, and bad input refused."""

from __future__ import annotations

import json
import math
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attribution import compare, rule_names
from lineage import LineageGraph
from spawn.cli import main
from spawn.explorer import data as explorer_data
from spawn.explorer import explorer_html_for, read_page_data


def _preorder(g: LineageGraph) -> list[str]:
    """Agents depth first, children in lineage-path order: the slow, obviously right order."""
    out: list[str] = []

    def visit(a: str) -> None:
        out.append(a)
        for c in sorted(g.children(a), key=lambda s: tuple(int(p) for p in s.split("."))):
            visit(c)

    for r in g.roots():
        visit(r)
    return out


def _view(run: Path, out: Path, *args: str) -> dict:
    assert main(["view", str(run), "--output", str(out), *args]) == 0
    return read_page_data(out.read_text(encoding="utf-8"))


def test_a_runs_page_holds_every_agent_and_attribute(explorer_runs: dict[str, Path], tmp_path: Path) -> None:
    run = explorer_runs["run"]
    data = _view(run, tmp_path / "v.html")
    g = LineageGraph.load(run / "lineage.json")
    assert data["format"] == "lineage-sim-explorer" and data["kind"] == "run"
    (entry,) = data["runs"]
    assert entry["agents"] == len(g) > 5
    assert entry["id"] == _preorder(g)
    assert entry["parent"] == [g.parent(a) for a in entry["id"]]
    assert entry["operator"] == [g.operator(a) for a in entry["id"]]
    assert entry["depth"] == [g.depth(a) for a in entry["id"]]
    for name in g.attribute_names():
        values = [g.get(a, name) for a in entry["id"]]
        if name in entry["numeric"]:
            want = [None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v for v in values]
            assert entry["numeric"][name] == want, name
        else:
            assert entry["text"][name] == [None if v is None else str(v) for v in values], name
    assert "value" in entry["numeric"] and "kind" in entry["text"]
    best = max(entry["id"], key=lambda a: g.get(a, "value"))
    assert entry["best"] == best
    assert entry["best_path"] == [*reversed(g.ancestors(best)), best]
    assert entry["summary"] == json.loads((run / "summary.json").read_text())


def test_every_registered_rules_credit_is_the_compare_tables(explorer_runs: dict[str, Path], tmp_path: Path) -> None:
    run = explorer_runs["run"]
    (entry,) = _view(run, tmp_path / "v.html")["runs"]
    g = LineageGraph.load(run / "lineage.json")
    assert list(entry["credit"]) == [r for r in compare(g, rule_names()).table.columns]
    table = compare(g, rule_names()).table
    for spec, credit in entry["credit"].items():
        want = table[spec].reindex(entry["id"]).tolist()
        assert credit == pytest.approx([None if math.isnan(x) else x for x in want], nan_ok=True), spec
    assert entry["compare"]["kendall"].keys() == set(table.columns)
    # --rule narrows the rules to the ones named
    (only,) = _view(run, tmp_path / "w.html", "--rule", "discounted:gamma=0.5")["runs"]
    assert list(only["credit"]) == ["discounted:gamma=0.5"]


def test_curves_are_curves_csv(explorer_runs: dict[str, Path], tmp_path: Path) -> None:
    run = explorer_runs["run"]
    (entry,) = _view(run, tmp_path / "v.html")["runs"]
    frame = pd.read_csv(run / "curves.csv", dtype={"id": str})
    cv = entry["curves"]
    assert len(cv["agent"]) == len(frame)
    for agent in (entry["id"][0], entry["id"][-1], entry["best"]):
        row = entry["id"].index(agent)
        mine = [r for r, a in enumerate(cv["agent"]) if a == row]
        theirs = frame[frame["id"] == agent].sort_values("round")
        assert [cv["steps"][r] for r in mine] == theirs["steps"].tolist()
        assert [cv["tasks"][cv["task"][r]] for r in mine] == theirs["task"].tolist()
        got = [cv["return"][r] for r in mine]
        assert got == pytest.approx([None if pd.isna(x) else x for x in theirs["return"]], nan_ok=True)


@pytest.mark.parametrize(("name", "x"), [("sweep", "steps spent"), ("rsweep", "world time")])
def test_a_sweeps_page_holds_every_run_and_the_arms_curves(
    explorer_runs: dict[str, Path], tmp_path: Path, name: str, x: str
) -> None:
    data = _view(explorer_runs[name], tmp_path / "v.html")
    assert data["kind"] == "sweep"
    arms = sorted({r["name"].split("/")[0] for r in data["runs"]})
    assert len(data["runs"]) == 4 and len(arms) == 2
    assert sorted(c["arm"].split("=")[-1] for c in data["arms"]["curves"]) == sorted(a.split("=")[-1] for a in arms)
    assert x in data["arms"]["x"]
    for c in data["arms"]["curves"]:
        assert len(c["spent"]) == len(c["mean"]) == len(c["lo"]) == len(c["hi"]) > 0
        assert all(lo <= m <= hi for lo, m, hi in zip(c["lo"], c["mean"], c["hi"], strict=True) if lo is not None)
        assert max(c["n"]) == 2
        assert c["mean"] == sorted(c["mean"])  # best so far never falls (expand-only selectors, running max)


def test_the_recursive_arms_curve_is_the_running_best(explorer_runs: dict[str, Path]) -> None:
    """Against a slow reference: each seed's best value among agents finished by each time, averaged."""
    src = explorer_runs["rsweep"]
    data = explorer_data.explorer_data(src)
    for c in data["arms"]["curves"]:
        runs = [r for r in data["runs"] if r["name"].split("/")[0].endswith(c["arm"].split("=")[-1])]
        assert len(runs) == 2
        for t, mean in zip(c["spent"], c["mean"], strict=True):
            bests = []
            for r in runs:
                done = [
                    v
                    for v, b, s in zip(
                        r["numeric"]["value"], r["numeric"]["birth_time"], r["numeric"]["train_steps"], strict=True
                    )
                    if b + s <= t
                ]
                if done:
                    bests.append(max(done))
            if len(bests) == 2:
                assert mean == pytest.approx(np.mean(bests)), t


def test_hostile_text_cannot_end_the_data_element() -> None:
    g = LineageGraph()
    g.add_agent("0", value=0.5, note="</script><script>alert(1)</script><!--")
    g.add_agent("0.0", parent="0", value=float("nan"), note="\u2028 & <b>")
    page = explorer_html_for(g, "hostile")

    class Scripts(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.open: str | None = None
            self.found: dict[str, str] = {}

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.open = dict(attrs).get("id") if tag == "script" else None

        def handle_data(self, data: str) -> None:
            if self.open:
                self.found[self.open] = self.found.get(self.open, "") + data

    p = Scripts()
    p.feed(page)
    data = json.loads(p.found["lineage-data"])
    assert data["runs"][0]["text"]["note"] == ["</script><script>alert(1)</script><!--", "\u2028 & <b>"]
    assert data["runs"][0]["numeric"]["value"] == [0.5, None]
    assert "<" not in p.found["lineage-data"]  # so nothing in it can close the element or open another


def test_the_page_is_self_contained() -> None:
    g = LineageGraph()
    g.add_agent("0", value=0.5)
    page = explorer_html_for(g)
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    # plotly.js itself names map-tile servers it would use only for maps; the browser test checks
    # that loading the page fetches nothing. Outside it, no address at all:
    from spawn.explorer import _plotly_js, _script

    rest = page.replace(_script(_plotly_js()), "")
    assert len(rest) < len(page) - 10**6 and "http" not in rest.replace("http-equiv", "")


def _synthetic(n: int) -> LineageGraph:
    rng = np.random.default_rng(5)
    g = LineageGraph()
    g.add_agent("0", value=0.1, cost=0.0)
    ids, kids = ["0"], {"0": 0}
    for _ in range(n - 1):
        p = ids[int(rng.integers(len(ids)))]
        c = f"{p}.{kids[p]}"
        kids[p] += 1
        kids[c] = 0
        ids.append(c)
        g.add_agent(c, parent=p, value=float(rng.random()), cost=float(rng.random()))
    return g


def test_the_page_grows_linearly_with_the_lineage() -> None:
    sizes = {n: len(explorer_html_for(_synthetic(n), rules=["self", "discounted"]).encode()) for n in (500, 1000, 2000)}
    per_agent = [(sizes[1000] - sizes[500]) / 500, (sizes[2000] - sizes[1000]) / 1000]
    assert per_agent[1] == pytest.approx(per_agent[0], rel=0.15)
    assert per_agent[1] < 400  # bytes per agent of 4 numbers and an id: no quadratic part


def test_shapley_is_left_out_of_large_lineages_and_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explorer_data, "SHAPLEY_MAX_AGENTS", 10)
    data = read_page_data(explorer_html_for(_synthetic(12)))
    assert "shapley" not in data["runs"][0]["credit"] and "self" in data["runs"][0]["credit"]
    assert any("shapley" in n for n in data["notes"])
    small = read_page_data(explorer_html_for(_synthetic(8)))
    assert "shapley" in small["runs"][0]["credit"]


def test_a_lineage_file_is_viewed_too(explorer_runs: dict[str, Path], tmp_path: Path) -> None:
    data = _view(explorer_runs["run"] / "lineage.json", tmp_path / "v.html")
    assert data["kind"] == "lineage" and data["runs"][0]["curves"] is None


@pytest.mark.parametrize(
    ("args", "part"),
    [
        (["{tmp}/nothing"], "does not exist"),
        (["{run}", "--output", "{tmp}/v.png"], "must end in .html"),
        (["{run}", "--output", "{tmp}/missing/v.html"], "--output"),
        (["{run}", "--rule", "nonsense"], "nonsense"),
        (["{tmp}"], "holds no lineage.json"),
    ],
)
def test_bad_input_is_one_line_and_nothing_written(
    explorer_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], part: str
) -> None:
    given = [a.format(tmp=tmp_path, run=explorer_runs["run"]) for a in args]
    if "--output" not in given:
        given += ["--output", str(tmp_path / "v.html")]
    assert main(["view", *given]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and part in err[0], err
    assert not list(tmp_path.glob("*.html")) and not list(tmp_path.glob("**/.*.html*"))


def test_a_studys_page_holds_its_runs_and_study_csv(tmp_path: Path) -> None:
    from spawn.experiments.study import selector_study

    from ..helpers import HIRING, config

    cfg = config(
        regime="archive",
        budget=1200,
        envs=[HIRING],
        archive={"batch_size": 2, "child_budget": 300, "root_budget": 600},
        eval={"episodes": 2, "max_steps": 40},
    )
    selector_study(cfg, ["greedy", "hgm"], [1, 2], tmp_path / "s", rules=["self"])
    data = _view(tmp_path / "s", tmp_path / "v.html")
    assert data["kind"] == "study" and len(data["runs"]) == 4
    study = pd.read_csv(tmp_path / "s" / "study.csv")
    for c in data["arms"]["curves"]:
        rows = study[study["selector"] == c["arm"]]
        assert c["spent"] == rows["spent"].tolist() and c["mean"] == pytest.approx(rows["mean"].tolist())
    assert sorted(c["arm"] for c in data["arms"]["curves"]) == sorted(study["selector"].unique())


def test_the_constitutions_rules_are_named(explorer_runs: dict[str, Path], tmp_path: Path) -> None:
    import envs

    (entry,) = _view(explorer_runs["run"], tmp_path / "v.html")["runs"]
    c = envs.make("lineage_sim/Hiring-v0", constitution="default", discrete=True).constitution
    assert entry["constitutions"] == {
        "Hiring-v0": {
            "actions": [r.name for r in c.forbidden_actions],
            "states": [r.name for r in c.forbidden_states],
            "invariances": [r.name for r in c.invariances],
        }
    }
    assert entry["constitutions"]["Hiring-v0"]["invariances"] == ["ignore-protected-attributes", "ignore-age"]
    # each invariance is measured on every agent under the name the page looks it up by
    assert all(v is not None for v in entry["numeric"]["Hiring-v0.invariance.ignore-age"])


def test_frames_become_strict_json() -> None:
    frame = pd.DataFrame(
        {
            "n": [np.int64(3), np.int64(4)],
            "x": [np.float64(0.5), np.nan],
            "s": ["a", None],
            "b": [np.bool_(True), False],
        },
        index=["r1", "r2"],
    )
    out = explorer_data._frame(frame)
    assert out == {"r1": {"n": 3, "x": 0.5, "s": "a", "b": True}, "r2": {"n": 4, "x": None, "s": None, "b": False}}
    json.dumps(out, allow_nan=False)


def test_the_python_api_writes_the_same_page(explorer_runs: dict[str, Path], tmp_path: Path) -> None:
    import spawn

    run = spawn.open_run(explorer_runs["run"])
    written = run.view(tmp_path / "api.html")
    assert main(["view", str(explorer_runs["run"]), "--output", str(tmp_path / "cli.html")]) == 0
    assert written.read_bytes() == (tmp_path / "cli.html").read_bytes()


def test_attributes_narrow_what_is_embedded(
    explorer_runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = explorer_runs["run"]
    full = (tmp_path / "full.html", _view(run, tmp_path / "full.html"))
    (entry,) = _view(run, tmp_path / "small.html", "--attributes", "distance,kind")["runs"]
    assert sorted(entry["numeric"]) == ["distance", "value"] and sorted(entry["text"]) == ["kind"]
    assert entry["numeric"]["distance"] == full[1]["runs"][0]["numeric"]["distance"]
    assert entry["credit"] == full[1]["runs"][0]["credit"]  # the rules still read the value
    assert (tmp_path / "small.html").stat().st_size < full[0].stat().st_size
    capsys.readouterr()
    assert main(["view", str(run), "--output", str(tmp_path / "bad.html"), "--attributes", "distnce"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown attribute 'distnce'" in err[0] and "did you mean 'distance'" in err[0]
    assert not (tmp_path / "bad.html").exists()
