"""The shipped example lineage: size, generations, the attributes attribution reads, reproducibility."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from lineage import LineageGraph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ATTRIBUTION_INPUTS = ("value", "successes", "trials", "distance", "cost")


def test_example_lineage_is_a_few_dozen_agents_over_several_generations() -> None:
    g = LineageGraph.load(EXAMPLES / "lineage.json")
    assert 24 <= len(g) <= 80
    s = g.summary()
    assert s["roots"] == 1 and s["max_depth"] >= 4
    assert all(count > 0 for count in s["depth_distribution"].values())
    assert len(s["operators"]) >= 3


def test_every_agent_carries_what_attribution_reads() -> None:
    g = LineageGraph.load(EXAMPLES / "lineage.json")
    for agent in g:
        attrs = g.attributes(agent)
        assert set(ATTRIBUTION_INPUTS) <= set(attrs), agent
        assert isinstance(attrs["successes"], int) and isinstance(attrs["trials"], int)
        assert 0 <= attrs["successes"] <= attrs["trials"]
        assert 0.0 <= attrs["value"] <= 1.0
        assert attrs["distance"] >= 0.0 and attrs["cost"] >= 0.0
        if g.parent(agent) is not None:
            assert g.operator(agent) is not None
            assert attrs["birth_time"] > g.attributes(g.parent(agent))["birth_time"]  # type: ignore[arg-type]


def test_the_generator_writes_the_same_bytes() -> None:
    spec = importlib.util.spec_from_file_location("make_lineage", EXAMPLES / "make_lineage.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from lineage import to_json

    assert to_json(module.make()) == (EXAMPLES / "lineage.json").read_text()
