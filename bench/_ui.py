"""The web UI's pages of a 1,000-task foreach (ketch only: Metaflow's UI is a separate service)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from ._context import Bench
from ._results import Row

HERE = Path(__file__).resolve().parent
WIDTH = 1000


def ui1000(bench: Bench) -> None:
    """Run a 1,000-task foreach once (not timed), then time the UI's run and step pages."""
    run_row = bench.results.add(Row("ui.run", "UI: run page, foreach 1,000 (HTML)", "s"))
    step_row = bench.results.add(Row("ui.step", "UI: step page of 1,000 tasks (HTML)", "s"))
    args = ["--n", str(WIDTH), "--max-num-splits", str(WIDTH), "--run-id-file", "run-id"]
    _done, cwd = bench.flow_run(bench.ketch, "foreach.py", args)
    run_id = (cwd / "run-id").read_text().strip()
    requests = 5 if bench.options.quick else 20
    probe = [sys.executable, str(HERE / "_uiprobe.py"), str(cwd), "ForeachFlow", run_id, "work"]
    done = bench.command(bench.ketch, [*probe, str(requests)], cwd)
    figures: dict[str, list[float]] = json.loads(done.stdout.splitlines()[-1])
    for row, page in ((run_row, "run"), (step_row, "step")):
        row.ketch.values.extend(figures[page])
        as_json = statistics.median(figures[f"{page}.json"])
        row.note = f"the same page as JSON: {as_json * 1e3:.1f} ms; median of {requests} requests"
        row.extra["json_s"] = figures[f"{page}.json"]
    medians = f"run {run_row.ketch.median * 1e3:.1f} ms, step {step_row.ketch.median * 1e3:.1f} ms"
    bench.log(f"  UI pages: {medians}")
    bench.scratch.discard(cwd)
