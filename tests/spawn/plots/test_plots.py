"""``lineage-sim plot``: every kind from runs, lineage files, sweeps and studies; bad input refused."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from lineage import LineageGraph
from spawn.cli import main
from spawn.plots import plot_compare, plot_generations, plot_tree, save_figure

RUN = """seed = 1
budget = 2400
[[envs]]
id = "lineage_sim/Hiring-v0"
kwargs = { discrete = true }
constitution = "default"
[spawn]
round_steps = 200
triggers = ["schedule"]
every = 1
min_child_budget = 200
[eval]
episodes = 2
max_steps = 40
"""

SWEEP = """seed = 1
budget = 1200
regime = "archive"
selector = "greedy"
[[envs]]
id = "lineage_sim/Hiring-v0"
kwargs = { discrete = true }
constitution = "default"
[archive]
batch_size = 2
child_budget = 200
root_budget = 400
[eval]
episodes = 2
max_steps = 40
[sweep]
selector = ["greedy", "hgm"]
seeds = [1, 2]
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A recursive run and a sweep of archive selectors, made once (a few seconds)."""
    root = tmp_path_factory.mktemp("plots")
    for name, text in (("run", RUN), ("sweep", SWEEP)):
        (root / f"{name}.toml").write_text(text)
        assert main(["run", str(root / f"{name}.toml"), "--out", str(root / name), "--quiet"]) == 0
    study = root / "study"
    study.mkdir()
    (study / "study.csv").write_text(
        "selector,spent,mean,lo,hi,n\n"
        "greedy,400,0.5,0.4,0.6,2\ngreedy,800,0.55,0.45,0.65,2\n"
        "hgm,400,0.5,0.4,0.6,2\nhgm,800,0.6,0.5,0.7,2\n"
    )
    return {"run": root / "run", "sweep": root / "sweep", "study": study, "root": root}


def _png_shape(path: Path) -> tuple[int, int]:
    assert path.is_file() and path.stat().st_size > 0
    img = imread(path)
    assert img.ndim == 3 and float(np.ptp(img[..., :3])) > 0  # something is drawn
    return img.shape[1], img.shape[0]  # width, height


@pytest.mark.parametrize(
    ("target", "args", "size"),
    [
        ("run", ["--kind", "tree"], (1200, 700)),
        ("run", ["--kind", "tree", "--rule", "discounted:gamma=0.7"], (1200, 700)),
        ("run", ["--kind", "tree", "--attribute", "distance", "--labels", "0"], (1200, 700)),
        ("run/lineage.json", ["--kind", "tree"], (1200, 700)),
        ("run", ["--kind", "generations"], (1300, 930)),  # value, distance, cost, hidden performance
        ("run", ["--kind", "generations", "--attribute", "value"], (650, 490)),
        ("run", ["--kind", "compare"], (1800, 1060)),  # four rules and the heatmap
        ("run/lineage.json", ["--kind", "compare", "--rule", "self", "--rule", "cmp"], (1800, 560)),
        ("sweep", ["--kind", "tree"], (1200, 560)),  # one panel per arm
        ("sweep", ["--kind", "generations"], (1300, 930)),
        ("sweep", ["--kind", "selection"], (1000, 600)),
        ("sweep/selector=hgm/seed-1", ["--kind", "selection"], (1000, 600)),  # one archive run
        ("study", ["--kind", "selection"], (1000, 600)),
        ("run", ["--kind", "curves"], (1300, 1140)),  # return, cost, violations, lagrange, epsilon
        ("run", ["--kind", "curves", "--agent", "0"], (1300, 1140)),
        ("run/lineage.json", ["--kind", "curves", "--agent", "0.0"], (1300, 1140)),  # curves.csv beside it
        ("sweep/selector=hgm/seed-1", ["--kind", "curves"], (1300, 1140)),  # an archive run
    ],
)
def test_each_kind_writes_a_png_of_the_expected_size(
    runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    target: str,
    args: list[str],
    size: tuple[int, int],
) -> None:
    out = tmp_path / "p.png"
    source = runs["root"] / target
    assert main(["plot", str(source), *args, "--output", str(out)]) == 0
    assert _png_shape(out) == size
    assert "wrote" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]  # no temporary file left behind


BAD = [
    (["plot", "{root}/nowhere", "--kind", "tree"], "does not exist"),
    (["plot", "{root}/run", "--kind", "selection"], "recursive run"),
    (["plot", "{root}/run/lineage.json", "--kind", "selection"], "lineage file"),
    (["plot", "{root}/run", "--kind", "tree", "--rule", "discountd"], "did you mean 'discounted'"),
    (["plot", "{root}/run", "--kind", "compare", "--rule", "discounted:gama=1"], "did you mean 'gamma'"),
    (["plot", "{root}/run", "--kind", "tree", "--attribute", "vaule"], "did you mean 'value'"),
    (["plot", "{root}/run", "--kind", "generations", "--attribute", "distanse"], "did you mean 'distance'"),
    (["plot", "{root}/run", "--kind", "tree", "--rule", "self", "--rule", "cmp"], "--kind compare"),
    (["plot", "{root}/sweep", "--kind", "compare"], "give one run directory"),
    (["plot", "{root}/run", "--kind", "trees"], "invalid choice"),
    (["plot", "{root}", "--kind", "tree"], "holds no lineage.json"),
    (["plot", "{root}/run", "--kind", "curves", "--agent", "0.9.9"], "unknown agent '0.9.9'"),
    (["plot", "{root}/run", "--kind", "curves", "--attribute", "value"], "takes --agent"),
    (["plot", "{root}/run", "--kind", "tree", "--agent", "0"], "--agent is for --kind curves"),
    (["plot", "{root}/sweep", "--kind", "curves"], "give one run directory"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_input_is_one_line_and_writes_nothing(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    out = tmp_path / "p.png"
    argv = [a.format(root=runs["root"]) for a in argv]
    assert main([*argv, "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("output", "message"),
    [("missing/p.png", "does not exist"), ("p.pdf", "must end in .png"), (".", "exists and is a folder")],
)
def test_bad_output_is_refused(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str, message: str
) -> None:
    assert main(["plot", str(runs["run"]), "--kind", "tree", "--output", str(tmp_path / output)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert list(tmp_path.iterdir()) == []


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["plot", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--kind" in text and "selection" in text and "--rule" in text


def _random_lineage(n: int, seed: int = 0) -> LineageGraph:
    rng = np.random.default_rng(seed)
    g = LineageGraph(seed=seed)
    g.add_agent("0", value=0.5, distance=0.0, successes=5, trials=10)
    ids, kids = ["0"], {"0": 0}
    while len(ids) < n:
        p = ids[int(rng.integers(len(ids)))]
        c = f"{p}.{kids[p]}"
        kids[p] += 1
        kids[c] = 0
        v = float(rng.random())
        g.add_agent(
            c, parent=p, operator="mutate", value=v, distance=float(rng.exponential()), successes=int(10 * v), trials=10
        )
        ids.append(c)
    return g


def test_labels_never_overlap_on_a_large_tree() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Annotation

    g = _random_lineage(300)
    fig = plot_tree(g, labels=8)
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts if isinstance(t, Annotation)]
    assert 1 <= len(boxes) <= 8
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)


def test_python_functions_return_figures_and_save_the_same_bytes(tmp_path: Path) -> None:
    g = _random_lineage(40, seed=3)
    plot_tree(g, rule="discounted:gamma=0.5", output=tmp_path / "a.png")
    save_figure(plot_tree(g, rule="discounted:gamma=0.5"), tmp_path / "b.png")  # same picture, same bytes
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert plot_tree({"one": g, "two": _random_lineage(30, seed=4)}).axes[0].get_title().startswith("one")
    fig = plot_generations({"a": [g], "b": [_random_lineage(30, seed=5), _random_lineage(30, seed=6)]})
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["value", "distance"]
    fig = plot_compare(g, ["self", "cmp"])
    assert fig.axes[0].get_title().startswith("self")


def test_curves_draw_the_best_agent_after_its_ancestors(runs: dict[str, Path], tmp_path: Path) -> None:
    from spawn.plots.curves import chain_curves, plot_curves, read_curves

    run = runs["run"]
    g = LineageGraph.load(run / "lineage.json")
    curves = read_curves(run / "curves.csv")
    best = json.loads((run / "summary.json").read_text())["best_agent"]
    fig = plot_curves(curves, g)
    assert f"agent {best} and" in fig.get_suptitle()
    # The default is the best agent by value: its chain, root first, on world time.
    path = [best]
    while g.parent(path[-1]) is not None:
        path.append(g.parent(path[-1]))
    rows = chain_curves(curves, g, best)
    assert list(dict.fromkeys(rows["id"])) == [a for a in path[::-1] if (curves["id"] == a).any()]
    assert rows["world_time"].is_monotonic_increasing
    own = rows[rows["id"] == best]
    assert own["world_time"].iloc[-1] == g.attributes(best)["birth_time"] + g.attributes(best)["train_steps"]
    lines = {line.get_label() for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")}
    assert lines == set(rows["id"])


def test_curves_of_a_run_without_curves_csv_are_one_line(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "lineage.json").write_bytes((runs["run"] / "lineage.json").read_bytes())
    assert main(["plot", str(old / "lineage.json"), "--kind", "curves", "--output", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no learning curves" in err[0]
    (old / "curves.csv").write_text("id,round\n0,1\n")
    assert main(["plot", str(old / "lineage.json"), "--kind", "curves", "--output", str(tmp_path / "p.png")]) == 2
    assert "is not curves.csv" in capsys.readouterr().err
    assert not (tmp_path / "p.png").exists()


def test_a_large_lineage_is_drawn_to_the_generations_that_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    import spawn.plots.tree as tree

    g = LineageGraph()
    rng = np.random.default_rng(2)
    g.add_agent("0", value=0.0)
    for i in range(1, 400):
        p = g.ids[int(rng.integers(i))]
        g.add_agent(f"{p}.{len(g.children(p))}", parent=p, value=float(i) / 400)
    top, below = tree.top_generations(g, budget=60)
    cut = max(g.depth(a) for a in top)
    assert top.ids == [a for a in g if g.depth(a) <= cut] and len(top) <= 60
    assert sum(1 for a in g if g.depth(a) == cut + 1) > 0  # something is left below
    assert below == {a: len(g.descendants(a)) for a in top if g.depth(a) == cut and g.children(a)}
    assert tree.top_generations(g, budget=400) == (g, {})
    monkeypatch.setattr(tree, "MAX_DRAWN", 60)
    fig = plot_tree(g)
    ax = fig.axes[0]
    texts = " ".join(t.get_text() for t in ax.texts)
    assert f"{len(top)} of 400 agents drawn" in texts and f"{len(below)} deeper clades" in texts
    from matplotlib.collections import PathCollection

    dots = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert dots <= len(top) + len(below) + 1  # the drawn agents, one marker a clade, the best's ring
    best = max(g, key=lambda a: g.attributes(a)["value"])
    assert any(best in h.get_text() for h in ax.get_legend().get_texts())
