"""The argument types every command shares (spawn.cli.args): one message each, wherever they are used."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from spawn.cli import main
from spawn.cli.args import csv_list, probability, whole_number

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lineage.json"


@pytest.mark.parametrize(
    ("lowest", "text", "message"),
    [
        (0, "-1", "expected a number >= 0, got -1"),
        (1, "0", "expected a number >= 1, got 0"),
        (0, "two", "expected a whole number, got 'two'"),
        (0, "1.5", "expected a whole number, got '1.5'"),
        (0, "9" * 31, "expected a whole number of at most 30 digits, got '" + "9" * 20 + "'... (31 characters)"),
        (1, "x" * 5000, "expected a whole number of at most 30 digits, got '" + "x" * 20 + "'... (5000 characters)"),
    ],
)
def test_whole_number_refusals(lowest: int, text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        whole_number(lowest)(text)
    assert str(info.value) == message


def test_whole_number_accepts() -> None:
    assert whole_number(0)("0") == 0 and whole_number(1)(" 7 ") == 7 and whole_number(1)("9" * 30) == 10**30 - 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1", "expected a probability in [0, 1), got 1.0"),
        ("-0.1", "expected a probability in [0, 1), got -0.1"),
        ("nan", "expected a probability in [0, 1), got nan"),
        ("often", "expected a probability in [0, 1), got 'often'"),
    ],
)
def test_probability_refusals(text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        probability(text)
    assert str(info.value) == message


def test_probability_and_csv_list_accept() -> None:
    assert probability("0") == 0.0 and probability("0.999") == 0.999
    assert csv_list("value, cost,,") == ["value", "cost"] and csv_list("") == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inspect", "{example}", "--depth", "-1"], "argument --depth: expected a number >= 0, got -1"),
        (["compare", "{example}", "--rule", "self", "--top", "0"], "argument --top: expected a number >= 1, got 0"),
        (["compare", "{example}", "--rule", "self", "--top", "9" * 5000], "--top: expected a whole number of at most"),
        (["plot", "{example}", "--kind", "tree", "--output", "x.png", "--labels", "-1"], "expected a number >= 0"),
        (["run", "c.toml", "--out", "o", "--seed", "x"], "argument --seed: expected a whole number, got 'x'"),
        (["run", "c.toml", "--out", "o", "--shards", "0"], "argument --shards: expected a number >= 1, got 0"),
        (["resume", "d", "--max-attempts", "none"], "argument --max-attempts: expected a whole number, got 'none'"),
        (["run", "c.toml", "--out", "o", "--kill-prob", "1"], "argument --kill-prob: expected a probability in [0, 1)"),
    ],
)
def test_every_command_refuses_with_the_shared_messages(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.replace("{example}", str(EXAMPLE)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and len(err) < 300, err
