"""The lineage explorer: a run, sweep or study as one self-contained, interactive HTML page.

:func:`explorer_html` makes the page ``lineage-sim view`` writes: the lineage tree (by generation or
radially; zoom, pan, fold and unfold clades, search by id), each agent coloured by ``value``, any
numeric attribute or any rule's credit, the best agent's lineage in red; a click on an agent shows
its record, the constitution's measures it broke, its ancestry, its clade and its learning curve;
beside the tree the rules side by side (what ``lineage-sim compare`` reports) and, for a sweep or a
study, each arm's best-value curve with a 95% interval over seeds.

The page works offline: plotly.js comes from the ``plotly`` package (it ships the library, under the
MIT licence, whose notice stays at the top of the script), the explorer's own script and style from
this package's ``assets/``; no script, style or font is fetched. The data is embedded once, as JSON
in ``<script type="application/json" id="lineage-data">`` (see :mod:`spawn.explorer.data`), so other
tools can read it from the page. The page grows linearly with the lineage; from
:data:`~spawn.explorer.data.WEBGL_FROM` agents on screen the tree is drawn with WebGL.

Examples
--------
>>> from lineage import LineageGraph
>>> g = LineageGraph(); g.add_agent("0", value=0.2); g.add_agent("0.0", parent="0", value=0.7)
>>> page = explorer_html_for(g, "tiny")
>>> '<script type="application/json" id="lineage-data">' in page
True
>>> read_page_data(page)["runs"][0]["id"]
['0', '0.0']
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lineage import LineageGraph
from spawn.explorer.data import FORMAT, VERSION, explorer_data, run_data

__all__ = ["WEBGL_FROM", "explorer_html", "explorer_html_for", "page_html", "read_page_data"]

#: Agents on screen from which the page draws the tree with WebGL (the same constant as the script's).
WEBGL_FROM = 2000

_DATA_TAG = '<script type="application/json" id="lineage-data">'


@cache
def _asset(name: str) -> str:
    return resources.files("spawn.explorer").joinpath("assets", name).read_text(encoding="utf-8")


@cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    js: str = get_plotlyjs()
    return js


def _script(text: str) -> str:
    """Script text that cannot close its element early."""
    return text.replace("</script", "<\\/script")


def _json(data: Any) -> str:
    # "<" escaped as \u003c: no "</script>" nor "<!--" can appear inside the element.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")


def page_html(data: dict[str, Any]) -> str:
    """The explorer page for ``data`` (what :func:`~spawn.explorer.data.explorer_data` returns)."""
    title = html.escape(f"lineage-sim explorer: {data['source']}")
    arms = "" if data.get("arms") else " hidden"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="lineage-sim view">
<title>{title}</title>
<style>{_asset("explorer.css")}</style>
</head>
<body data-webgl-from="{WEBGL_FROM}">
<header>
<h1>lineage-sim explorer <span class="src" id="source"></span></h1>
<div id="facts"></div>
<div class="controls">
<label id="run-box">run <select id="run"></select></label>
<label>colour by <select id="colour"></select></label>
<label>layout <select id="layout"><option value="generation">by generation</option>
<option value="radial">radial</option></select></label>
<label>agent id <input id="search" size="14" placeholder="e.g. 0.1.0"></label><button id="search-go">find</button>
<span id="search-result"></span>
<label>fold clades at generation <input id="fold-depth" type="number" min="0" value="2" style="width:4em">
</label><button id="fold-go">fold</button><button id="unfold">unfold all</button>
</div>
<ul id="notes"></ul>
</header>
<main>
<div id="tree-box"><div id="tree"></div><div id="drawn"></div></div>
<aside>
<div class="tabs"><button id="tab-agent" class="active">Agent</button>
<button id="tab-rules">Rules</button><button id="tab-arms"{arms}>Arms</button></div>
<div id="agent"></div>
<div id="rules" hidden></div>
<div id="arms" hidden></div>
</aside>
</main>
{_DATA_TAG}{_json(data)}</script>
<script>{_script(_plotly_js())}</script>
<script>{_script(_asset("explorer.js"))}</script>
</body>
</html>
"""


def explorer_html(
    path: str | Path,
    rules: Sequence[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    attributes: Sequence[str] | None = None,
) -> str:
    """The explorer page of a run directory, a lineage file, a sweep or a study directory
    (``progress(done, total, name)`` before each of its runs; ``attributes``: the only ones embedded)."""
    return page_html(explorer_data(path, rules, progress, attributes))


def explorer_html_for(lineage: LineageGraph, name: str = "lineage", rules: Sequence[str] | None = None) -> str:
    """The explorer page of a lineage in memory (no curves, no summary)."""
    entry, notes = run_data(lineage, name, rules)
    data = {
        "format": FORMAT,
        "version": VERSION,
        "source": name,
        "kind": "lineage",
        "runs": [entry],
        "arms": None,
        "notes": notes,
    }
    return page_html(data)


def read_page_data(page: str) -> dict[str, Any]:
    """The data an explorer page embeds (what another tool reading the page gets)."""
    m = re.search(re.escape(_DATA_TAG) + r"(.*?)</script>", page, re.S)
    if m is None:
        raise ValueError('not a lineage-sim explorer page: no <script id="lineage-data">')
    data: dict[str, Any] = json.loads(m.group(1))
    return data
