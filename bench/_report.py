"""The terminal table and the JSON record of a session."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ._format import HEADERS, cells
from ._results import Results, Target

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MARK = {True: "[green]met[/green]", False: "[red]NOT met[/red]", None: "[yellow]n/a[/yellow]"}


def print_report(results: Results, targets: list[Target], repeats_note: str) -> None:
    console = Console(width=220)
    table = Table(title="ketch vs Metaflow (medians)", header_style="bold", show_lines=False)
    for header in HEADERS:
        table.add_column(header, overflow="fold", max_width=60 if header == "note" else None)
    for row in results.rows.values():
        table.add_row(*cells(row), style="red" if row.error else None)
    console.print(table)
    console.print(repeats_note)
    goals = Table(title="targets", header_style="bold")
    for header in ("target", "result", "figure"):
        goals.add_column(header)
    for target in targets:
        goals.add_row(target.text, MARK[target.met], target.detail)
    console.print(goals)
    for failure in results.failures:
        console.print(f"[red bold]FAILED[/red bold] {failure}", markup=True, highlight=False)


def write_json(
    results: Results, targets: list[Target], meta: dict[str, Any], path: Path | None = None
) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = path or RESULTS_DIR / time.strftime("bench-%Y%m%d-%H%M%S.json")
    data = {
        **meta,
        "rows": [row.to_json() for row in results.rows.values()],
        "targets": [t.__dict__ for t in targets],
        "failures": results.failures,
    }
    path.write_text(json.dumps(data, indent=2, default=str))
    (RESULTS_DIR / "latest.json").write_text(path.read_text())
    return path


def load_json(path: Path) -> tuple[Results, dict[str, Any]]:
    """Rebuild a session's rows (and its metadata) from a JSON record."""
    from ._results import Measure, Row

    data = json.loads(path.read_text())
    results = Results()
    for raw in data.pop("rows"):
        for derived in ("ratio", "vs_floor"):
            raw.pop(derived, None)
        for side in ("ketch", "metaflow"):
            raw[side] = Measure(raw[side]["values"])
        results.add(Row(**raw))
    results.failures = data.pop("failures", [])
    data.pop("targets", None)
    return results, data
