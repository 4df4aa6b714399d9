"""``Run._repr_html_``: the notebook's summary table and small interactive tree."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import spawn
from lineage import LineageGraph
from spawn.api import Run
from spawn.plots.notebook import TREE_LIMIT, run_html

from .helpers import config


class _Parsed(HTMLParser):
    """Tags, the agents drawn (``data-id``, class, tooltip) and table rows of the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.agents: dict[str, dict[str, str]] = {}
        self.rows: dict[str, str] = {}
        self._agent: str | None = None
        self._text: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._open.append(tag)
        a = {k: v or "" for k, v in attrs}
        if tag == "g" and "data-id" in a:
            self._agent = a["data-id"]
            self.agents[self._agent] = {"class": a.get("class", "")}
        if tag == "circle" and self._agent is not None:
            self.agents[self._agent]["fill"] = a["fill"]
        self._text = []

    def handle_endtag(self, tag: str) -> None:
        assert self._open and self._open[-1] == tag, (self._open[-3:], tag)  # well nested
        self._open.pop()
        text = "".join(self._text)
        if tag == "title" and self._agent is not None:
            self.agents[self._agent]["title"] = text
        if tag == "g":
            self._agent = None
        if tag == "th":
            self._th = text
        if tag == "td":
            self.rows[self._th] = text
        self._text = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def _parse(html: str) -> _Parsed:
    p = _Parsed()
    p.feed(html)
    p.close()
    assert not p._open
    return p


def test_a_run_shows_a_table_and_every_agent_of_a_small_run(tmp_path: Path) -> None:
    run = spawn.simulate(config(), tmp_path / "r")
    assert isinstance(run, Run)
    html = run._repr_html_()
    p = _parse(html)
    assert "script" not in p.tags and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    g = run.lineage
    assert set(p.agents) == set(g.id_range())
    best = run.summary["best_agent"]
    line = {best, *g.ancestors(best)}
    assert {a for a, d in p.agents.items() if d["class"] == "best"} == line
    for a in g.id_range():
        value = g.get(a, "value")
        assert p.agents[a]["title"] == f"{a} · {g.operator(a) or 'root'} · value {value:.4g}"
    assert p.rows["agents"] == str(len(g)) and p.rows["best agent"].startswith(best)
    assert float(p.rows["best value"]) == float(f"{run.summary['best_value']:.4g}")
    assert p.rows["regime"] == "recursive" and p.rows["budget"] == "3,000"
    # coloured by value: the best agent has the top colour, the worst the bottom one
    worst = min(g.id_range(), key=lambda a: g.get(a, "value"))
    if g.get(worst, "value") < run.summary["best_value"]:
        assert p.agents[best]["fill"] == "#fde725" and p.agents[worst]["fill"] == "#440154"


def _big(n: int) -> LineageGraph:
    """A lineage of ``n`` agents, three children an agent, breadth first; the best agent the last."""
    g = LineageGraph()
    g.add_agent("0", value=0.0)
    ids = ["0"]
    for i in range(1, n):
        parent = ids[(i - 1) // 3]
        a = f"{parent}.{(i - 1) % 3}"
        g.add_agent(a, parent=parent, operator="mutate", value=(1.0 if i == n - 1 else i / n / 2))
        ids.append(a)
    return g


def test_a_large_run_is_bounded_and_keeps_the_best_agents_line() -> None:
    g = _big(20_000)
    best = g.id_range()[-1]
    html = run_html(g, {"agents": len(g)})
    p = _parse(html)
    assert len(p.agents) == TREE_LIMIT and len(html) < 150_000
    assert best in p.agents and p.agents[best]["class"] == "best"
    assert {a for a, d in p.agents.items() if d["class"] == "best"} == {best, *g.ancestors(best)}
    assert f"{len(g) - TREE_LIMIT:,} more agents not drawn" in html


def test_a_wide_run_draws_its_best_clades_generations_deep() -> None:
    """A root of 2,000 children (an archive run's uniform draws): not a row of 300 of them, but each
    agent's six children of the best clades, and the tooltip tells how many more it has."""
    g = LineageGraph()
    g.add_agent("0", value=0.0)
    for i in range(2000):
        g.add_agent(f"0.{i}", parent="0", operator="finetune", value=0.1)
        for j in range(3):
            g.add_agent(f"0.{i}.{j}", parent=f"0.{i}", operator="finetune", value=(i * 3 + j) / 10_000)
    p = _parse(run_html(g, {}))
    assert len(p.agents) == TREE_LIMIT
    drawn_children = [a for a in p.agents if a.count(".") == 1]
    assert len(drawn_children) < TREE_LIMIT / 2  # grandchildren drawn too
    assert p.agents["0"]["title"].endswith(f"{2000 - len(drawn_children):,} more children not drawn")
    assert "0.1999.2" in p.agents  # the best, and its line


def test_text_from_a_plugin_is_escaped() -> None:
    g = LineageGraph()
    g.add_agent("0", value=0.1)
    g.add_agent("0.0", parent="0", operator="<b>evil</b>", value=float("nan"))
    facts: dict[str, Any] = {"run directory": "<script>alert(1)</script>"}
    p = _parse(run_html(g, {}, facts=facts))
    assert "script" not in p.tags and "b" not in p.tags
    assert p.agents["0.0"]["title"] == "0.0 · <b>evil</b> · value -" and p.agents["0.0"]["fill"] == "#bbbbbb"
