"""Ctrl-C that lands inside a library which wraps it (pydantic's serializer turns it into
``PydanticSerializationError: ... KeyboardInterrupt``) interrupts the run: exit 130 and a saved
checkpoint, never an agent failure with exit 2 (seen once in CI on the SIGINT checkpoint test)."""

from __future__ import annotations

import pytest

from spawn.errors import AgentFailedError
from spawn.life.job import Life, _interrupted, root_spec, run_agent

from ..helpers import config


def test_a_wrapped_interrupt_is_recognised() -> None:
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:
            raise ValueError("while serialising") from inner
    except ValueError as exc:
        assert _interrupted(exc)
    assert _interrupted(RuntimeError("Error calling function `_dump`: KeyboardInterrupt: "))
    assert not _interrupted(ValueError("a bad observation"))


def test_run_agent_raises_the_interrupt_and_still_records_real_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config(faults={"on_error": "fail"})

    def interrupted(self: Life) -> None:
        raise RuntimeError("Error serializing to JSON: Error calling function `_dump`: KeyboardInterrupt: ")

    monkeypatch.setattr(Life, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_agent(root_spec(cfg), cfg)

    def broken(self: Life) -> None:
        raise ValueError("a bad observation")

    monkeypatch.setattr(Life, "train", broken)
    with pytest.raises(AgentFailedError, match="a bad observation"):
        run_agent(root_spec(cfg), cfg)
