"""The recursive regime: agents decide. Each agent's job trains it, and its own triggers and quota
decide which children it makes; the executor runs every child it returns, recursively, and the
regime keeps the records, the agents born but not yet finished, and the checkpoint entries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage import path_key
from spawn.config import SimConfig
from spawn.life.codec import bad_entry, decode_record, decode_spec, encode, encode_record, encode_spec
from spawn.life.job import AgentRecord, AgentSpec, JobResult, root_spec, suite_for
from spawn.regimes.base import Saver, StopRun
from spawn.runtimes import Executor

__all__ = ["RecursiveState", "StopRun", "decode_entry", "run_recursive"]


@dataclass
class RecursiveState:
    """What a recursive run holds: finished records, agents born and not finished, unsaved entries."""

    records: dict[str, AgentRecord] = field(default_factory=dict)
    waiting: dict[str, AgentSpec] = field(default_factory=dict)  # born, not yet finished
    pending: list[dict[str, Any]] = field(default_factory=list)  # checkpoint entries not yet saved

    def frontier(self) -> list[AgentSpec]:
        return sorted(self.waiting.values(), key=lambda s: path_key(s.id))

    def add(self, result: JobResult) -> None:
        rec = result.record
        entry = encode(
            lambda: {"k": "done", "record": encode_record(rec), "children": [encode_spec(c) for c in result.children]},
            f"agent {rec.id}",
        )
        self._apply(rec, result.children)
        self.pending.append(entry)

    def _apply(self, rec: AgentRecord, children: Sequence[AgentSpec]) -> None:
        self.records[rec.id] = rec
        self.waiting.pop(rec.id, None)
        for child in children:
            if child.id not in self.records:
                self.waiting[child.id] = child

    @classmethod
    def replay(cls, cfg: SimConfig, entries: list[dict[str, Any]], out: Path) -> RecursiveState:
        state = cls()
        slugs = suite_for(cfg).slugs
        try:
            for e in entries:
                result = _decode(cfg, e, slugs)
                state._apply(result.record, result.children)
        except Exception as exc:
            raise bad_entry(out, exc) from None
        return state


def _decode(cfg: SimConfig, e: dict[str, Any], slugs: Sequence[str]) -> JobResult:
    """A checkpoint entry of the recursive regime: an agent's record and the children it made."""
    if e.get("k") != "done" or sorted(e) != ["children", "k", "record"]:
        raise ValueError("not an agent entry of the recursive regime")
    children = tuple(decode_spec(c, (cfg.agent.kind,), slugs) for c in e["children"])
    return JobResult(decode_record(e["record"]), children)


def decode_entry(cfg: SimConfig, entry: dict[str, Any], out: Path) -> JobResult:
    """One checkpoint entry of a recursive run as the job's result it saved (record and children)."""
    try:
        return _decode(cfg, entry, suite_for(cfg).slugs)
    except Exception as exc:
        raise bad_entry(out, exc) from None




def run_recursive(
    cfg: SimConfig,
    writer: Saver,
    executor: Executor,
    state: RecursiveState,
    on_agent: Callable[[JobResult], Any],
    *,
    stop_after: int | None,
    checkpoint_every: float,
    checkpoint_agents: int,
) -> tuple[bool, int]:
    """Run (or continue) a recursive run; returns whether it finished and how many agents it added.

    Results are added as they arrive (the state orders what it keeps); entries are saved at least
    every ``checkpoint_every`` seconds and every ``checkpoint_agents`` agents, and once at the end.
    """
    last_save = time.perf_counter()
    new = 0

    def save() -> None:
        entries, state.pending = state.pending, []
        try:
            writer.save(entries)
        except BaseException:
            state.pending = entries + state.pending
            raise

    def on_result(result: JobResult) -> None:
        nonlocal last_save, new
        if result.record.id in state.records:
            return
        state.add(result)
        new += 1
        on_agent(result)
        now = time.perf_counter()
        if now - last_save >= checkpoint_every or len(state.pending) >= checkpoint_agents:
            save()
            last_save = now
        if stop_after is not None and new >= stop_after:
            raise StopRun

    complete = False
    try:
        executor.run_tree(cfg, state.frontier() if state.records else [root_spec(cfg)], on_result)
        complete = True
    except StopRun:
        pass
    finally:
        save()
    return complete, new
