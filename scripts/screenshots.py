"""Take the README's screenshots of the showcase (examples/model_selection.py) in the web UI.

    pip install -e '.[test]'          # scikit-learn, playwright and pillow
    python scripts/screenshots.py     # writes docs/images/{run,compare,card}.png

It runs the example twice with different parameters in a fresh temporary project (its own
``.ketch``, nothing else touched), starts ``ketch ui`` there on a free port, and captures
the run page, the compare page of the two runs and the comparison card with Chromium
(``/usr/bin/chromium``, or ``--chromium PATH``) driven by Playwright, 1280 pixels wide and at
most 1600 high. Each page is captured
once the network is idle and its charts (``svg``/``canvas``), if any, are drawn; the PNGs are
reduced to a 256-colour palette so that each stays well under 300 KB.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FLOW = ROOT / "examples" / "model_selection.py"
FLOW_NAME = "ModelSelectionFlow"
RUNS = (["--max-epochs", "12", "--seed", "1"], ["--max-epochs", "30", "--seed", "2"])
VIEWPORT = {"width": 1280, "height": 800}
MAX_HEIGHT = 1600  # a long page is cut here (the run page's charts lie below the fold)
MAX_BYTES = 300_000
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run"]
CHART = "svg, canvas"
# Containers of charts drawn by script (the UI's metric charts, Vega embeds in cards): the
# page is captured once each holds an svg or a canvas.
CHARTS_DRAWN = """() => [...document.querySelectorAll('.metric-chart, .metric-view, .vega-embed')]
    .every((box) => box.querySelector('svg, canvas') !== null)"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    parser.add_argument(
        "--quick", action="store_true", help="Fewer epochs (a check that the script works)."
    )
    args = parser.parse_args(argv)
    runs = [["--max-epochs", "2", *r[2:]] for r in RUNS] if args.quick else RUNS
    if not args.chromium.exists():
        sys.exit(f"Chromium is not at {args.chromium}: apt-get install chromium, or --chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ketch-screenshots-") as tmp:
        project = Path(tmp) / "model-selection"
        project.mkdir()
        run_ids = [run_flow(project, extra, n) for n, extra in enumerate(runs)]
        with ui_server(project) as base:
            pages = {
                "run.png": f"{base}/{FLOW_NAME}/{run_ids[-1]}",
                "compare.png": f"{base}/compare?runs="
                + ",".join(f"{FLOW_NAME}/{r}" for r in run_ids)
                + "&metric=val_accuracy",
                "card.png": card_url(base, project, run_ids[-1]),
            }
            capture(pages, args.out, args.chromium)
    for name in pages:
        path = args.out / name
        print(
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
            f"{path.stat().st_size / 1024:.0f} KiB"
        )
    return 0


def clean_env() -> dict[str, str]:
    """This environment without KETCH_* variables, so the runs land in the temporary project."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETCH_")}
    env.update({"USER": "showcase", "PYTHONUNBUFFERED": "1"})
    return env


def run_flow(project: Path, extra: list[str], n: int) -> str:
    """Run the example in ``project``; its run id."""
    id_file = project / f"run-id-{n}"
    command = [sys.executable, str(FLOW), "run", "--run-id-file", str(id_file), *extra]
    print("$", " ".join(command[1:]), flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=clean_env(), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the example failed:\n{done.stdout}\n{done.stderr}")
    print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return id_file.read_text().strip()


def card_url(base: str, project: Path, run_id: str) -> str:
    """The address of the join's comparison card (the UI's card route)."""
    code = (
        "from ketch import Run\n"
        f"task = list(Run('{FLOW_NAME}/{run_id}')['choose'])[0]\n"
        "print(task.id)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=project, env=clean_env(), capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"reading the run back failed:\n{done.stderr}")
    return f"{base}/-/card/{FLOW_NAME}/{run_id}/choose/{done.stdout.strip()}/0"


@contextmanager
def ui_server(project: Path) -> Iterator[str]:
    """``ketch ui --port 0`` in ``project``, stopped at the end; yields its base address."""
    command = [sys.executable, "-m", "ketch.cli", "ui", "--port", "0"]
    proc = subprocess.Popen(
        command,
        cwd=project,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield _address(proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _address(proc: subprocess.Popen[str]) -> str:
    """The http://host:port the UI prints when it is listening."""
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        found = re.search(r"(http://[^/\s]+)", line)
        if found:
            return found.group(1)
    sys.exit("ketch ui did not start:\n" + "".join(seen))


def capture(pages: dict[str, str], out: Path, chromium: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            for name, url in pages.items():
                shoot(page, url, out / name)
        finally:
            browser.close()


def shoot(page: Any, url: str, path: Path) -> None:
    """Load ``url``, wait for the network and the charts, and save a small PNG of the view."""
    response = page.goto(url, wait_until="networkidle")
    if response is None or not response.ok:
        sys.exit(f"{url}: HTTP {response.status if response else '?'}")
    try:  # charts are optional: a page without any is captured as it is
        page.wait_for_selector(CHART, state="visible", timeout=3_000)
    except Exception:  # noqa: BLE001 (playwright's TimeoutError)
        pass
    try:  # every chart container that the page has is drawn
        page.wait_for_function(CHARTS_DRAWN, timeout=15_000)
    except Exception:  # noqa: BLE001 (captured as it is: the PNG shows what is missing)
        print(f"  {url}: some charts were still empty after 15 s", flush=True)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)  # let chart transitions and fonts settle
    raw = path.with_suffix(".raw.png")
    height = min(MAX_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
    clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": max(height, 1)}
    page.screenshot(path=str(raw), full_page=True, clip=clip)
    shrink(raw, path)
    raw.unlink()


def shrink(source: Path, target: Path) -> None:
    """A palette PNG of ``source`` under MAX_BYTES (fewer colours until it fits)."""
    from PIL import Image

    image = Image.open(source).convert("RGB")
    for colours in (256, 128, 64, 32):
        image.quantize(colors=colours, dither=Image.Dither.NONE).save(target, optimize=True)
        if target.stat().st_size < MAX_BYTES:
            return
    sys.exit(f"{target}: {target.stat().st_size} bytes even with 32 colours")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
