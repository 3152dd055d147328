"""The Client listing runs, and the scheduler of a 10,000-task foreach."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Mapping

from ._context import Bench
from ._floors import client_floor, flow_floor
from ._results import Row
from ._timing import critical_path


def client(bench: Bench) -> None:
    n = bench.options.client_runs
    row = Row(
        "client",
        f"Client: list {n} runs, load 1 artifact from each",
        "s",
        floor=client_floor(n),
        floor_label="sqlite select + n small files",
    )
    client_listing(bench, row, "client", n)


def client_listing(
    bench: Bench, row: Row, workload: str, n: int, envs: Mapping[str, dict[str, str]] | None = None
) -> None:
    """Make ``n`` runs of tiny.py per framework (not timed), then time listing them and loading
    one artifact of each in a fresh process. ``envs``: a framework's environment by name."""
    bench.results.add(row)
    envs = envs or {}
    projects = {}
    for fw in bench.frameworks:
        env = envs.get(fw.name)
        cwd = bench.scratch.fresh(f"{fw.name}-{workload}")
        fw.install_flow("tiny.py", cwd)
        fw.install_flow("client_probe.py", cwd)
        bench.log(f"  {fw.name}: creating {n} runs of tiny.py (not timed)")
        # One run at a time: Metaflow runs made two at a time in one store once left 99 runs
        # out of 100 to list (2026-11-30 07:27), and each run's wall time is recorded.
        runs = [bench.flow_run(fw, "tiny.py", cwd=cwd, env=env) for _ in range(n)]
        creation = sum(done.wall_s for done, _ in runs)
        row.extra[f"{fw.name}_seconds_per_tiny_run"] = creation / n
        projects[fw.name] = cwd
    again: dict[str, list[float]] = {fw.name: [] for fw in bench.frameworks}
    for _, fw in bench.alternate(workload):
        cmd = [fw.python, "client_probe.py", "TinyFlow", str(n)]
        done = bench.command(fw, cmd, projects[fw.name], env=envs.get(fw.name))
        figures = json.loads(done.stdout.splitlines()[-1])
        getattr(row, fw.name).values.append(figures["client_s"])
        again[fw.name].append(figures["again_s"])
        row.extra.setdefault(f"{fw.name}_process_wall_s", []).append(done.wall_s)
    row.extra["second_listing_s"] = again
    row.note = (
        "Client part only, imports excluded. Same listing again in the process: "
        + ", ".join(f"{name} {statistics.median(v) * 1e3:.1f} ms" for name, v in again.items() if v)
    )
    for cwd in projects.values():
        bench.scratch.discard(cwd)


def scheduler10k(bench: Bench, nproc: int) -> None:
    """ketch only: a 10,000-task foreach; the scheduler process's own peak RSS."""
    n = 10_000
    args = ["--n", str(n), "--max-num-splits", str(n), "--max-workers", "16"]
    cwd = bench.scratch.fresh("floor-import-rss")
    baseline = bench.command(bench.ketch, [sys.executable, "-c", "import ketch"], cwd).max_rss_kib
    memory = bench.results.add(
        Row(
            "scheduler.memory",
            "scheduler peak RSS, foreach 10,000 (max-workers 16)",
            "MiB",
            floor=baseline / 1024,
            floor_label="python -c 'import ketch'",
        )
    )
    wall = bench.results.add(
        Row(
            "scheduler.time",
            "foreach 10,000 (max-workers 16), ketch only",
            "s",
            floor=flow_floor(bench, critical_path([1, n, 1, 1], 16, nproc)),
            floor_label="py start + critical-path forks",
        )
    )
    for _ in range(1 if bench.options.repeats < 3 else 2):
        done, run_dir = bench.flow_run(bench.ketch, "foreach.py", args, sample="root")
        memory.ketch.values.append((done.root_hwm_kib or 0) / 1024)
        wall.ketch.values.append(done.wall_s)
        largest = done.max_rss_kib / 1024
        memory.note = f"largest process in the tree (wait4 ru_maxrss): {largest:,.0f} MiB"
        bench.scratch.discard(run_dir)
