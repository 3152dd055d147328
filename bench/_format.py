"""Formatting of figures by unit, shared by the terminal table and the markdown page."""

from __future__ import annotations

from ._results import Row, Unit


def value(x: float | None, unit: Unit) -> str:
    if x is None:
        return "—"
    if unit == "s":
        return f"{x * 1e3:.1f} ms" if x < 1 else f"{x:.2f} s"
    if unit in ("ms", "ms/task"):
        return f"{x:.2f} {unit}"
    if unit == "MiB":
        return f"{x:,.0f} MiB"
    if unit in ("bytes", "bytes/task"):
        return size(x) + ("/task" if unit == "bytes/task" else "")
    return f"{x:.2f} {unit}"


def size(n: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


def ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:,.1f}x"


def cells(row: Row) -> list[str]:
    """workload, ketch, metaflow, metaflow/ketch, floor, ketch/floor, repeats, note."""
    if row.error:
        return [row.label, "FAILED", "", "", "", "", "", row.error]
    ketch = value(row.ketch.median if row.ketch else None, row.unit)
    metaflow = value(row.metaflow.median if row.metaflow else None, row.unit)
    floor = value(row.floor, row.unit)
    if row.floor_label and row.floor is not None:
        floor = f"{floor} ({row.floor_label})"
    repeats = f"{len(row.ketch.values)}/{len(row.metaflow.values)}"
    if not row.ketch and not row.metaflow:
        repeats = "—"
    note = row.note
    if not row.ketch and row.note.startswith("n/a"):
        ketch, note = row.note, ""
    return [row.label, ketch, metaflow, ratio(row.ratio), floor, ratio(row.vs_floor), repeats, note]


HEADERS = [
    "workload",
    "ketch",
    "metaflow",
    "mf / ketch",
    "floor",
    "ketch / floor",
    "runs k/m",
    "note",
]
