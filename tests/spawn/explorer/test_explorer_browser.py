"""The explorer in a real browser: Debian's chromium, headless, driven through chromedriver.

One browser for the module. Each test loads a page written by ``lineage-sim view`` and acts on it
as a user does (a click on a node, the colour menu, the search box, the fold button), then reads
what the page shows and what plotly drew.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from attribution import compare
from lineage import LineageGraph
from spawn.cli import main
from spawn.explorer import explorer_html_for, read_page_data

CHROMIUM = ("chromium", "chromedriver")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = [b for b in CHROMIUM if shutil.which(b) is None]
    if missing:
        pytest.fail(
            f"the explorer's browser tests need Debian's chromium and chromium-driver ({', '.join(missing)} not "
            "on PATH): apt-get install chromium chromium-driver"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1500,950",
        "--enable-unsafe-swiftshader",  # WebGL in software: no GPU here
        "--no-first-run",
        "--disable-background-networking",
    ):
        options.add_argument(arg)
    # The browser's profile, crash reports and caches in the test's own folder: never in HOME.
    home = tmp_path_factory.mktemp("chromium")
    options.add_argument(f"--user-data-dir={home / 'profile'}")
    options.add_argument("--disable-breakpad")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    service = Service(shutil.which("chromedriver") or "", env=env)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def _load(browser: Any, page: Path) -> list[dict[str, Any]]:
    """Open the page, wait until the explorer is ready; the console's messages while loading."""
    browser.get_log("browser")  # drop what earlier pages said
    browser.get(page.resolve().as_uri())
    deadline = time.monotonic() + 60
    while not browser.execute_script("return document.body && document.body.dataset.ready === '1'"):
        if time.monotonic() > deadline:
            raise AssertionError(f"the explorer did not get ready: {browser.get_log('browser')}")
        time.sleep(0.05)
    logs: list[dict[str, Any]] = browser.get_log("browser")
    return logs


def _errors(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["level"] == "SEVERE"]


def _drawn_ids(browser: Any) -> list[str]:
    """The ids of every agent marker plotly drew (both marker traces), as the page's data names them."""
    ids: list[str] = browser.execute_script(
        """const gd = document.getElementById('tree');
        const ids = lineageExplorer.run.run.id;
        return gd.data.filter(t => t.mode === 'markers' && t.customdata)
                      .flatMap(t => Array.from(t.customdata, i => ids[i]));"""
    )
    return ids


