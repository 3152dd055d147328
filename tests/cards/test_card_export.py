"""``python flow.py card export``: every card of a run, step or task, as HTML files."""

from __future__ import annotations

import pytest
from cardflows import REPORT
from flowrun import Project

from ketch.cards import get_cards

pytestmark = pytest.mark.slow


def test_card_export_command(project: Project) -> None:
    project.write("flow.py", REPORT)
    ran = project.run("flow.py", "run", "--run-id-file", "run-id")
    assert ran.returncode == 0, ran.stderr
    run_id = project.run_id()

    latest = project.run("flow.py", "card", "export")  # the latest run, into ./cards
    assert latest.returncode == 0, latest.stderr
    from ketch import Step

    task = Step(f"ReportFlow/{run_id}/start").task
    assert task is not None
    task_id = task.id
    names = [f"start-{task_id}-blank-summary-0.html", f"start-{task_id}-default-1.html"]
    assert sorted(p.name for p in (project.root / "cards").iterdir()) == names
    for name, card in zip(names, get_cards(task), strict=True):
        assert (project.root / "cards" / name).read_text() == card.get()
    assert "2 card(s) written to cards" in latest.stderr

    step = project.run("flow.py", "card", "export", f"{run_id}/end", "--output-dir", "out")
    assert step.returncode == 0 and "0 card(s)" in step.stderr

    missing = project.run("flow.py", "card", "export", "99999")
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
