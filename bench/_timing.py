"""Wall-time workloads: import, linear 10, foreach 100/1,000, nested 10x10, resume."""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ._context import Bench
from ._env import Framework
from ._floors import flow_floor, fork_floors
from ._results import Row
from ._store import store_stats

AfterRun = Callable[[int, Framework, Path], None]


def critical_path(layers: Sequence[int], max_workers: int, nproc: int) -> float:
    """Tasks on the critical path when each layer of tasks runs ``min(workers, cores)`` wide."""
    width = max(1, min(max_workers, nproc))
    return float(sum(math.ceil(n / width) for n in layers))


def time_flow(
    bench: Bench,
    row: Row,
    workload: str,
    flow: str,
    args: Sequence[str] = (),
    after: AfterRun | None = None,
) -> Row:
    """Run ``flow`` on both frameworks, alternating, each run in a fresh directory."""
    bench.results.add(row)
    for i, fw in bench.alternate(workload):
        done, cwd = bench.flow_run(fw, flow, args)
        getattr(row, fw.name).values.append(done.wall_s)
        if after is not None:
            after(i, fw, cwd)
        bench.scratch.discard(cwd)
    return row


def import_time(bench: Bench) -> None:
    row = bench.results.add(
        Row("import", "import (python -c 'import X')", "s", floor_label="python -c pass")
    )
    cwd = bench.scratch.fresh("import")
    floors = []
    for _, fw in bench.alternate("import"):
        done = bench.command(fw, [fw.python, "-c", f"import {fw.module}"], cwd)
        getattr(row, fw.name).values.append(done.wall_s)
        if fw.name == "ketch":
            floors.append(bench.command(fw, [sys.executable, "-c", "pass"], cwd).wall_s)
    row.floor = statistics.median(floors)
    bench.floors.setdefault("pass", row.floor)


def linear10(bench: Bench, nproc: int) -> None:
    floor = flow_floor(bench, critical_path([1] * 10, 1, nproc))
    row = Row("linear10", "linear, 10 steps", "s", floor=floor, floor_label="py start + 10 forks")
    time_flow(bench, row, "linear10", "linear10.py")


def nested(bench: Bench, nproc: int) -> None:
    floor = flow_floor(bench, critical_path([1, 10, 100, 10, 1, 1], 16, nproc))
    row = Row(
        "nested",
        "nested foreach 10x10 (max-workers 16)",
        "s",
        floor=floor,
        floor_label="py start + critical-path forks",
    )
    time_flow(bench, row, "nested", "nested.py")


def foreach_args(n: int, workers: int) -> list[str]:
    """foreach.py's arguments for a foreach of ``n`` tasks, ``workers`` at a time."""
    args = ["--n", str(n), "--max-workers", str(workers)]
    if n > 100:
        args += ["--max-num-splits", str(n)]
    return args


def foreach(bench: Bench, n: int, workers: int, nproc: int, after: AfterRun | None = None) -> Row:
    args = foreach_args(n, workers)
    floor = flow_floor(bench, critical_path([1, n, 1, 1], workers, nproc))
    row = Row(
        f"foreach{n}.mw{workers}",
        f"foreach {n:,} (max-workers {workers})",
        "s",
        floor=floor,
        floor_label="py start + critical-path forks",
    )
    workload = "foreach100" if n <= 100 else "foreach1000"
    return time_flow(bench, row, workload, "foreach.py", args, after)


def foreach100(bench: Bench, nproc: int) -> None:
    """Foreach 100 at 2 and 16 workers, the 1-task baseline, per-task overhead and disk use."""
    disk = _DiskProbe(bench)
    mw2 = foreach(bench, 100, 2, nproc, after=disk.after)
    foreach(bench, 100, 16, nproc)
    base = Row(
        "foreach1.mw2",
        "foreach 1 (max-workers 2): fixed cost",
        "s",
        floor=flow_floor(bench, 4),
        floor_label="py start + 4 forks",
    )
    time_flow(bench, base, "foreach100", "foreach.py", ["--n", "1", "--max-workers", "2"])
    overhead = Row(
        "overhead",
        "per-task overhead: (foreach 100 - foreach 1) / 99, max-workers 2",
        "ms/task",
        floor=fork_floors(bench) * 1e3,
        floor_label="fork floor",
        note=f"fork floor, numpy parent: {bench.floors['fork_numpy'] * 1e3:.2f} ms",
    )
    for side in ("ketch", "metaflow"):
        full, one = getattr(mw2, side), getattr(base, side)
        if full and one:
            getattr(overhead, side).values.append((full.median - one.median) / 99 * 1e3)
    bench.results.add(overhead)
    disk.report()