def _click_agent(browser: Any, agent: str) -> None:
    """A real mouse click at the agent's marker on screen."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    x, y, w, h = browser.execute_script(
        """const gd = document.getElementById('tree'), L = gd._fullLayout, R = lineageExplorer.run;
        const i = R.index.get(arguments[0]);
        for (const t of gd.data) {
          if (t.mode !== 'markers' || !t.customdata) continue;
          const k = Array.from(t.customdata).indexOf(i);
          if (k >= 0) {
            const r = gd.getBoundingClientRect();
            return [L.xaxis.l2p(t.x[k]) + L.xaxis._offset, L.yaxis.l2p(t.y[k]) + L.yaxis._offset, r.width, r.height];
          }
        }
        return null;""",
        agent,
    )
    tree = browser.find_element(By.ID, "tree")
    # offsets are from the element's centre
    ActionChains(browser).move_to_element_with_offset(tree, int(x - w / 2), int(y - h / 2)).pause(0.3).click().perform()


def _shown_agent(browser: Any) -> str:
    from selenium.webdriver.common.by import By

    text: str = browser.find_element(By.CSS_SELECTOR, "#agent .agent-id").text
    return text


@pytest.fixture(scope="module")
def run_page(explorer_runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = tmp_path_factory.mktemp("pages") / "run.html"
    assert main(["view", str(explorer_runs["run"]), "--output", str(page)]) == 0
    return page


def test_the_page_loads_without_errors_fetches_nothing_and_shows_every_agent(browser: Any, run_page: Path) -> None:
    logs = _load(browser, run_page)
    assert _errors(logs) == [], logs
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert fetched == []  # offline: no script, style, font or tile was asked for
    data = read_page_data(run_page.read_text(encoding="utf-8"))
    ids = data["runs"][0]["id"]
    assert sorted(_drawn_ids(browser)) == sorted(ids)
    assert browser.execute_script("return lineageExplorer.state.shown") == len(ids)
    # the best agent's lineage is drawn, and its record shown first
    best = browser.execute_script(
        "return document.getElementById('tree').data.find(t => t.name === 'best lineage').x.length"
    )
    assert best == len(data["runs"][0]["best_path"])
    assert _shown_agent(browser) == data["runs"][0]["best"]


def test_recolouring_by_a_rule_draws_its_credit(browser: Any, run_page: Path, explorer_runs: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _load(browser, run_page)
    Select(browser.find_element(By.ID, "colour")).select_by_value("rule:discounted")
    drawn = browser.execute_script(
        """const gd = document.getElementById('tree'), ids = lineageExplorer.run.run.id;
        const t = gd.data.find(t => t.name === 'agents');
        return [Array.from(t.customdata, i => ids[i]), Array.from(t.marker.color), t.marker.colorbar.title.text];"""
    )
    agents, colours, title = drawn
    lineage = LineageGraph.load(explorer_runs["run"] / "lineage.json")
    credit = compare(lineage, ["discounted"]).table["discounted"]
    assert title == "credit: discounted"
    assert len(agents) == len(lineage)
    assert colours == pytest.approx([credit[a] for a in agents])
    assert colours != pytest.approx([lineage.get(a, "value") for a in agents])  # not still the value
    assert _errors(browser.get_log("browser")) == []


def test_a_click_on_an_agent_shows_its_record(browser: Any, run_page: Path, explorer_runs: dict[str, Path]) -> None:
    from selenium.webdriver.common.by import By

    _load(browser, run_page)
    lineage = LineageGraph.load(explorer_runs["run"] / "lineage.json")
    data = read_page_data(run_page.read_text(encoding="utf-8"))
    agent = next(a for a in reversed(data["runs"][0]["id"]) if a != data["runs"][0]["best"] and lineage.parent(a))
    _click_agent(browser, agent)
    deadline = time.monotonic() + 10
    while _shown_agent(browser) != agent and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _shown_agent(browser) == agent
    # the ring marks it on the tree
    ring = browser.execute_script("const s = document.getElementById('tree').layout.shapes; return s.map(r => r.name)")
    assert ring == ["selected"]
    panel = browser.find_element(By.ID, "agent").text
    assert f"operator\n{lineage.operator(agent)}" in panel or f"operator {lineage.operator(agent)}" in panel
    assert "Constitution" in panel and "Ancestry" in panel and "Clade" in panel and "Learning curve" in panel
    # the constitution's rules by name, with the agent's measure of each
    age = lineage.get(agent, "Hiring-v0.invariance.ignore-age")
    assert "Hiring-v0: invariance ignore-age" in panel and "Hiring-v0: forbidden states workforce-imbalance" in panel
    broke = browser.find_element(By.CSS_SELECTOR, "#agent h3 + p").text
    assert ("ignore-age" in broke) == (age > 0), (broke, age)
    chain = browser.find_element(By.CSS_SELECTOR, "#agent .chain").text
    assert chain.split(" → ") == [*reversed(lineage.ancestors(agent)), agent]
    # the learning curve drawn is the agent's rows of curves.csv
    steps = browser.execute_script("return document.getElementById('curve-chart').data[0].x")
    cv = data["runs"][0]["curves"]
    row = data["runs"][0]["id"].index(agent)
    assert steps == [s for a, s in zip(cv["agent"], cv["steps"], strict=True) if a == row]
    assert _errors(browser.get_log("browser")) == []


def test_search_fold_and_radial(browser: Any, run_page: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    _load(browser, run_page)
    data = read_page_data(run_page.read_text(encoding="utf-8"))["runs"][0]
    n = data["agents"]
    box = browser.find_element(By.ID, "search")
    box.clear()
    box.send_keys("0", Keys.ENTER)
    assert _shown_agent(browser) == "0"
    browser.find_element(By.ID, "fold").click()  # fold the root's clade: one marker left
    assert browser.execute_script("return lineageExplorer.state.shown") == 1
    assert _drawn_ids(browser) == ["0"]
    browser.find_element(By.ID, "unfold").click()
    assert browser.execute_script("return lineageExplorer.state.shown") == n
    box.clear()
    box.send_keys("no-such-agent", Keys.ENTER)
    assert "no agent no-such-agent" in browser.find_element(By.ID, "search-result").text
    Select(browser.find_element(By.ID, "layout")).select_by_value("radial")
    assert sorted(_drawn_ids(browser)) == sorted(data["id"])
    browser.find_element(By.ID, "tab-rules").click()
    rules = browser.find_element(By.ID, "rules").text
    assert "Kendall" in rules and "discounted" in rules
    assert _errors(browser.get_log("browser")) == []


def test_a_sweeps_page_draws_the_arms_curves(browser: Any, explorer_runs: dict[str, Path], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = tmp_path / "sweep.html"
    assert main(["view", str(explorer_runs["sweep"]), "--output", str(page)]) == 0
    assert _errors(_load(browser, page)) == []
    data = read_page_data(page.read_text(encoding="utf-8"))
    browser.find_element(By.ID, "tab-arms").click()
    means = browser.execute_script(
        "return document.getElementById('arms-chart').data.filter(t => !t.fill).map(t => [t.name, t.y])"
    )
    assert means == [[c["arm"], c["mean"]] for c in data["arms"]["curves"]]
    Select(browser.find_element(By.ID, "run")).select_by_index(3)
    assert sorted(_drawn_ids(browser)) == sorted(data["runs"][3]["id"])
    assert _errors(browser.get_log("browser")) == []


def test_a_large_lineage_is_drawn_with_webgl(browser: Any, tmp_path: Path) -> None:
    g = LineageGraph()
    g.add_agent("0", value=0.0)
    for i in range(60):
        g.add_agent(f"0.{i}", parent="0", value=i / 60)
        for j in range(50):
            g.add_agent(f"0.{i}.{j}", parent=f"0.{i}", value=(i * 50 + j) / 3000)
    page = tmp_path / "large.html"
    page.write_text(explorer_html_for(g, "large", rules=["self", "discounted"]), encoding="utf-8")
    assert _errors(_load(browser, page)) == []
    assert browser.execute_script("return lineageExplorer.state.webgl") is True
    assert browser.execute_script("return lineageExplorer.state.shown") == len(g) == 3061
    assert "drawn with WebGL" in browser.execute_script("return document.getElementById('drawn').textContent")
    assert len(_drawn_ids(browser)) == len(g)
    _click_agent(browser, "0.30")
    deadline = time.monotonic() + 10
    while _shown_agent(browser) != "0.30" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _shown_agent(browser) == "0.30"


def test_hostile_ids_and_a_lineage_without_value(browser: Any, tmp_path: Path) -> None:
    """Ids and text that look like markup stay text; a lineage with no value still draws every agent."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    g = LineageGraph()
    g.add_agent("<b>root</b>", cost=1.0, note="<img src=x onerror=alert(1)>")
    g.add_agent("a&amp;b", parent="<b>root</b>", cost=2.0)
    g.add_agent("</script>", parent="<b>root</b>", cost=0.0)
    page = tmp_path / "hostile.html"
    page.write_text(explorer_html_for(g, "hostile"), encoding="utf-8")
    assert _errors(_load(browser, page)) == []
    assert sorted(_drawn_ids(browser)) == sorted(g.ids)
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    box = browser.find_element(By.ID, "search")
    box.send_keys("</script>", Keys.ENTER)
    assert _shown_agent(browser) == "</script>"
    panel = browser.find_element(By.ID, "agent").text
    assert "<b>root</b>" in panel  # the parent's id, shown as text
    notes = browser.find_element(By.ID, "notes").text
    assert "no agent carries a numeric 'value'" in notes
    assert _errors(browser.get_log("browser")) == []
