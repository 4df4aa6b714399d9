"""The live progress display: its bars and the line of the run's state, as rich renders them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from lineage import LineageGraph
from spawn.run import driver
from spawn.run.driver import simulate
from spawn.run.progress import RunProgress
from spawn.runtimes.inline import InlineExecutor

from ..helpers import config


def _recorded(monkeypatch: pytest.MonkeyPatch) -> list[RunProgress]:
    """Make the driver's progress display render to recording consoles; the displays made."""
    made: list[RunProgress] = []

    def recording(budget: int, enabled: bool = True, **kw: Any) -> RunProgress:
        bar = RunProgress(budget, enabled, console=Console(record=True, width=200, force_terminal=True), **kw)
        made.append(bar)
        return bar

    monkeypatch.setattr(driver, "RunProgress", recording)
    return made


def _text(bar: RunProgress) -> str:
    console = bar.progress.console
    console.print(bar.progress.get_renderable())  # the display as it stood at the end
    return console.export_text()


@pytest.mark.parametrize("regime", ["recursive", "archive"])
def test_the_display_shows_best_value_alive_born_depth_and_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, regime: str
) -> None:
    made = _recorded(monkeypatch)
    extra: dict[str, Any] = {}
    if regime == "archive":
        extra = {"regime": "archive", "selector": "uniform", "caps": {"max_agents": 9},
                 "archive": {"batch_size": 4, "child_budget": 200, "root_budget": 300}}
    simulate(config(**extra), tmp_path / "r", progress=True)
    (bar,) = made
    g = LineageGraph.load(tmp_path / "r" / "lineage.json")
    best = max(g.values("value"))
    depth = max(g.depth(a) for a in g.id_range())
    assert bar.best == best and bar.deepest == depth
    assert bar.born_count == len(g) and bar.finished_count == len(g) and bar.alive() == 0
    assert bar.steps_per_second() > 0 and bar.steps_done == sum(g.values("train_steps"))
    text = _text(bar)
    assert "agents born" in text and "steps spent" in text
    assert f"best value {best:.4g}" in text
    assert f"0 alive of {len(g):,} born" in text
    assert f"generation {depth}" in text
    assert "steps/s" in text and "nodes in use" not in text  # inline: no nodes to tell


def test_a_resumed_run_counts_the_checkpoints_agents_and_only_its_own_speed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _recorded(monkeypatch)
    simulate(config(), tmp_path / "r", stop_after=3, progress=True)
    assert made[0].finished_count == 3 and made[0].alive() >= 1
    driver.resume(tmp_path / "r", progress=True)
    g = LineageGraph.load(tmp_path / "r" / "lineage.json")
    assert made[1].born_count == len(g) and made[1].alive() == 0
    assert made[1].steps_done == sum(g.values("train_steps"))
    assert made[1]._session_steps < made[1].steps_done  # the checkpoint's steps are not this session's speed


class _RayLike(InlineExecutor):
    """An in-process executor that says what a ``ray-*`` runtime says: the nodes agents ran on."""

    name = "ray-test"

    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict[str, int] = {}

    def run_tree(self, cfg: Any, specs: Any, on_result: Any) -> None:
        def counted(result: Any) -> None:
            node = f"node-{len(self.nodes) % 2}"
            self.nodes[node] = self.nodes.get(node, 0) + 1
            on_result(result)

        super().run_tree(cfg, specs, counted)


def test_on_a_ray_runtime_the_display_shows_the_nodes_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _recorded(monkeypatch)
    simulate(config(), tmp_path / "r", _RayLike(), progress=True)
    assert "2 nodes in use" in _text(made[0])


def test_a_disabled_display_still_counts() -> None:
    from spawn.life.spec import AgentRecord

    bar = RunProgress(100, enabled=False)
    with bar:
        bar.born(1)
        bar.finished(AgentRecord("0", None, None, {"value": float("nan")}, 10, 0))
        bar.advance(1, 10)
    assert bar.alive() == 0 and "best value -" in bar.stats().plain
