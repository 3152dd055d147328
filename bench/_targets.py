"""The issue's targets, each checked against this session's figures."""

from __future__ import annotations

from collections.abc import Callable

from ._format import size
from ._results import Results, Row, Target


def _row(results: Results, key: str) -> Row | None:
    row = results.get(key)
    return row if row is not None and not row.error else None


def _speedup(results: Results, key: str, factor: float, text: str) -> Target:
    row = _row(results, key)
    if row is None or row.ratio is None:
        return Target(text, None, "not measured")
    return Target(text, row.ratio >= factor, f"{row.ratio:,.1f}x faster")


def _within_floor(results: Results, key: str, factor: float, text: str) -> Target:
    row = _row(results, key)
    if row is None or row.vs_floor is None:
        return Target(text, None, "not measured")
    return Target(text, row.vs_floor <= factor, f"{row.vs_floor:.2f}x the floor")


def _memory(results: Results) -> Target:
    text = "1 GB case: peak memory ≤ 1.5x the array"
    row = _row(results, "bigarray.memory")
    if row is None or not row.ketch or not row.floor:
        return Target(text, None, "not measured")
    times = row.ketch.median / row.floor
    return Target(text, times <= 1.5, f"{row.ketch.median:,.0f} MiB = {times:.2f}x the array")


def _compressed(results: Results) -> list[Target]:
    row = _row(results, "compressible.bytes")
    fewer = "compressible case: fewer bytes stored than Metaflow's gzip"
    near = "compressible case: within 2x of the floor"
    if row is None or not row.ketch:
        return [Target(fewer, None, "not measured"), Target(near, None, "not measured")]
    k = row.ketch.median
    out = [Target(fewer, None, "Metaflow not measured")]
    if row.metaflow:
        out[0] = Target(fewer, k < row.metaflow.median, f"{size(k)} vs {size(row.metaflow.median)}")
    out.append(_within_floor(results, "compressible.bytes", 2, near))
    return out


def _files(results: Results) -> Target:
    text = "≤ 3 files per task in the datastore"
    row = _row(results, "disk.files")
    if row is None or not row.ketch:
        return Target(text, None, "not measured")
    return Target(text, row.ketch.median <= 3, f"{row.ketch.median:.2f} files/task")


def _scheduler(results: Results) -> Target:
    text = "scheduler peak memory < 200 MB for 10,000 tasks"
    row = _row(results, "scheduler.memory")
    if row is None or not row.ketch:
        return Target(text, None, "not measured")
    return Target(text, row.ketch.median < 200, f"{row.ketch.median:,.0f} MiB")


def _ui_pages(results: Results) -> Target:
    text = "UI: run and step pages of a 1,000-task foreach in < 1 s each"
    run, step = _row(results, "ui.run"), _row(results, "ui.step")
    if run is None or step is None or not run.ketch or not step.ketch:
        return Target(text, None, "not measured")
    worst = max(run.ketch.median, step.ketch.median)
    figure = f"run {run.ketch.median * 1e3:.0f} ms, step {step.ketch.median * 1e3:.0f} ms"
    return Target(text, worst < 1, figure)


def _ui100k(results: Results) -> Target:
    text = "UI 100k: every page of a 100,000-task run loads in < 1 s in Chromium"
    rows = [r for r in results.rows.values() if r.key.startswith("ui100k.") and r.ketch]
    pages = [r for r in rows if r.key != "ui100k.foreach_run"]
    if not pages:
        return Target(text, None, "not measured")
    worst = max(pages, key=lambda r: r.ketch.median)
    label = worst.label.removeprefix("UI 100k: ")
    return Target(text, worst.ketch.median < 1, f"slowest: {label}, {worst.ketch.median:.2f} s")


def _s3_puts(results: Results) -> Target:
    text = "S3: PUTs per small task ≤ 1 (foreach 100)"
    row = _row(results, "s3.puts")
    if row is None or not row.ketch:
        return Target(text, None, "not measured")
    return Target(text, row.ketch.median <= 1, f"{row.ketch.median:.2f} PUTs/task")


