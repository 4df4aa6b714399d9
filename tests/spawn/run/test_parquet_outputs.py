"""``[output] format``: lineage.parquet and agents.parquet, byte-identical across runs, engines and
resumes, read back by every command; the JSON and CSV files keep their bytes when chosen."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lineage import LineageGraph
from spawn.cli import main
from spawn.config import config_to_toml
from spawn.run.driver import resume, simulate

from ..helpers import config

PARQUET = ("lineage.parquet", "agents.parquet", "phylogeny.csv", "curves.csv", "summary.json", "config.toml")


def _files(out: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in names}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("parquet")
    cfg = config(output={"format": "both"})
    out = {"both": base / "both", "json": base / "json", "parquet": base / "parquet", "cohort": base / "cohort"}
    simulate(cfg, out["both"])
    simulate(config(), out["json"])
    simulate(config(output={"format": "parquet"}), out["parquet"])
    simulate(config(output={"format": "parquet"}, engine="cohort"), out["cohort"])
    return out


def test_format_chooses_the_files_and_json_keeps_its_bytes(runs: dict[str, Path]) -> None:
    assert (runs["json"] / "lineage.json").is_file() and not (runs["json"] / "lineage.parquet").exists()
    assert not (runs["parquet"] / "lineage.json").exists() and not (runs["parquet"] / "agents.csv").exists()
    for name in ("lineage.json", "agents.csv", "phylogeny.csv", "curves.csv", "summary.json"):
        assert (runs["both"] / name).read_bytes() == (runs["json"] / name).read_bytes(), name
    for name in ("lineage.parquet", "agents.parquet"):
        assert (runs["both"] / name).read_bytes() == (runs["parquet"] / name).read_bytes(), name
    assert "[output]" not in (runs["json"] / "config.toml").read_text()
    assert 'format = "parquet"' in (runs["parquet"] / "config.toml").read_text()


def test_parquet_holds_the_lineage_and_the_agents_table(runs: dict[str, Path]) -> None:
    from_json = LineageGraph.load(runs["both"] / "lineage.json")
    assert LineageGraph.load(runs["both"] / "lineage.parquet") == from_json
    csv = pd.read_csv(runs["both"] / "agents.csv", dtype={"id": str, "parent": str})
    table = pd.read_parquet(runs["both"] / "agents.parquet")
    assert list(table.columns) == list(csv.columns)
    assert table["id"].tolist() == csv["id"].tolist()
    for name in ("depth", "value", "train_steps", "budget"):
        assert table[name].tolist() == csv[name].tolist(), name
    assert table["parent"].fillna("").tolist() == csv["parent"].fillna("").tolist()


def test_parquet_bytes_are_the_same_on_the_cohort_engine_and_after_resume(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    want = _files(runs["parquet"], PARQUET)
    outputs = PARQUET[:-1]  # config.toml says which engine ran
    assert _files(runs["cohort"], outputs) == _files(runs["parquet"], outputs)
    cut = tmp_path / "cut"
    assert not simulate(config(output={"format": "parquet"}), cut, stop_after=3).complete
    assert resume(cut).complete
    assert _files(cut, PARQUET) == want


def test_every_command_reads_a_parquet_run(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = runs["parquet"]
    assert main(["inspect", str(run)]) == 0
    assert "agents" in capsys.readouterr().out
    assert main(["compare", str(run), "--rule", "discounted", "--rule", "self"]) == 0
    assert "discounted" in capsys.readouterr().out
    assert main(["export", str(run), "--format", "json", "--output", str(tmp_path / "l.json")]) == 0
    assert (tmp_path / "l.json").read_bytes() == (runs["json"] / "lineage.json").read_bytes()
    assert main(["export", str(run), "--format", "parquet", "--output", str(tmp_path / "l.parquet")]) == 0
    assert (tmp_path / "l.parquet").read_bytes() == (run / "lineage.parquet").read_bytes()
    assert main(["plot", str(run), "--kind", "tree", "--output", str(tmp_path / "t.png")]) == 0
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_a_bad_format_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(config_to_toml(config()) + '\n[output]\nformat = "xml"\n')
    assert main(["run", str(cfg), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'xml'" in err[0] and "'parquet'" in err[0]
    assert not (tmp_path / "o").exists()


def test_the_python_api_opens_a_parquet_run(runs: dict[str, Path]) -> None:
    import spawn

    run = spawn.open_run(runs["parquet"])
    assert run.lineage == LineageGraph.load(runs["json"] / "lineage.json")
    csv = spawn.open_run(runs["json"]).agents
    assert run.agents.index.tolist() == csv.index.tolist()
    assert run.agents["value"].tolist() == csv["value"].tolist()
