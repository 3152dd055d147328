"""The Ray workloads: ketch's Ray executor on a real 2-node Ray cluster on this machine.

The cluster (``tests/_raycluster.py``, the test suite's launcher: 2 nodes, ``--num-cpus=1``
each, in a loopback-only network namespace) is started once per session and stopped at the end.
Every client (Ray's own no-op script, the ketch driver) runs inside that namespace
(``ip netns exec``) with ``RAY_ADDRESS`` pointing at the head. The same foreach flow runs with
``--executor ray``, with ``--executor fork`` and on Metaflow's local runtime, all with
``--max-workers 4`` (the cluster's 2 CPUs x 2).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from ._context import Bench
from ._env import Framework
from ._machine import REPO
from ._proc import Completed
from ._results import Measure, Row
from ._timing import foreach_args

NODES = 2
WORKERS = 2 * NODES  # --max-workers: the cluster's CPUs (1 per node) x 2
FLOOR_SIZES = (100, 1000)
# The Ray driver's memory beyond the local scheduler's (same flow, same N, --executor fork) is
# "flat" when at 10,000 tasks it is within 20% of what it is at 1,000 tasks.
FLAT = 1.2


def _cluster_module() -> ModuleType:
    """``tests/_raycluster.py``, the test suite's cluster launcher (one copy for both)."""
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import _raycluster

    return _raycluster


class RaySession:
    """The session's Ray cluster: started on first use, stopped at :meth:`close`."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.cluster: Any = None
        self.floor_ms: dict[int, float] = {}  # Ray's no-op task, ms per task, by N
        # ketch's launching process VmHWM, by (executor, tasks)
        self.driver_mib: dict[tuple[str, int], list[float]] = {}

    def start(self) -> Any:
        if self.cluster is None:
            workdir = self.bench.scratch.fresh("ray-cluster")
            self.cluster = _cluster_module().start_ray_cluster(workdir, nodes=NODES)
            self.bench.log(
                f"  Ray cluster ({NODES} nodes) in netns {self.cluster.netns} at "
                f"{self.cluster.address}, started in {self.cluster.seconds_to_start:.1f} s"
            )
        return self.cluster

    def env(self) -> dict[str, str]:
        return {**self.bench.env, **self.start().env()}

    def prefix(self) -> list[str]:
        """What goes before a client's command line: ``ip netns exec NS``."""
        return list(self.start().command([]))

    def describe(self) -> str | None:
        if self.cluster is None:
            return None
        import ray

        return (
            f"Ray {ray.__version__}, {NODES} nodes on this machine (`ray start --num-cpus=1` "
            f"each) in a loopback-only network namespace, started in "
            f"{self.cluster.seconds_to_start:.1f} s"
        )

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None


def floor(bench: Bench, ray: RaySession) -> None:
    """Ray's own no-op task: wall / N for N no-op tasks after a warm-up; connect apart."""
    script = str(Path(__file__).resolve().parent / "_rayfloor.py")
    cmd = [*ray.prefix(), sys.executable, script, *map(str, FLOOR_SIZES)]
    runs: list[dict[str, Any]] = []
    for _ in range(bench.options.repeats):
        done = bench.command(bench.ketch, cmd, bench.scratch.fresh("ray-floor"), env=ray.env())
        runs.append({**json.loads(done.stdout.splitlines()[-1]), "wall_s": done.wall_s})
    connect = statistics.median(r["connect_s"] for r in runs) * 1e3
    process = statistics.median(r["wall_s"] for r in runs)
    for n in FLOOR_SIZES:
        ray.floor_ms[n] = statistics.median(r["walls_s"][str(n)] for r in runs) / n * 1e3
        row = Row(
            f"ray.floor{n}",
            f"Ray: {n:,} no-op @ray.remote(num_cpus=1) tasks, per task (wall / N)",
            "ms/task",
            floor=ray.floor_ms[n],
            floor_label="Ray's no-op task",
            note=f"connect (ray.init) {connect:.0f} ms, not included; whole script "
            f"{process:.2f} s; {len(runs)} runs",
            extra={"runs": runs},
        )
        bench.results.add(row)


def _run(bench: Bench, ray: RaySession, fw: Framework, n: int, executor: str | None) -> Completed:
    """foreach.py, ``n`` tasks: ketch with ``executor`` (ray: in the netns), or Metaflow."""
    args = foreach_args(n, WORKERS)
    if executor is None:
        done, cwd = bench.flow_run(fw, "foreach.py", args)
    else:
        kw: dict[str, Any] = {"sample": "root"}
        if executor == "ray":
            kw.update(env=ray.env(), prefix=ray.prefix())
        done, cwd = bench.flow_run(fw, "foreach.py", [*args, "--executor", executor], **kw)
        ray.driver_mib.setdefault((executor, n), []).append((done.root_hwm_kib or 0) / 1024)
    bench.scratch.discard(cwd)
    return done


