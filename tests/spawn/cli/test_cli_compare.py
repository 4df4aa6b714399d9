"""``lineage-sim compare``: output on the example lineage, files it writes, and one-line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
    assert lines[0] == "agent,discounted:gamma=0.5,shapley,cmp" and len(lines) == 37
    assert lines[1].startswith("0,")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "wrote" in err


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
