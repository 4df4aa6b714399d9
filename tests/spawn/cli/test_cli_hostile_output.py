"""inspect, export, compare and plot on hostile input: ids that hold escape sequences, outputs that are
not regular files, data files that are not files or are too large; each refusal is one line, exit 2,
and nothing written."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from lineage import LineageGraph
from spawn.cli import main

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lineage.json"
HOSTILE = ["\x1b]0;pwned\x07", "\x1b[2J", "\r", "[bold]x", "\x9b31m", "a\nb", "\u202eevil", "\x00", "$\\frac{$"]
CONTROL = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\n"} | {"\u2028", "\u2029", "\u202e"}


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def _clean(text: str) -> bool:
    return not (set(text) & CONTROL)


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """20 agents; 8 of them with hostile ids, one holding "\r"; hostile attribute and operator names."""
    g = LineageGraph(note="\x1b]0;meta\x07")
    ids = [*HOSTILE, *(f"n{k}" for k in range(20 - len(HOSTILE)))]
    for k, a in enumerate(ids):
        parent = ids[(k - 1) // 2] if k else None
        g.add_agent(
            a,
            parent=parent,
            operator=HOSTILE[k % len(HOSTILE)] if parent else None,
            value=2.0 if "$" in a else k / 20,  # the "$" id is the best: labelled in every plot
            distance=0.1 * k,
            birth_time=k,
            **{"\x1b[31mred": 1.0, "[red]tag": HOSTILE[k % len(HOSTILE)]},
        )
    path = tmp_path / "hostile.json"
    g.save(path)
    return path


def test_inspect_shows_no_control_characters(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(["inspect", str(hostile), "--attributes", "value,\x1b[31mred,[red]tag"], capsys)
    assert status == 0 and err == ""
    assert _clean(out), repr(out)
    assert "\\x1b]0;pwned\\x07" in out and "[bold]x" in out  # shown escaped, markup shown as text
    for agent in HOSTILE:
        status, out, err = _run(["inspect", str(hostile), "--agent", agent], capsys)
        assert status == 0 and _clean(out) and _clean(err), (agent, out)
        assert "Ancestry of" in out


def test_error_lines_that_echo_ids_and_paths_are_escaped(
    hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(["inspect", str(hostile), "--agent", "\x1b]0;other\x07"], capsys)
    assert status == 2 and out == "" and err.count("\n") == 1 and _clean(err)
    assert "is not in" in err
    status, out, err = _run(["inspect", str(tmp_path / "\x1b[2Jabsent.json")], capsys)
    assert status == 2 and err.count("\n") == 1 and _clean(err) and "\\x1b[2Jabsent.json: no such file" in err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nodes": [{"id": "\x1b]0;x\x07"}, {"id": "\x1b]0;x\x07"}]}))
    status, out, err = _run(["inspect", str(bad)], capsys)
    assert status == 2 and err.count("\n") == 1 and _clean(err) and "appears twice" in err


def test_compare_shows_no_control_characters_and_its_csv_reads_back(
    hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "credit.csv"
    status, out, err = _run(
        ["compare", str(hostile), "--rule", "self", "--rule", "discounted:gamma=0.5", "--csv", str(target)], capsys
    )
    assert status == 0 and _clean(out) and _clean(err), repr(out)
    text = target.read_bytes().decode("utf-8")
    ids = sorted(LineageGraph.load(hostile).ids)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 21 and sorted(r[0] for r in rows[1:]) == ids  # 20 agents, not 21
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert len(frame) == 20 and sorted(frame["agent"]) == ids


@pytest.mark.parametrize("fmt", ["json", "graphml", "alife", "newick"])
def test_export_of_hostile_ids_reads_back(
    fmt: str, hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import networkx as nx
    import newick

    from lineage.text import unescape

    target = tmp_path / f"out.{fmt}"
    status, _, err = _run(["export", str(hostile), "--format", fmt, "--output", str(target)], capsys)
    assert status == 0 and _clean(err)
    g = LineageGraph.load(hostile)
    if fmt == "json":
        assert LineageGraph.load(target) == g
    elif fmt == "graphml":
        assert LineageGraph.from_networkx(nx.read_graphml(target)) == g
    elif fmt == "alife":
        text = target.read_bytes().decode("utf-8")
        assert [r["agent_id"] for r in csv.DictReader(io.StringIO(text, newline=""))] == g.ids
        assert pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)["agent_id"].tolist() == g.ids
    else:
        text = target.read_text()
        assert text.count("\n") == 1
        (tree,) = newick.loads(text.rstrip("\n"))
        edges = {(unescape(n.unquoted_name), unescape(c.unquoted_name)) for n in tree.walk() for c in n.descendants}
        assert edges == set(g.graph.edges)


@pytest.mark.parametrize("kind", ["tree", "compare", "generations"])
def test_plot_draws_hostile_ids(kind: str, hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # "$\frac{$" would be read as mathtext (a traceback) if ids reached matplotlib unescaped
    target = tmp_path / f"{kind}.png"
    status, _, err = _run(["plot", str(hostile), "--kind", kind, "--output", str(target)], capsys)
    assert status == 0 and _clean(err), err
    assert target.read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------------------------ outputs


@pytest.fixture
def places(tmp_path: Path) -> dict[str, str]:
    """Outputs that must be refused; the FIFO, the symlink and its target must be left as they are."""
    (tmp_path / "target.txt").write_text("keep me")
    os.symlink(tmp_path / "target.txt", tmp_path / "link.out")
    os.mkfifo(tmp_path / "fifo.out")
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "folder.out").mkdir()
    return {
        "symlink": str(tmp_path / "link.out"),
        "dev-null": "/dev/null",
        "fifo": str(tmp_path / "fifo.out"),
        "folder": str(tmp_path / "folder.out"),
        "under a file": str(tmp_path / "a-file" / "x.out"),
        "missing folder": str(tmp_path / "no" / "such" / "x.out"),
        "proc": "/proc/x.out",
    }


MESSAGES = {
    "symlink": "exists and is a symbolic link",
    "dev-null": "exists and is a device",
    "fifo": "exists and is a FIFO",
    "folder": "exists and is a folder",
    "under a file": "is not a folder",
    "missing folder": "does not exist",
    "proc": "no file can be written in '/proc'",
}


def _commands(out: str, example: str) -> dict[str, list[str]]:
    png = out + ".png" if out.endswith(".out") else out  # plot also wants a .png name
    return {
        "export": ["export", example, "--format", "json", "--output", out],
        "plot": ["plot", example, "--kind", "tree", "--output", png],
        "compare --csv": ["compare", example, "--rule", "self", "--csv", out],
        "compare --plot": ["compare", example, "--rule", "self", "--plot", out],
    }


def _state(tmp_path: Path) -> dict[str, object]:
    return {
        "files": sorted(os.listdir(tmp_path)),
        "target": (tmp_path / "target.txt").read_text(),
        "link": os.path.islink(tmp_path / "link.out"),
    }


@pytest.mark.parametrize("place", list(MESSAGES))
@pytest.mark.parametrize("command", ["export", "plot", "compare --csv", "compare --plot"])
def test_outputs_that_are_not_regular_files_are_refused_before_any_work(
    place: str, command: str, places: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = places[place]
    argv = _commands(out, str(EXAMPLE))[command]
    if command == "plot" and place in ("symlink", "fifo", "folder"):
        # the same kinds of thing, named .png
        target = argv[-1]
        if place == "symlink":
            os.symlink(tmp_path / "target.txt", target)
        elif place == "fifo":
            os.mkfifo(target)
        else:
            os.mkdir(target)
    before = _state(tmp_path)
    status, stdout, err = _run(argv, capsys)
    assert status == 2, err
    assert stdout == "" and err.count("\n") == 1 and "Traceback" not in err
    assert MESSAGES[place] in err, err
    assert _state(tmp_path) == before  # nothing written, nothing replaced, no temporary left


def test_compare_checks_every_output_before_writing_any(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = tmp_path / "ok.csv"
    (tmp_path / "bad").write_text("a file, not a folder")
    for plot in (tmp_path / "bad" / "x.png", tmp_path / "missing" / "x.png", Path("/proc/x.png")):
        argv = ["compare", str(EXAMPLE), "--rule", "self", "--csv", str(ok), "--plot", str(plot)]
        status, out, err = _run(argv, capsys)
        assert status == 2 and out == "" and err.count("\n") == 1 and "--plot" in err, err
        assert sorted(os.listdir(tmp_path)) == ["bad"]  # ok.csv not written either


# ------------------------------------------------------------------------------ data files


@pytest.fixture
def data_files(tmp_path: Path) -> dict[str, str]:
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "digits.json").write_text('{"nodes": [{"id": ' + "7" * 5000 + "}]}")
    (tmp_path / "attr.json").write_text('{"nodes": [{"id": "a", "v": ' + "[" * 100_000 + "]" * 100_000 + "}]}")
    (tmp_path / "huge-int.json").write_text('{"nodes": [{"id": "a", "v": 1' + "0" * 4000 + "}]}")
    return {
        "fifo": str(tmp_path / "fifo.json"),
        "dev-zero": "/dev/zero",
        "folder-without-lineage": str(tmp_path),
        "deep": str(tmp_path / "deep.json"),
        "digits": str(tmp_path / "digits.json"),
        "attr": str(tmp_path / "attr.json"),
        "huge-int": str(tmp_path / "huge-int.json"),
    }


DATA_MESSAGES = {
    "fifo": "is a FIFO",
    "dev-zero": "is a device",
    "folder-without-lineage": "without",
    "deep": "nested too deeply",
    "digits": "integer too long",
    "attr": "nested too deeply",
    "huge-int": "too large for a float",
}


@pytest.mark.parametrize("case", list(DATA_MESSAGES))
@pytest.mark.parametrize("command", ["inspect", "export", "compare", "plot"])
def test_hostile_data_files_are_one_line(
    case: str, command: str, data_files: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = data_files[case]
    out = tmp_path / "out"
    out.mkdir()
    argv = {
        "inspect": ["inspect", src],
        "export": ["export", src, "--format", "newick", "--output", str(out / "x.nwk")],
        "compare": ["compare", src, "--rule", "self", "--csv", str(out / "x.csv")],
        "plot": ["plot", src, "--kind", "tree", "--output", str(out / "x.png")],
    }[command]
    status, stdout, err = _run(argv, capsys)
    assert status == 2 and stdout == "" and err.count("\n") == 1 and "Traceback" not in err, err
    # plot recognises what a path holds first: a FIFO or a device is "no run" to it
    assert DATA_MESSAGES[case] in err or (
        (case == "folder-without-lineage" or command == "plot") and "no lineage.json" in err
    ) or (case == "folder-without-lineage" and "is a folder" in err), err
    assert os.listdir(out) == []


@pytest.mark.parametrize("command", ["inspect", "export", "compare", "plot"])
def test_data_files_over_the_limit_are_refused_and_the_limit_can_be_raised(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    size = EXAMPLE.stat().st_size
    argv = {
        "inspect": ["inspect", str(EXAMPLE)],
        "export": ["export", str(EXAMPLE), "--format", "json", "--output", str(tmp_path / "x.json")],
        "compare": ["compare", str(EXAMPLE), "--rule", "self"],
        "plot": ["plot", str(EXAMPLE), "--kind", "tree", "--output", str(tmp_path / "x.png")],
    }[command]
    status, out, err = _run([*argv, "--limit", "data_bytes=1000"], capsys)
    assert status == 2 and out == "" and err.count("\n") == 1
    assert f"is {size} bytes, over the limit of 1000 bytes" in err and "--limit data_bytes=N" in err
    assert os.listdir(tmp_path) == []
    status, _, err = _run([*argv, "--limit", f"data_bytes={size}"], capsys)
    assert status == 0, err


def test_compare_refuses_a_shapley_sample_count_over_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(["compare", str(EXAMPLE), "--rule", "shapley:samples=1000000000"], capsys)
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "shapley_samples" in err


def test_inspect_of_a_20000_deep_chain_prints_a_few_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = LineageGraph()
    g.add_agent("a0", value=0.0)
    for i in range(1, 20_000):
        g.add_agent(f"a{i}", parent=f"a{i - 1}", operator="mutate", value=i / 20_000)
    path = tmp_path / "chain.json"
    g.save(path)
    status, out, _ = _run(["inspect", str(path)], capsys)
    assert status == 0
    lines = out.splitlines()
    assert len(lines) < 40 and max(len(line) for line in lines) <= 80
    assert "19997 agents in a line of descent" in " ".join(out.split())
    assert "a19999 mutate" in out and "0:1 1:1" in out and "(19976 depths)" in out
    status, out, _ = _run(["inspect", str(path), "--agent", "a19000"], capsys)
    assert status == 0 and len(out.splitlines()) < 80 and "… 18981 agents" in out
