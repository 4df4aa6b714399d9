"""``lineage-sim compare``: output on the example lineage, files it writes, and one-line errors."""

from __future__ import annotations

import csv as csvlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from attribution import attribution_csv
from lineage import LineageGraph
from spawn.cli import main

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lineage.json"


def test_compare_on_a_lineage_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    csv, png = tmp_path / "credit.csv", tmp_path / "credit.png"
    status = main(
        [
            "compare",
            str(EXAMPLE),
            "--rule",
            "discounted:gamma=0.5",
            "--rule",
            "shapley",
            "--rule",
            "cmp",
            "--csv",
            str(csv),
            "--plot",
            str(png),
            "--top",
            "3",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0
    assert "36 agents; rules: discounted:gamma=0.5, shapley, cmp" in out
    assert "who comes first" in out and "rank correlation (Kendall tau)" in out
    assert "alignment tax (multiplicative): best raw value 0.6966 (0.2.1.0.0)" in " ".join(out.split())
    assert "Monte Carlo over 1000 orderings" in " ".join(out.split())
    lines = csv.read_text().splitlines()
    assert lines[0] == (
        "agent,discounted:gamma=0.5,shapley,cmp,"
        "liability[discounted:gamma=0.5],liability[shapley],liability[cmp]"
    )
    assert len(lines) == 37
    assert lines[1].startswith("0,") and lines[1].endswith(",0,0,0")  # liability=0: nothing charged
    # the credit columns are the bytes a run's attribution.csv has for these rules
    old = attribution_csv(LineageGraph.load(EXAMPLE), ["discounted:gamma=0.5", "shapley", "cmp"]).splitlines()
    assert [",".join(r[:4]) for r in csvlib.reader(lines)] == [",".join(r) for r in csvlib.reader(old)]
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "wrote" in err


def test_compare_reports_liability_in_the_table_the_csv_and_the_json(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # wide enough that no column name is folded
    csv, js = tmp_path / "credit.csv", tmp_path / "credit.json"
    rules = ["best-descendant:liability=1", "discounted:gamma=0.5,liability=2,penalty=distance", "self"]
    args = ["compare", str(EXAMPLE), "--csv", str(csv), "--json", str(js), "--top", "2"]
    assert main([*args, *(x for r in rules for x in ("--rule", r))]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "and the liability each rule subtracted" in out
    assert "liability[best-descendant:liability=1.0]" in out and "liability[self]" in out
    g = LineageGraph.load(EXAMPLE)
    clade_cost = sum(float(g.attributes(a)["cost"]) for a in g)
    rows = list(csvlib.DictReader(csv.open(newline="")))
    assert list(rows[0]) == [
        "agent",
        "best-descendant:liability=1.0",
        "discounted:gamma=0.5,liability=2.0,penalty=distance",
        "self",
        "liability[best-descendant:liability=1.0]",
        "liability[discounted:gamma=0.5,liability=2.0,penalty=distance]",
        "liability[self]",
    ]
    root = rows[0]
    assert root["agent"] == "0" and float(root["liability[best-descendant:liability=1.0]"]) == pytest.approx(
        clade_cost
    )
    assert float(root["best-descendant:liability=1.0"]) == pytest.approx(0.6966 - clade_cost)
    assert root["liability[self]"] == "0"
    doc = json.loads(js.read_text())
    assert doc["rules"] == [
        "best-descendant:liability=1.0",
        "discounted:gamma=0.5,liability=2.0,penalty=distance",
        "self",
    ]
    assert len(doc["table"]) == 36 and doc["table"][0]["agent"] == "0"
    assert doc["table"][0]["liability[best-descendant:liability=1.0]"] == pytest.approx(clade_cost)
    for rec, row in zip(doc["table"], rows, strict=True):  # the same rows as the CSV
        assert rec["agent"] == row["agent"]
        for k, v in row.items():
            if k != "agent":
                assert (rec[k] is None and v == "") or rec[k] == pytest.approx(float(v), rel=1e-11)
    assert doc["leaders"]["self"]["liability"] == 0.0
    assert set(doc["leaders"]["best-descendant:liability=1.0"]) == {"agent", "credit", "gini", "liability"}
    assert doc["alignment_tax"]["raw_best_agent"] == "0.2.1.0.0"
    assert doc["lineage"] == str(EXAMPLE)


def test_a_missing_penalty_attribute_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    js = tmp_path / "x.json"
    assert main(["compare", str(EXAMPLE), "--rule", "self:liability=1,penalty=violations", "--json", str(js)]) == 2
    err = capsys.readouterr().err
    assert "self: penalty='violations' is not a numeric attribute of the lineage" in err
    assert "numeric attributes: birth_time, cost, distance, successes, trials, value" in err
    assert err.count("\n") == 1 and not js.exists()


def test_compare_on_a_run_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "lineage.json")
    assert main(["compare", str(tmp_path), "--rule", "self"]) == 0
    assert "36 agents; rules: self" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rule", "discountd"], "unknown rule 'discountd'; known rules: self, discounted"),
        (["--rule", "discounted:gamma=2"], "discounted: gamma must be a number in [0, 1], got 2"),
        (["--rule", "self", "--rule", "self"], "rule 'self' is given twice"),
        (["--rule", "self:liability=0", "--rule", "self"], "rule 'self' is given twice"),
        (["--rule", "self:liability=-1"], "self: liability must be a finite number >= 0, got -1"),
        (
            ["--rule", "self", "--json", "same.csv", "--csv", "same.csv"],
            "--csv and --json name the same file 'same.csv'",
        ),
        (
            ["--rule", "self", "--csv", "/no/such/folder/x.csv"],
            "--csv /no/such/folder/x.csv: its folder '/no/such/folder' does not exist",
        ),
        ([], "the following arguments are required: --rule"),
    ],
)
def test_errors_are_one_line_and_write_nothing(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_csv = tmp_path / "x.csv"
    extra = [] if "--csv" in args else ["--csv", str(out_csv)]
    status = main(["compare", str(EXAMPLE), *args, *extra])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out_csv.exists()


def test_missing_run_and_directory_without_lineage(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["compare", str(tmp_path / "nope"), "--rule", "self"]) == 2
    assert "does not exist; give a run directory or a lineage file" in capsys.readouterr().err
    assert main(["compare", str(tmp_path), "--rule", "self"]) == 2
    assert "is a directory without a lineage.json" in capsys.readouterr().err


def test_bad_data_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('"distance": 0.6151', '"distance": -1.0', 1)
    (tmp_path / "lineage.json").write_text(text)
    png = tmp_path / "p.png"
    assert (
        main(["compare", str(tmp_path), "--rule", "self:transform=multiplicative", "--plot", str(png)]) == 2
    )
    assert "agent '0' has distance=-1.0" in capsys.readouterr().err
    assert not png.exists()


# ---------------------------------------------------------------------- compare on a sweep directory


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ..experiments.test_compare_sweep import make_sweep

    return make_sweep(tmp_path_factory.mktemp("cli-compare-sweep"))


def _strict_json(path: Path) -> dict[str, Any]:
    def refuse(name: str) -> None:
        raise AssertionError(f"not strict JSON: {name}")

    doc: dict[str, Any] = json.loads(path.read_text(), parse_constant=refuse)
    return doc


def test_compare_on_a_sweep_aggregates_over_seeds_per_arm(
    sweep: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spawn.experiments.compare_sweep import STATISTIC_COLUMNS, compare_sweep

    monkeypatch.setenv("COLUMNS", "300")
    csv, js = tmp_path / "sweep.csv", tmp_path / "sweep.json"
    rules = ["self", "discounted:gamma=0.5"]
    args = ["compare", str(sweep), "--csv", str(csv), "--json", str(js)]
    assert main([*args, *(x for r in rules for x in ("--rule", r))]) == 0
    out, err = capsys.readouterr()
    assert f"{sweep}: sweep of 2 arms, 4 runs; rules: self, discounted:gamma=0.5" in out
    for arm in ("objective=raw", "objective=penalised"):
        assert out.count(arm) == 5  # one row in each of the five tables
    for title in ("root credit per rule", "Gini", "Kendall tau", "predicts later best", "alignment tax"):
        assert title in out
    assert "Student-t 95% interval" in " ".join(out.split()) and "percentile bootstrap" in " ".join(out.split())
    assert "wrote" in err and "Traceback" not in err
    expected = compare_sweep(sweep, rules)
    mean, lo, hi = expected.interval("objective=raw", "root_credit", "self")
    assert f"{mean:.4g} [{lo:.4g}, {hi:.4g}]" in out

    rows = list(csvlib.DictReader(csv.open(newline="")))
    assert list(rows[0]) == list(STATISTIC_COLUMNS)
    # per arm: 3 statistics per rule, one pair of rules, the tax and the relative tax
    assert len(rows) == 2 * (3 * 2 + 1 + 2)
    root = next(r for r in rows if (r["arm"], r["rule"], r["statistic"]) == ("objective=raw", "self", "root_credit"))
    assert (float(root["mean"]), float(root["lo"]), float(root["hi"])) == pytest.approx((mean, lo, hi))
    assert root["n_seeds"] == "2" and root["method"] == "t"
    assert {r["method"] for r in rows if r["statistic"] == "relative_alignment_tax"} == {"bootstrap"}

    doc = _strict_json(js)
    assert doc["sweep"] == str(sweep) and doc["rules"] == rules
    assert [a["arm"] for a in doc["arms"]] == ["objective=raw", "objective=penalised"]
    assert len(doc["statistics"]) == len(rows) and len(doc["per_seed"]) == 2 * 2 * (3 * 2 + 1 + 2)
    for rec, row in zip(doc["statistics"], rows, strict=True):  # the same rows as the CSV
        assert [rec["arm"], rec["rule"], rec["statistic"]] == [row["arm"], row["rule"], row["statistic"]]
        for k in ("mean", "lo", "hi"):
            assert (rec[k] is None and row[k] == "") or rec[k] == pytest.approx(float(row[k]), rel=1e-11)


def test_compare_on_a_one_seed_sweep_shows_no_interval(
    sweep: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from ..experiments.test_compare_sweep import one_seed_copy

    one = one_seed_copy(sweep, tmp_path / "one")
    js = tmp_path / "one.json"
    assert main(["compare", str(one), "--rule", "self", "--json", str(js)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "sweep of 2 arms, 2 runs" in out and "no interval for an arm with one seed" in out
    doc = _strict_json(js)
    assert all(r["lo"] is None and r["hi"] is None and r["n_seeds"] <= 1 for r in doc["statistics"])


def test_compare_on_a_bad_sweep_is_one_line_and_writes_nothing(
    sweep: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(sweep, broken)
    (broken / "objective=raw" / "seed-1" / "lineage.json").unlink()
    out_csv = tmp_path / "x.csv"
    cases = [
        ([str(broken), "--rule", "self"], "the run objective=raw/seed-1 is missing (no lineage.json)"),
        ([str(sweep), "--rule", "selff"], "unknown rule 'selff'"),
        ([str(sweep), "--rule", "discounted:gamma=2"], "discounted: gamma must be a number in [0, 1], got 2"),
        ([str(sweep), "--rule", "self", "--plot", str(tmp_path / "p.png")], "--plot draws one lineage"),
    ]
    for args, message in cases:
        assert main(["compare", *args, "--csv", str(out_csv)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
        assert not out_csv.exists() and not (tmp_path / "p.png").exists()