def foreach(bench: Bench, ray: RaySession, n: int) -> None:
    """foreach ``n`` on Ray, with fork and on Metaflow, each next to its foreach-1 baseline."""
    walls: dict[str, dict[int, list[float]]] = {"ray": {}, "fork": {}, "metaflow": {}}
    for _, fw in bench.alternate(f"rayforeach{n}"):
        sides = ("ray", "fork") if fw.name == "ketch" else ("metaflow",)
        for side in sides:
            executor = None if side == "metaflow" else side
            for size in (n, 1):
                done = _run(bench, ray, fw, size, executor)
                walls[side].setdefault(size, []).append(done.wall_s)
    per_task = {side: _per_task_ms(w, n) for side, w in walls.items() if w}
    for side in ("ray", "fork"):
        _add_rows(bench, ray, n, side, walls, per_task)


def _per_task_ms(walls: dict[int, list[float]], n: int) -> float:
    return (statistics.median(walls[n]) - statistics.median(walls[1])) / (n - 1) * 1e3


def _add_rows(
    bench: Bench,
    ray: RaySession,
    n: int,
    side: str,
    walls: dict[str, dict[int, list[float]]],
    per_task: dict[str, float],
) -> None:
    how = f"--executor {side} (max-workers {WORKERS})"
    wall = Row(f"ray.foreach{n}.{side}", f"Ray: foreach {n:,}, {how}; Metaflow local", "s")
    wall.ketch.values += walls[side][n]
    wall.metaflow.values += walls["metaflow"].get(n, [])
    base = statistics.median(walls[side][1])
    wall.note = f"wall / N: {statistics.median(walls[side][n]) / n * 1e3:.2f} ms/task; " + (
        f"foreach 1: {base:.2f} s"
    )
    task = Row(
        f"ray.overhead{n}.{side}",
        f"Ray: per-task ms, (foreach {n:,} - foreach 1) / {n - 1}, {how}; Metaflow local",
        "ms/task",
        extra={"walls_s": walls},
    )
    task.ketch.values.append(per_task[side])
    if "metaflow" in per_task:
        task.metaflow.values.append(per_task["metaflow"])
    if side == "ray" and n in ray.floor_ms:
        task.floor, task.floor_label = ray.floor_ms[n], "Ray's no-op task"
    task.extra["fork_ms"] = per_task.get("fork")
    bench.results.add(wall)
    bench.results.add(task)


def scheduler10k(bench: Bench, ray: RaySession) -> None:
    """The ketch driver's peak RSS (VmHWM) on Ray at 1,000 and 10,000 tasks, and what of it is
    Ray's: beyond the local scheduler's at the same N (``--executor fork``), which holds what
    the join of N tasks needs whatever the executor."""
    n = 10_000
    for executor, size in (("ray", 1000), ("fork", 1000), ("fork", n)):
        if (executor, size) not in ray.driver_mib:
            _run(bench, ray, bench.ketch, size, executor)
    done = _run(bench, ray, bench.ketch, n, "ray")
    mib = {key: statistics.median(values) for key, values in ray.driver_mib.items()}
    small = mib["ray", 1000] - mib["fork", 1000]
    big = mib["ray", n] - mib["fork", n]
    verdict = "flat" if big <= small * FLAT else "NOT flat"
    bench.results.add(
        Row(
            "ray.scheduler.memory",
            f"Ray: driver peak RSS (VmHWM) beyond the local scheduler's, foreach 10,000 "
            f"(max-workers {WORKERS})",
            "MiB",
            ketch=Measure([big]),
            floor=small,
            floor_label="the same at foreach 1,000",
            note=f"{verdict} (within {FLAT - 1:.0%}: {big / small:.2f}x); driver on Ray "
            f"{mib['ray', 1000]:.0f} -> {mib['ray', n]:.0f} MiB, with fork "
            f"{mib['fork', 1000]:.0f} -> {mib['fork', n]:.0f} MiB (1,000 -> 10,000 tasks)",
        )
    )
    bench.results.add(
        Row(
            "ray.scheduler.time",
            f"Ray: foreach 10,000, --executor ray (max-workers {WORKERS}), ketch only",
            "s",
            ketch=Measure([done.wall_s]),
            note=f"wall / N: {done.wall_s / n * 1e3:.2f} ms/task",
        )
    )
