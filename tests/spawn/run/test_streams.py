"""agents.csv, phylogeny.csv and curves.csv written as the run goes: the bytes of the whole-file
writers on the finished lineage, a checkpointed prefix while it runs, the same bytes after resumes."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from lineage import LineageGraph, sort_ids
from spawn.agents.tabular import QAgent
from spawn.run.checkpoint import read_checkpoint
from spawn.run.driver import resume, simulate
from spawn.run.outputs import write_outputs
from spawn.run.streams import STREAMED, streamed_files

from ..helpers import FROZEN, HIRING, config


class LateFailure(QAgent):
    """A plugin agent whose policy raises in one agent's life, well into the run: that agent's record
    brings the ``error`` attribute, which no agent before it has."""

    calls = 0

    def act(self, task: str, obs: Any, mask: Any) -> int:
        type(self).calls += 1
        if type(self).calls == 2500:
            raise RuntimeError("policy failed once")
        return super().act(task, obs, mask)


ARCHIVE: dict[str, Any] = {"regime": "archive", "selector": "uniform", "eval": {"episodes": 1, "max_steps": 30}}
CONFIGS: dict[str, dict[str, Any]] = {
    "recursive": {},
    "recursive-cohort": {"engine": "cohort", "budget": 4000},
    "late-error": {"agent": {"kind": f"{__name__}:LateFailure"}, "faults": {"on_error": "continue-clade"}},
    "archive": ARCHIVE | {"archive": {"batch_size": 3, "child_budget": 300, "root_budget": 300}},
    "archive-parquet": ARCHIVE
    | {"archive": {"batch_size": 2, "child_budget": 300}, "output": {"format": "parquet"}, "envs": [HIRING]},
    "ucb-air": ARCHIVE
    | {
        "selector": "hgm",
        "envs": [FROZEN, FROZEN | {"name": "slippery", "kwargs": {"is_slippery": True}}],
        "archive": {"batch_size": 1, "child_budget": 300, "root_budget": 500, "expand": "ucb-air"},
    },
}


def _whole_files(out: Path, cfg: Any, into: Path) -> tuple[dict[str, bytes], list[str]]:
    """The reference: the run's records from its checkpoint, every file written at once from them;
    and the agents in the order the checkpoint holds them."""
    from spawn.regimes.archive import ArchiveState
    from spawn.regimes.recursive import RecursiveState

    entries, _ = read_checkpoint(out, cfg, cfg.regime)
    grown = None
    if cfg.regime == "archive":
        state = ArchiveState.replay(cfg, entries, out)
        records, grown = state.records, state.lineage(cfg)
    else:
        records = RecursiveState.replay(cfg, entries, out).records
    into.mkdir()
    write_outputs(cfg, into, records, None, grown)
    return {n: (into / n).read_bytes() for n in STREAMED if (into / n).exists()}, list(records)


def _ids(path: Path, column: str) -> list[str]:
    return [row[column] for row in csv.DictReader(io.StringIO(path.read_text()))]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_streamed_files_are_the_whole_file_writers_bytes(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spawn.run import streams

    widened: list[str] = []
    widen = streams._Table._widen

    def spy(self: Any, names: list[str]) -> None:
        widened.append(self.path.name)
        widen(self, names)

    monkeypatch.setattr(streams._Table, "_widen", spy)
    LateFailure.calls = 0
    cfg = config(**CONFIGS[name])
    out = tmp_path / "run"
    simulate(cfg, out, checkpoint_agents=1)  # a save, and rows written, after every agent
    want, saved = _whole_files(out, cfg, tmp_path / "whole")
    files = {"agents.csv", "phylogeny.csv", "curves.csv"} - ({"agents.csv"} if name == "archive-parquet" else set())
    assert set(want) == files
    assert {n: (out / n).read_bytes() for n in want} == want
    if name == "late-error":  # the files were widened for the late attribute: empty above it
        rows = list(csv.DictReader(io.StringIO((out / "agents.csv").read_text())))
        failed = [i for i, r in enumerate(rows) if r["error"]]
        assert len(failed) == 1 and failed[0] > 3 and all(r["error"] == "" for r in rows[: failed[0]])
        assert {"agents.csv", "phylogeny.csv"} <= set(widened)
    if name == "ucb-air":  # measurements change after an agent joins: those two files come at the end
        assert streamed_files(cfg) == ("curves.csv",)
    written = _ids(out / "phylogeny.csv", "agent_id")
    assert sorted(written) == sorted(saved) and len(written) > 5
    kept = LineageGraph.load(out / ("lineage.parquet" if cfg.output.format == "parquet" else "lineage.json"))
    assert kept.ids == written  # the lineage's own order
    if cfg.regime == "archive":  # the order agents joined, which is not lineage-path order
        assert written == saved != sort_ids(saved)
    else:
        assert written == sort_ids(saved)


@pytest.mark.parametrize("name", ["recursive", "archive", "late-error"])
def test_an_interrupted_run_holds_its_checkpointed_rows_and_resumes_to_the_same_bytes(
    name: str, tmp_path: Path
) -> None:
    LateFailure.calls = 0
    cfg = config(**CONFIGS[name])
    simulate(cfg, tmp_path / "full")
    full = {n: (tmp_path / "full" / n).read_bytes() for n in streamed_files(cfg)}
    final_ids = _ids(tmp_path / "full" / "agents.csv", "id")
    out = tmp_path / "cut"
    n = len(final_ids)
    stops = [n // 4, n // 4, n // 4]  # agents added by each command
    assert n >= 8
    LateFailure.calls = 0
    simulate(cfg, out, stop_after=stops[0], checkpoint_agents=1)
    for stop in [*stops[1:], None]:
        entries, _ = read_checkpoint(out, cfg, cfg.regime)
        saved = {e["record"]["id"] for e in entries if "record" in e}
        streamed = _ids(out / "agents.csv", "id")
        # what the files hold: checkpointed agents only, the first of the finished file's order
        assert streamed and set(streamed) <= saved and streamed == final_ids[: len(streamed)]
        assert set(_ids(out / "curves.csv", "id")) == set(streamed)
        assert not (out / "lineage.json").exists()
        resume(out, stop_after=stop, checkpoint_agents=1)
    assert {n: (out / n).read_bytes() for n in full} == full


def test_a_run_tunes_the_collector_and_gives_it_back(tmp_path: Path) -> None:
    """During a run the collector has the run's thresholds and each save freezes what the run holds;
    afterwards (finished or stopped) the thresholds are the caller's and nothing stays frozen."""
    import gc

    from spawn.run.driver import RUN_GC_THRESHOLDS, _SaveThenStream

    seen: list[tuple[tuple[int, int, int], int]] = []
    save = _SaveThenStream.save

    def spy(self: Any, entries: list[dict[str, Any]]) -> None:
        save(self, entries)
        seen.append((gc.get_threshold(), gc.get_freeze_count()))

    before = gc.get_threshold()
    gc.set_threshold(500, 7, 9)
    try:
        _SaveThenStream.save = spy  # type: ignore[method-assign]
        simulate(config(), tmp_path / "a")
        assert gc.get_threshold() == (500, 7, 9) and gc.get_freeze_count() == 0
        simulate(config(), tmp_path / "b", stop_after=2)
        assert gc.get_threshold() == (500, 7, 9) and gc.get_freeze_count() == 0
    finally:
        _SaveThenStream.save = save  # type: ignore[method-assign]
        gc.set_threshold(*before)
    assert seen and all(t == RUN_GC_THRESHOLDS and frozen > 0 for t, frozen in seen)