class _DiskProbe:
    """Files and bytes a foreach-100 run leaves, and ketch's database growth per task."""

    TASKS = 103  # start + 100 + join + end

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.files = Row("disk.files", "files per task in the store (foreach 100)", "files/task")
        self.bytes = Row("disk.bytes", "bytes per task in the store (foreach 100)", "bytes/task")
        self.db = Row("disk.db", "ketch metadata db growth per task (2nd run)", "bytes/task")

    def after(self, i: int, fw: Framework, cwd: Path) -> None:
        if i != 0:
            return
        first = store_stats(cwd, fw.name)
        self.files.extra[fw.name] = first.__dict__
        getattr(self.files, fw.name).values.append(first.files / self.TASKS)
        getattr(self.bytes, fw.name).values.append(first.bytes / self.TASKS)
        if fw.name == "ketch":
            self.files.note = (
                f"ketch: {first.files} files ({first.db_files} of them the SQLite db), "
                f"{first.bytes:,} bytes ({first.db_bytes:,} db) for {self.TASKS} tasks"
            )
            args = ["--n", "100", "--max-workers", "2"]
            done, _ = self.bench.flow_run(fw, "foreach.py", args, cwd=cwd)
            second = store_stats(cwd, fw.name)
            self.db.ketch.values.append((second.db_used_bytes - first.db_used_bytes) / self.TASKS)
            self.db.note = (
                f"db pages in use: {first.db_used_bytes:,} -> {second.db_used_bytes:,} bytes; "
                f"the 2nd run (store already made) took {done.wall_s:.2f} s"
            )
        else:
            self.bytes.note = f"metaflow: {first.files} files, {first.bytes:,} bytes"

    def report(self) -> None:
        for row in (self.files, self.bytes, self.db):
            self.bench.results.add(row)


def foreach1000(bench: Bench, nproc: int) -> None:
    mw2 = foreach(bench, 1000, 2, nproc)
    foreach(bench, 1000, 16, nproc)
    overhead, base = bench.results.get("overhead"), bench.results.get("foreach1.mw2")
    if overhead is None or base is None:
        return
    for side in ("ketch", "metaflow"):
        full, one = getattr(mw2, side), getattr(base, side)
        if full and one:
            per_task = (full.median - one.median) / 999 * 1e3
            overhead.note += f"; {side} from foreach 1,000: {per_task:.2f} ms/task"


def resume(bench: Bench, nproc: int) -> None:
    """Resume a linear run that failed at s8; only where ``resume`` exists."""
    row = bench.results.add(Row("resume", "resume linear 10 after a failure at step 8", "s"))
    row.floor = flow_floor(bench, critical_path([1, 1, 1], 1, nproc))
    row.floor_label = "py start + 3 forks"
    _time_resume(bench, row, "resume", "failing.py", [])


def resume1000(bench: Bench, nproc: int) -> None:
    """Resume a 1,000-task foreach that failed at its join: the 1,000 tasks are reused."""
    row = bench.results.add(
        Row("resume1000", "resume foreach 1,000 (max-workers 2) after a failure at the join", "s")
    )
    row.floor = flow_floor(bench, critical_path([1, 1], 1, nproc))
    row.floor_label = "py start + 2 forks (join, end: the rest is reused)"
    args = ["--max-workers", "2", "--max-num-splits", "1000"]
    _time_resume(bench, row, "resume1000", "failing_foreach.py", args)


def _time_resume(bench: Bench, row: Row, workload: str, flow: str, args: list[str]) -> None:
    """Per framework: a run that fails (not timed), then its ``resume`` (timed)."""
    missing = [fw.name for fw in bench.frameworks if not _has_resume(bench, fw)]
    if "ketch" in missing:
        row.note = "n/a (resume not implemented)"
        return
    fail_env = {**bench.env, "BENCH_FAIL": "1"}
    for _, fw in bench.alternate(workload):
        if fw.name in missing:
            continue
        done, cwd = bench.flow_run(fw, flow, args, env=fail_env, check=False)
        if done.returncode == 0:
            raise RuntimeError(f"{fw.name}: {flow} did not fail with BENCH_FAIL=1")
        done, _ = bench.flow_run(fw, flow, args, cwd=cwd, verb="resume")
        getattr(row, fw.name).values.append(done.wall_s)
        bench.scratch.discard(cwd)


def _has_resume(bench: Bench, fw: Framework) -> bool:
    cwd = bench.scratch.fresh(f"{fw.name}-resume-probe")
    fw.install_flow("failing.py", cwd)
    done = bench.command(fw, fw.flow_cmd("failing.py", "resume", "--help"), cwd, check=False)
    bench.scratch.discard(cwd)
    return done.returncode == 0
