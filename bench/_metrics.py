"""log_metric's cost: 10,000 points logged in one task (ketch only; Metaflow has no metrics)."""

from __future__ import annotations

import re
import statistics

from ._context import Bench
from ._proc import BenchError
from ._results import Row

N = 10_000
_LOG_MS = re.compile(r"LOG_MS=([0-9.]+)")


def metrics10k(bench: Bench) -> None:
    """Time inside the task (the logging loop), and the run's total against the same flow
    logging nothing (which adds the scheduler's write of the points)."""
    inside = bench.results.add(
        Row("metrics10k.task", f"log_metric x {N:,} in one task (time in the task)", "ms")
    )
    total = bench.results.add(
        Row(
            "metrics10k.run",
            f"run logging {N:,} points, ketch only",
            "s",
            floor_label="the same flow logging nothing",
        )
    )
    empty = []
    for _ in range(bench.options.repeats):
        done, run_dir = bench.flow_run(bench.ketch, "metrics10k.py", ["--n", str(N)])
        found = _LOG_MS.search(done.stdout + done.stderr)
        if found is None:
            raise BenchError("metrics10k.py: the task never printed LOG_MS=")
        inside.ketch.values.append(float(found.group(1)))
        total.ketch.values.append(done.wall_s)
        bench.scratch.discard(run_dir)
        done, run_dir = bench.flow_run(bench.ketch, "metrics10k.py", ["--n", "0"])
        empty.append(done.wall_s)
        bench.scratch.discard(run_dir)
    total.floor = statistics.median(empty)
