"""The limits on work and input: defaults, overrides from the command line and from a config."""

from __future__ import annotations

import pytest

from spawn import limits
from spawn.cli import main
from spawn.errors import ConfigError


def test_defaults_overrides_and_config_precedence() -> None:
    assert limits.get("config_bytes") == limits.LIMITS["config_bytes"].default
    with limits.overridden(["config_bytes=10"]):
        assert limits.get("config_bytes") == 10
        assert limits.get("config_bytes", {"config_bytes": 20}) == 20  # a run's [limits] wins
    assert limits.get("config_bytes") == limits.LIMITS["config_bytes"].default


@pytest.mark.parametrize("pair", ["config_bytes", "config_bytes=0", "config_bytes=-1", "config_bytes=1.5", "x=1"])
def test_bad_overrides_are_refused(pair: str) -> None:
    with pytest.raises(ConfigError, match="--limit"):
        limits.parse_overrides([pair])


def test_check_names_the_estimate_and_how_to_raise_it() -> None:
    limits.check("config_bytes", 10, "ok")
    with pytest.raises(limits.LimitError, match=r"2,000,000 bytes of a config file.*--limit config_bytes=N"):
        limits.check("config_bytes", 2_000_000, "big.toml")


def test_the_limits_command_lists_every_limit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["limits", "--limit", "data_bytes=7"]) == 0
    out = capsys.readouterr().out
    for name in limits.LIMITS:
        assert name in out
    assert limits.get("data_bytes") == 7
    limits.set_overrides([])
