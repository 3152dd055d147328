"""``python -m bench --only X --write-docs`` updates only the rows and targets it measured in
docs/benchmarks.md; a full session rewrites the main part."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import _docs  # noqa: E402
from bench._results import Results, Row, Target  # noqa: E402


def _meta(command: str, only: list[str] | None) -> dict[str, Any]:
    machine = {"nproc": 2, "cpu": "cpu", "memory_gib": 8, "platform": "Linux", "python": "3.11"}
    machine |= {"ketch_commit": "abc1234", "ketch_version": "0.1.0"}
    return {
        "date": "2026-12-05 08:00:00 UTC",
        "command": command,
        "machine": machine,
        "options": {"only": only},
        "repeats_note": "Runs per figure: ...",
    }


def _row(key: str, label: str, value: float) -> Row:
    row = Row(key, label, "ms")
    row.ketch.values.append(value)
    return row


def _session(*rows: Row) -> Results:
    results = Results()
    for row in rows:
        results.add(row)
    return results


@pytest.fixture
def doc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "benchmarks.md"
    monkeypatch.setattr(_docs, "DOC", path)
    full = _session(
        _row("floor.fork", "fork floor", 1.0),
        _row("linear10", "linear, 10 steps", 120.0),
        _row("metrics10k.task", "log_metric x 10,000 in one task", 9.0),
    )
    targets = [Target("linear fast", True, "17x"), Target("metrics cheap", True, "9.0 ms")]
    _docs.write_docs(full, targets, _meta("python -m bench", None))
    text = path.read_text()
    path.write_text(text + "A hand-written note.\n")
    return path


def test_only_replaces_the_rows_it_measured(doc: Path) -> None:
    session = _session(
        _row("floor.fork", "fork floor", 5.0),  # measured by every session: kept as it was
        _row("metrics10k.task", "log_metric x 10,000 in one task", 7.5),
        _row("ui.run", "UI: run page", 40.0),  # a row the page did not have yet: added
    )
    targets = [
        Target("linear fast", None, "not measured"),
        Target("metrics cheap", True, "7.5 ms"),
    ]
    command = "python -m bench --only metrics10k,ui1000 --write-docs"
    _docs.write_docs(session, targets, _meta(command, ["metrics10k", "ui1000"]))
    text = doc.read_text()
    assert "| log_metric x 10,000 in one task | 7.50 ms |" in text
    assert "9.00 ms" not in text and "7.5 ms" in text and "| metrics cheap | met | 7.5 ms |" in text
    assert "| linear, 10 steps | 120.00 ms |" in text and "| linear fast | met | 17x |" in text
    assert "| fork floor | 1.00 ms |" in text and "5.00 ms" not in text
    rows = text[text.index("## Results") : text.index("## Targets")]
    assert rows.index("log_metric") < rows.index("UI: run page")
    assert "- Command: `python -m bench`" in text
    bullet = f"- Updated by `{command}` on 2026-12-05 08:00:00 UTC (load average before and "
    bullet += "after: not recorded): "
    assert bullet + "log_metric x 10,000 in one task; UI: run page" in text
    assert text.endswith("A hand-written note.\n")

    _docs.write_docs(session, targets, _meta(command, ["metrics10k", "ui1000"]))
    assert doc.read_text() == text  # the same session again: the same page, one bullet


def test_a_full_session_rewrites_the_main_part(doc: Path) -> None:
    session = _session(_row("linear10", "linear, 10 steps", 99.0))
    _docs.write_docs(session, [], _meta("python -m bench", None))
    text = doc.read_text()
    assert "| linear, 10 steps | 99.00 ms |" in text and "log_metric" not in text
    assert text.endswith("A hand-written note.\n")
