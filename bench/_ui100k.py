"""The UI at scale: every kind of page of a run with a 100,000-task foreach, loaded in Chromium
(``--only ui100k``; not in the default session: the run alone takes minutes)."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from ._context import Bench
from ._proc import run
from ._results import Row

HERE = Path(__file__).resolve().parent
FLOW_TIMEOUT_S = 3600.0
PROBE_TIMEOUT_S = 1800.0


def _the_run(bench: Bench, width: int) -> tuple[Path, str]:
    """The directory and run id of the foreach of ``width`` tasks: made once, then reused from
    ``--ui100k-dir`` when given (its ``run-id`` file names the run, ``flow-seconds`` says how
    long it took)."""
    cached = bench.options.ui100k_dir
    cwd = cached or bench.scratch.fresh("ketch-ui100k")
    id_file, width_file, took_file = cwd / "run-id", cwd / "width", cwd / "flow-seconds"
    row = bench.results.add(Row("ui100k.foreach_run", f"UI 100k: the foreach {width:,} run", "s"))
    if cached is not None and width_file.exists() and width_file.read_text() == str(width):
        bench.log(f"  reusing the {width:,}-task run in {cwd}")
        if took_file.exists():
            row.ketch.values.append(float(took_file.read_text()))
        row.note = "made by an earlier session (--ui100k-dir); not a UI figure"
        return cwd, id_file.read_text().strip()
    cwd.mkdir(parents=True, exist_ok=True)
    bench.ketch.install_flow("foreach.py", cwd)
    args = ["--n", str(width), "--max-num-splits", str(width), "--run-id-file", "run-id"]
    cmd = bench.ketch.flow_cmd("foreach.py", "run", *args)
    done = run(cmd, cwd=cwd, env=bench.env, timeout_s=FLOW_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"foreach {width}: exit {done.returncode}: {done.stderr[-2000:]}")
    width_file.write_text(str(width))
    took_file.write_text(f"{done.wall_s:.1f}")
    row.ketch.values.append(done.wall_s)
    row.note = "made once per --ui100k-dir; not a UI figure"
    bench.log(f"  ketch    foreach {width:,}: {done.wall_s:.1f} s")
    return cwd, id_file.read_text().strip()


def ui100k(bench: Bench) -> None:
    """Run the wide foreach once, then time each page of it in Chromium."""
    width = bench.options.ui100k_width
    cwd, run_id = _the_run(bench, width)
    loads = 3 if bench.options.quick else 5
    probe = [sys.executable, str(HERE / "_uiload.py"), str(cwd), "ForeachFlow", run_id, "work"]
    done = run([*probe, str(loads)], cwd=cwd, env=bench.env, timeout_s=PROBE_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"ui100k probe: exit {done.returncode}: {done.stderr[-2000:]}")
    found = json.loads(done.stdout.splitlines()[-1])
    for name, values in found["times"].items():
        key = "ui100k." + name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
        row = bench.results.add(Row(key, f"UI 100k: {name}", "s"))
        row.ketch.values.extend(values)
        size = found["sizes"][name]
        row.note = f"{size / 1024:,.0f} KiB as rendered; median of {loads} loads in Chromium"
        row.extra["size"] = size
    worst = max(found["times"], key=lambda n: statistics.median(found["times"][n]))
    slowest = statistics.median(found["times"][worst])
    bench.log(f"  UI 100k: slowest page {worst}: {slowest * 1e3:.0f} ms")
    if bench.options.ui100k_dir is None:
        bench.scratch.discard(cwd)


def browser_version() -> str:
    """Chromium's version line (the browser of the ui100k figures)."""
    import subprocess

    try:
        done = subprocess.run(
            ["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=30
        )
    except OSError as exc:
        return f"Chromium not found ({exc})"
    return done.stdout.strip() or done.stderr.strip()
