"""The command line's first face: --help, --version, inspect, export, and one-line errors."""

from __future__ import annotations

import csv
import importlib.metadata
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import newick
import pytest

from lineage import LineageGraph, to_json
from spawn.cli import main

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lineage.json"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    out, err = capsys.readouterr()
    assert info.value.code == 0 and err == ""
    assert out.startswith("usage: lineage-sim")
    assert "inspect" in out and "export" in out and "--version" in out


def test_version_is_the_installed_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    out, _ = capsys.readouterr()
    assert info.value.code == 0
    assert out == f"lineage-sim {importlib.metadata.version('lineage-sim')}\n"


def test_no_command_shows_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run([], capsys)
    assert status == 2 and out.startswith("usage: lineage-sim")


def test_inspect_prints_the_tree_and_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(["inspect", str(EXAMPLE)], capsys)
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("0  value=0.2 distance=0.615 cost=0.143")
    assert any(line.startswith("├── 0.0 ") for line in lines)
    assert any("0.2.1.0.0 new-task  value=0.697" in line for line in lines)
    for row in ("Lineage summary", "agents", "36", "Sackin index", "Colless index", "operator mutate"):
        assert row in out
    assert "0:1 1:3 2:5 3:7 4:10 5:10" in out


def test_inspect_options(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = _run(["inspect", str(EXAMPLE), "--depth", "1", "--attributes", "trials"], capsys)
    assert status == 0
    assert out.splitlines()[0] == "0  trials=20"
    assert "descendants" in out and "0.0.0" not in out

    status, out, _ = _run(["inspect", str(EXAMPLE), "--agent", "0.2.1", "--attributes", ""], capsys)
    assert status == 0
    tree = out.split("Clade of 0.2.1")[0].strip().splitlines()
    tree = tree[tree.index("0.2.1 new-task") :]  # after the agent's record and ancestry tables
    shown = [line.lstrip("│├└─ ").split()[0] for line in tree]
    assert shown == LineageGraph.load(EXAMPLE).clade("0.2.1")
    assert re.search(r"│ agents +│ +5 │", out)  # the summary is the clade's

    status, out, _ = _run(["inspect", str(EXAMPLE), "--max-children", "1"], capsys)
    assert status == 0 and "… 2 more" in out


@pytest.mark.parametrize("fmt", ["json", "graphml", "alife", "newick"])
def test_export_each_format_reads_back(capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"lineage.{fmt}"
    status, out, err = _run(["export", str(EXAMPLE), "--format", fmt, "--output", str(target)], capsys)
    assert status == 0 and out == ""
    assert err == f"wrote {target} ({fmt}, 36 agents)\n"
    original = LineageGraph.load(EXAMPLE)
    if fmt == "json":
        assert LineageGraph.load(target) == original
        assert target.read_text() == EXAMPLE.read_text()
    elif fmt == "graphml":
        assert LineageGraph.from_networkx(nx.read_graphml(target)) == original
    elif fmt == "alife":
        rows = list(csv.DictReader(io.StringIO(target.read_text())))
        assert [r["agent_id"] for r in rows] == original.ids
        assert rows[0]["ancestor_list"] == "[none]" and rows[1]["ancestor_list"] == "[0]"
    else:
        (tree,) = newick.loads(target.read_text().rstrip("\n"))
        edges = {(n.unquoted_name, c.unquoted_name) for n in tree.walk() for c in n.descendants}
        assert edges == set(original.graph.edges)


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    not_json = tmp_path / "not.json"
    not_json.write_text("{oops")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"rows": []}')
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    return {"not_json": not_json, "foreign": foreign, "dir": tmp_path, "a_file": a_file}


BAD = {
    "unknown command": (["frobnicate"], "invalid choice: 'frobnicate'"),
    "unknown option": (["inspect", "{example}", "--colour"], "unrecognized arguments: --colour"),
    "missing path": (["inspect"], "the following arguments are required: path"),
    "missing file": (["inspect", "{tmp}/absent.json"], "absent.json: no such file"),
    "directory": (["inspect", "{tmp}"], "is a directory"),
    "not JSON": (["inspect", "{not_json}"], "not.json: is not valid JSON"),
    "foreign JSON": (["inspect", "{foreign}"], "foreign.json: is not a node-link lineage"),
    "negative depth": (["inspect", "{example}", "--depth", "-1"], "expected a number >= 0, got -1"),
    "depth not a number": (["inspect", "{example}", "--depth", "two"], "expected a whole number, got 'two'"),
    "zero children": (["inspect", "{example}", "--max-children", "0"], "expected a number >= 1, got 0"),
    "unknown agent": (["inspect", "{example}", "--agent", "9.9"], "agent '9.9' is not in"),
    "unknown format": (
        ["export", "{example}", "--format", "xml", "--output", "{tmp}/out.xml"],
        "invalid choice: 'xml'",
    ),
    "missing output": (["export", "{example}", "--format", "json"], "required: --output"),
    "unreadable export source": (
        ["export", "{not_json}", "--format", "json", "--output", "{tmp}/out.json"],
        "is not valid JSON",
    ),
    "output folder missing": (
        ["export", "{example}", "--format", "json", "--output", "{tmp}/no/such/out.json"],
        "does not exist",
    ),
    "output is a directory": (
        ["export", "{example}", "--format", "json", "--output", "{tmp}"],
        "exists and is a folder",
    ),
    "output under a file": (
        ["export", "{example}", "--format", "newick", "--output", "{a_file}/out.nwk"],
        "is not a folder",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_user_errors_are_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bad_files: dict[str, Path], case: str
) -> None:
    argv, message = BAD[case]
    names = {"example": EXAMPLE, "tmp": tmp_path, **bad_files}
    before = sorted(os.listdir(tmp_path))
    status, out, err = _run([arg.format(**names) for arg in argv], capsys)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("lineage-sim")
    assert message in err
    assert "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == before  # nothing written, no temporary left behind


def test_installed_console_script(tmp_path: Path) -> None:
    # The script beside this interpreter first (a venv that is not activated), then PATH.
    search = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    script = shutil.which("lineage-sim", path=search)
    assert script is not None, "the lineage-sim console script is not installed"
    good = subprocess.run(
        [script, "inspect", str(EXAMPLE), "--depth", "2"], capture_output=True, text=True, timeout=60
    )
    assert good.returncode == 0, good.stderr
    assert "Sackin index" in good.stdout and good.stdout.startswith("0  value=0.2")
    absent, output = tmp_path / "absent.json", tmp_path / "o"
    bad = subprocess.run(
        [script, "export", str(absent), "--format", "json", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines() == [f"lineage-sim: error: {absent}: no such file"]
    assert os.listdir(tmp_path) == []
    assert to_json(LineageGraph.load(EXAMPLE)) == EXAMPLE.read_text()
