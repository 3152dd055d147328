"""Floors: what the same work costs without any framework, measured in the same session."""

from __future__ import annotations

import json
import pickle
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._context import Bench
from ._results import Row

HERE = Path(__file__).resolve().parent


def python_start(bench: Bench, repeats: int = 10) -> float:
    """Median wall time of ``python -c pass`` (cached in ``bench.floors['pass']``)."""
    if "pass" not in bench.floors:
        cwd = bench.scratch.fresh("floor-pass")
        walls = [
            bench.command(bench.ketch, [sys.executable, "-c", "pass"], cwd).wall_s
            for _ in range(repeats)
        ]
        bench.floors["pass"] = statistics.median(walls)
    return bench.floors["pass"]


def fork_floors(bench: Bench, rounds: int = 3) -> float:
    """Fork + pickle a small dict to a pipe + exit, from a bare and from a numpy parent.

    Each variant runs ``rounds`` times (300 forks each, alternating); the figure is the lowest
    of the medians, since other load on the machine only ever adds time. Adds two rows and
    returns the bare figure in seconds (cached in ``bench.floors['fork']``).
    """
    if "fork" in bench.floors:
        return bench.floors["fork"]
    cwd = bench.scratch.fresh("floor-fork")
    medians: dict[str, list[float]] = {"fork": [], "fork_numpy": []}
    for _ in range(rounds):
        for key in medians:
            flag = ["--numpy"] if key == "fork_numpy" else []
            cmd = [sys.executable, str(HERE / "_forkfloor.py"), *flag, "300"]
            values = json.loads(bench.command(bench.ketch, cmd, cwd).stdout)
            medians[key].append(statistics.median(values))
    for key, found in medians.items():
        bench.floors[key] = min(found)
        label = "fork floor" + (" (parent imported numpy)" if key == "fork_numpy" else "")
        note = f"lowest median of {rounds} x 300 forks: " + ", ".join(
            f"{m * 1e3:.2f}" for m in found
        )
        bench.results.add(
            Row(
                f"floor.{key}",
                label,
                "ms",
                floor=bench.floors[key] * 1e3,
                floor_label="fork+pickle+exit",
                note=note + " ms",
            )
        )
    return bench.floors["fork"]


def flow_floor(bench: Bench, critical_tasks: float) -> float:
    """Interpreter start plus one fork floor per task on the critical path."""
    return python_start(bench) + critical_tasks * fork_floors(bench)


def io_floor(bench: Bench, kind: str, mib: int) -> tuple[float, dict[str, Any], int]:
    """The plain-script version of the 1 GiB flows: (wall s, phases, peak tree PSS KiB)."""
    cwd = bench.scratch.fresh(f"floor-{kind}")
    cmd = [sys.executable, str(HERE / "_iofloor.py"), kind, str(mib), str(cwd)]
    done = bench.command(bench.ketch, cmd, cwd, sample="tree")
    bench.scratch.discard(cwd)
    peak = max(done.tree_peak_kib or 0, done.max_rss_kib)
    return done.wall_s, json.loads(done.stdout), peak


def client_floor(n_runs: int, repeats: int = 5) -> float:
    """Read ``n_runs`` rows from SQLite, then open and unpickle one small file per row."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        db = sqlite3.connect(root / "runs.db")
        db.execute("create table runs (id integer primary key, path text)")
        for i in range(n_runs):
            path = root / f"{i}.pkl"
            path.write_bytes(pickle.dumps(42))
            db.execute("insert into runs values (?, ?)", (i, str(path)))
        db.commit()
        db.close()
        walls = []
        for _ in range(repeats):
            start = time.perf_counter()
            conn = sqlite3.connect(root / "runs.db")
            rows = conn.execute("select id, path from runs order by id desc").fetchall()
            values = [pickle.loads(Path(p).read_bytes()) for _, p in rows]
            conn.close()
            walls.append(time.perf_counter() - start)
            assert values == [42] * n_runs
    return statistics.median(walls)
