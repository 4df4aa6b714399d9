"""The explorer page's size and time: ``lineage-sim view`` on run directories, and the page in a browser.

For each run directory given: the time ``lineage-sim view`` takes (in a child process), the page's
bytes, the bytes per agent beyond the fixed part (plotly.js, the explorer's script and style: a page
of one agent), and with ``--browser`` the time headless chromium takes until the explorer is ready
(Debian's ``chromium``; WebGL in software, so slower than on a desktop with a GPU).

    python benchmarks/bench_view.py RUN [RUN ...] [--browser]

The README's figures come from the quickstart run and a run of 10^5 agents of
``benchmarks/bench_scale.py --sizes 100000 --envs lake --keep DIR`` (``DIR/lake-100000``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lineage import LineageGraph
from spawn.explorer import explorer_html_for, read_page_data


def _browser_ready(page: Path) -> float:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for arg in ("--headless=new", "--no-sandbox", "--window-size=1500,950", "--enable-unsafe-swiftshader"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or ""))
    try:
        start = time.perf_counter()
        driver.get(page.resolve().as_uri())
        while not driver.execute_script("return document.body && document.body.dataset.ready === '1'"):
            time.sleep(0.05)
        return time.perf_counter() - start
    finally:
        driver.quit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--browser", action="store_true", help="also time the page in headless chromium")
    args = ap.parse_args()
    one = LineageGraph()
    one.add_agent("0", value=0.0)
    fixed = len(explorer_html_for(one, "x", rules=["self"]).encode())
    print(f"fixed part (plotly.js, the explorer's script and style): {fixed:,} bytes")
    print(
        f"{'run':<40} {'agents':>9} {'view s':>7} {'MB':>7} {'B/agent':>8}"
        + (f" {'browser s':>10}" if args.browser else "")
    )
    with tempfile.TemporaryDirectory() as tmp:
        for run in args.runs:
            page = Path(tmp) / "page.html"
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "spawn.cli", "view", str(run), "--output", str(page)],
                check=True,
                stderr=subprocess.DEVNULL,
            )
            took = time.perf_counter() - start
            size = page.stat().st_size
            agents = sum(r["agents"] for r in read_page_data(page.read_text(encoding="utf-8"))["runs"])
            row = f"{run!s:<40} {agents:>9,} {took:>7.1f} {size / 2**20:>7.1f} {(size - fixed) / agents:>8.0f}"
            if args.browser:
                row += f" {_browser_ready(page):>10.1f}"
            print(row)
            print(json.dumps({"run": str(run), "agents": agents, "view_s": took, "bytes": size, "fixed": fixed}))


if __name__ == "__main__":
    main()