S3_TARGETS: list[Callable[[Results], Target]] = [
    lambda r: _speedup(r, "s3.foreach100", 20, "S3: foreach 100 ≥ 20x faster than Metaflow"),
    lambda r: _speedup(
        r, "s3.bigarray.time", 10, "S3: 1 GiB write + read ≥ 10x faster than Metaflow"
    ),
    lambda r: _within_floor(
        r, "s3.bigarray.time", 2, "S3: 1 GiB write + read within 2x of the raw client floor"
    ),
    _s3_puts,
]


def _ray_overhead(results: Results) -> Target:
    text = "Ray: per-task overhead within 2x of Ray's no-op task + ketch's local per-task cost"
    for n in (1000, 100):
        row = _row(results, f"ray.overhead{n}.ray")
        fork = row.extra.get("fork_ms") if row is not None else None
        if row is None or not row.ketch or row.floor is None or fork is None:
            continue
        bound = 2 * (row.floor + fork)
        detail = (
            f"foreach {n:,}: {row.ketch.median:.2f} ms/task vs 2 x ({row.floor:.2f} Ray no-op "
            f"+ {fork:.2f} fork) = {bound:.2f} ms/task"
        )
        return Target(text, row.ketch.median <= bound, detail)
    return Target(text, None, "not measured")


def _ray_memory(results: Results) -> Target:
    text = (
        "Ray: driver memory beyond the local scheduler's flat from 1,000 to 10,000 tasks "
        "(within 20%)"
    )
    row = _row(results, "ray.scheduler.memory")
    if row is None or row.vs_floor is None or row.floor is None:
        return Target(text, None, "not measured")
    detail = f"{row.floor:,.0f} MiB -> {row.ketch.median:,.0f} MiB ({row.vs_floor:.2f}x)"
    return Target(text, row.vs_floor <= 1.2, detail)


def _metrics(results: Results) -> Target:
    text = "metrics: logging 10,000 points costs a task < 50 ms"
    row = _row(results, "metrics10k.task")
    if row is None or not row.ketch:
        return Target(text, None, "not measured")
    run = _row(results, "metrics10k.run")
    extra = ""
    if run is not None and run.ketch and run.floor:
        extra = f"; run {run.ketch.median:.2f} s vs {run.floor:.2f} s logging nothing"
    return Target(text, row.ketch.median < 50, f"{row.ketch.median:.1f} ms in the task{extra}")


RAY_TARGETS: list[Callable[[Results], Target]] = [_ray_overhead, _ray_memory]


def targets(results: Results) -> list[Target]:
    checks: list[Callable[[], Target | list[Target]]] = [
        lambda: _speedup(results, "linear10", 30, "linear 10 ≥ 30x faster than Metaflow"),
        lambda: _speedup(
            results,
            "foreach100.mw2",
            60,
            "foreach 100, --max-workers 2: ≥ 60x faster than Metaflow",
        ),
        lambda: _within_floor(results, "overhead", 3, "per-task overhead within 3x the fork floor"),
        lambda: _within_floor(
            results, "bigarray.time", 2, "1 GB write+read within 2x the pickle-5 floor"
        ),
        lambda: _speedup(
            results, "bigarray.time", 20, "1 GB write+read ≥ 20x faster than Metaflow"
        ),
        lambda: _memory(results),
        lambda: _compressed(results),
        lambda: _files(results),
        lambda: _scheduler(results),
        lambda: _speedup(
            results, "client", 20, "Client: 100 runs + 1 artifact each ≥ 20x faster than Metaflow"
        ),
        lambda: _ui_pages(results),
        lambda: _ui100k(results),
        lambda: _metrics(results),
        *(lambda check=check: check(results) for check in S3_TARGETS),
        *(lambda check=check: check(results) for check in RAY_TARGETS),
    ]
    out: list[Target] = []
    for check in checks:
        found = check()
        out.extend(found if isinstance(found, list) else [found])
    return out
