"""The UI-at-scale workload, run as a script: how long each kind of page of one big run takes
to load in Chromium.

``python bench/_uiload.py DIR FLOW RUN_ID STEP N`` starts ``ketch ui --port 0`` in ``DIR``,
opens each page (HTML, then the same page as JSON under ``/api``) in Chromium
(``/usr/bin/chromium`` through Playwright) once untimed, then ``N`` times timed, and prints
``{"page name": [seconds, ...], ...}`` as JSON on its last line. A load is timed from the
navigation to the load event with the page's ``main`` element visible (for JSON, the body):
the request, the server's work, the transfer, parsing and layout.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-sync"]


def _get_json(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + "/api" + path, timeout=60) as response:
        return json.load(response)


def pages(base: str, flow: str, run_id: str, step: str) -> dict[str, str]:
    """Every kind of page of the run, by name: path (HTML; the JSON is ``/api`` + path)."""
    from ketch.metadata._rows import foreach_order
    from ketch.ui._paging import encode_cursor

    run = f"/{flow}/{run_id}"
    first = _get_json(base, f"{run}/{step}")
    width = first["step"]["num_tasks"]
    # A page deep in the step: the cursor of the task at the middle of the foreach.
    deep = encode_cursor([foreach_order([width // 2]), -(2**31)])
    middle = _get_json(base, f"{run}/{step}?after={deep}&limit=1")["tasks"][0]
    parent = _get_json(base, f"{run}/start")["tasks"][0]
    join = _get_json(base, f"{run}/{middle_next(base, run, step)}")["tasks"][0]
    return {
        "index": "/",
        "flow": f"/{flow}",
        "run": run,
        "step": f"{run}/{step}",
        "step, page 2": f"{run}/{step}?after={first['next']}",
        "step, middle page": f"{run}/{step}?after={deep}",
        "step, jump to a task": f"{run}/{step}?task={middle['id']}",
        "step, failed filter": f"{run}/{step}?status=failed",
        "task": "/" + middle["pathspec"],
        "foreach parent task": "/" + parent["pathspec"],
        "join task": "/" + join["pathspec"],
    }


def middle_next(base: str, run: str, step: str) -> str:
    """The step after ``step`` (the join)."""
    steps = _get_json(base, run)["steps"]
    (mine,) = [s for s in steps if s["name"] == step]
    return str(mine["next"][0])


def start_ui(root: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "USER": "bench"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ketch.cli", "ui", "--port", "0"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = [process.stdout.readline(), process.stdout.readline()]
    if not banner[1].strip():
        sys.exit(f"the UI did not start: {banner} {process.communicate(timeout=30)}")
    base = "/".join(banner[1].split()[0].split("/")[:3])
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/api", timeout=5).close()
            break
        except OSError:
            time.sleep(0.1)
    return process, base


def load(page: Any, url: str, selector: str) -> float:
    start = time.perf_counter()
    response = page.goto(url, wait_until="load", timeout=120_000)
    page.wait_for_selector(selector, state="visible", timeout=120_000)
    took = time.perf_counter() - start
    if response is None or response.status != 200:
        sys.exit(f"{url}: status {None if response is None else response.status}")
    return took


def main() -> None:
    root, flow, run_id, step, n = sys.argv[1:6]
    from playwright.sync_api import sync_playwright

    process, base = start_ui(root)
    try:
        paths = pages(base, flow, run_id, step)
        targets = {name: (path, "main") for name, path in paths.items()}
        targets.update({f"{name} (JSON)": ("/api" + path, "body") for name, path in paths.items()})
        targets["live (JSON)"] = (f"/api/-/live/{flow}/{run_id}", "body")
        times: dict[str, list[float]] = {name: [] for name in targets}
        sizes: dict[str, int] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            for name, (path, selector) in targets.items():
                load(page, base + path, selector)  # untimed: templates compile once
                sizes[name] = len(page.content())
            for _ in range(int(n)):
                for name, (path, selector) in targets.items():
                    times[name].append(load(page, base + path, selector))
            browser.close()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    print(json.dumps({"times": times, "sizes": sizes, "paths": paths}))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
