"""The 1 GiB workloads: an incompressible array and a compressible one, each next to its floor."""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from ._context import Bench
from ._env import Framework
from ._floors import io_floor
from ._proc import Completed
from ._results import Row
from ._store import store_stats

MIB = 1024  # the array size of the 1 GiB workloads
_TOUCH = (
    "import time; t = time.perf_counter(); b = b'x' * (1 << 30); print(time.perf_counter() - t)"
)
PREFAULT_GIB = 4


def prefault(bench: Bench) -> None:
    """Touch and free a few GiB right before a measured run (not timed).

    Some VMs (this one: virtio-balloon free page reporting) hand freed memory back to the host
    after a few seconds, and touching it again then costs seconds per GiB. A process that
    touches memory just after another one freed it does not pay that. Without this step the
    figure would depend on how long ago the previous command ended; with it every measured
    command (floor, ketch, Metaflow) starts in the same state.
    """
    code = f"b = b'x' * ({PREFAULT_GIB} << 30)"
    bench.command(bench.ketch, [sys.executable, "-c", code], bench.scratch.root)


def _peak_mib(done: Completed) -> float:
    """The larger of the sampled tree PSS peak and the kernel's largest-process peak RSS."""
    return max(done.tree_peak_kib or 0, done.max_rss_kib) / 1024


def _memory_extra(done: Completed) -> dict[str, float]:
    return {
        "tree_pss_peak_mib": (done.tree_peak_kib or 0) / 1024,
        "largest_process_max_rss_mib": done.max_rss_kib / 1024,
    }


def _phases(floors: list[dict[str, Any]]) -> str:
    med = {k: statistics.median(f[k] for f in floors) for k in ("make", "write", "read", "sum")}
    return (
        f"floor phases: make {med['make']:.2f} s, write+fsync {med['write']:.2f} s, "
        f"read {med['read']:.2f} s, sum {med['sum']:.2f} s"
    )


def touch_memory(bench: Bench) -> None:
    """Filling 1 GiB of new memory, cold (after 10 s idle) and right after a prefault."""
    cwd = bench.scratch.fresh("floor-touch")
    cmd = [sys.executable, "-c", _TOUCH]
    time.sleep(10)
    cold = float(bench.command(bench.ketch, cmd, cwd).stdout)
    values = []
    for _ in range(3):
        prefault(bench)
        values.append(float(bench.command(bench.ketch, cmd, cwd).stdout))
    bench.results.add(
        Row(
            "floor.touch",
            "fill 1 GiB of new memory (b'x' * 2**30)",
            "s",
            floor=statistics.median(values),
            floor_label="in a fresh process",
            note=f"after 10 s idle: {cold:.2f} s; the figure: right after a prefault (see docs)",
        )
    )


def big_array(bench: Bench) -> None:
    touch_memory(bench)
    wall = bench.results.add(
        Row(
            "bigarray.time",
            "1 GiB float64 array: make, store, load, sum",
            "s",
            floor_label="plain script, pickle-5 + fsync",
        )
    )
    memory = bench.results.add(
        Row(
            "bigarray.memory",
            "1 GiB float64 array: peak memory",
            "MiB",
            floor=float(MIB),
            floor_label="the array itself",
        )
    )
    floors: list[dict[str, Any]] = []
    floor_peaks: list[float] = []
    for _, fw in bench.alternate("bigarray"):
        if fw.name == "ketch":  # the floor runs next to each ketch run: the machine drifts
            prefault(bench)
            floor_s, phases, peak_kib = io_floor(bench, "random", MIB)
            floors.append({**phases, "wall": floor_s})
            floor_peaks.append(peak_kib / 1024)
        prefault(bench)
        done, cwd = bench.flow_run(fw, "bigarray.py", ["--mib", str(MIB)], sample="tree")
        getattr(wall, fw.name).values.append(done.wall_s)
        getattr(memory, fw.name).values.append(_peak_mib(done))
        memory.extra.setdefault(fw.name, []).append(_memory_extra(done))
        bench.scratch.discard(cwd, now=True)
    wall.floor = statistics.median(f["wall"] for f in floors)
    wall.note = _phases(floors)
    wall.extra["floors"] = floors
    memory.note = f"plain script peak: {statistics.median(floor_peaks):,.0f} MiB"


def compressible(bench: Bench) -> None:
    stored = bench.results.add(
        Row(
            "compressible.bytes",
            "1 GiB of zeros: bytes stored for the array",
            "bytes",
            floor_label="zstd level 3 of the array",
            note="store size after the run minus the store size of a --mib 0 run",
        )
    )
    wall = bench.results.add(
        Row(
            "compressible.time",
            "1 GiB of zeros: make, store, load, sum",
            "s",
            floor_label="plain script, zstd-3 + fsync",
        )
    )
    empty = {fw.name: _store_bytes(bench, fw, 0)[0] for fw in bench.frameworks}
    floors: list[dict[str, Any]] = []
    for _, fw in bench.alternate("compressible"):
        if fw.name == "ketch":
            prefault(bench)
            floor_s, phases, _ = io_floor(bench, "zeros", MIB)
            floors.append({**phases, "wall": floor_s})
        prefault(bench)
        size, seconds = _store_bytes(bench, fw, MIB)
        getattr(stored, fw.name).values.append(float(size - empty[fw.name]))
        getattr(wall, fw.name).values.append(seconds)
    stored.floor = float(floors[0]["bytes"])
    shares = [
        f"{side} 1/{MIB * 2**20 / m.median:,.0f}"
        for side, m in (("ketch", stored.ketch), ("metaflow", stored.metaflow))
        if m and m.median > 0
    ]
    stored.note += f"; of the raw {MIB} MiB: " + ", ".join(shares)
    stored.extra["empty_store_bytes"] = empty
    wall.floor = statistics.median(f["wall"] for f in floors)
    wall.note = _phases(floors)


def _store_bytes(bench: Bench, fw: Framework, mib: int) -> tuple[int, float]:
    done, cwd = bench.flow_run(fw, "compressible.py", ["--mib", str(mib)])
    size = store_stats(cwd, fw.name).bytes
    bench.scratch.discard(cwd, now=True)
    return size, done.wall_s
