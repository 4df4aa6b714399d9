"""Every command: --help works, and a bad input is one line on stderr with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from spawn.cli import build_parser, main

#: The documented commands, in the order of the README's table (and of ``lineage-sim --help``).
COMMANDS = [
    "run",
    "resume",
    "inspect",
    "compare",
    "export",
    "plot",
    "view",
    "replay",
    "universal",
    "envs",
    "rules",
    "plugins",
    "limits",
]


def test_every_documented_command_is_registered() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)  # type: ignore[arg-type]


def test_help_lists_the_commands_in_the_documented_order(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    block = out.split("COMMAND\n", 1)[1].split("\n\n")[0]  # each command at column 4, its help after
    listed = [line.split()[0] for line in block.splitlines() if line[4:5] != " "]
    assert listed == COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert f"lineage-sim {command}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "{tmp}/absent.toml", "--out", "{tmp}/o"], "no such config file"),
        (["run"], "required"),
        (["resume", "{tmp}/absent"], "not a run directory"),
        (["inspect", "{tmp}/absent.json"], "no such file"),
        (["compare", "{tmp}/absent", "--rule", "self"], "absent"),
        (["export", "{tmp}/absent.json", "--format", "json", "--output", "{tmp}/x.json"], "no such file"),
        (["plot", "{tmp}/absent", "--kind", "tree", "--output", "{tmp}/x.png"], "absent"),
        (["view", "{tmp}/absent", "--output", "{tmp}/x.html"], "absent"),
        (["replay", "{tmp}/absent", "--agent", "0", "--output", "{tmp}/x.gif"], "absent"),
        (["universal", "--agent", "nobody"], "nobody"),
        (["envs", "NoSuchEnv-v0"], "unknown environment"),
        (["rules", "--colour"], "unrecognized arguments"),
        (["frobnicate"], "invalid choice"),
        (["limits", "--limit", "colour=3"], "unknown limit 'colour'"),
        (["plugins", "{tmp}/absent.toml"], "no such config file"),
        (["plugins", "--kind", "colour"], "unknown extension point 'colour'"),
        (["inspect", "x.json", "--limit", "data_bytes=lots"], "expected a whole number"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    argv: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1 and expected in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


def test_python_dash_m_is_the_same_command_line() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "spawn.cli", "run", "absent.toml", "--out", "o", "--seed", "x"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "--seed" in done.stderr, done.stderr


def test_error_lines_are_shortened_and_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "c.toml", "--out", str(tmp_path / "o"), "--seed", "9" * 5000]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "(5000 characters)" in err and len(err) < 300
    assert main(["inspect", str(tmp_path / "a\x1b]0;pwned\x07\nb.json")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "\x1b" not in err and "\\x1b]0;pwned\\x07\\x0ab.json" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
