"""Cards end to end: real flows in real processes, then the client and the card commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cardflows import BAD_DECORATOR, BROKEN, LIVE, PLAIN, REPORT
from cardutil import assert_self_contained
from flowrun import Project

from ketch.cards import get_cards, list_cards, live_card_html

pytestmark = pytest.mark.slow


@dataclass
class Ran:
    project: Project
    run_id: str

    def task(self, step: str) -> str:
        from ketch import Step

        found = Step(f"ReportFlow/{self.run_id}/{step}").task
        assert found is not None
        return found.pathspec


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    """ReportFlow, run once for the module; the test process works in its directory."""
    root = tmp_path_factory.mktemp("cards")
    with pytest.MonkeyPatch.context() as mp:
        for name in [k for k in os.environ if k.startswith("KETCH_")]:
            mp.delenv(name)
        mp.setenv("USER", "tester")
        mp.setenv("CI", "1")  # never open a browser
        mp.chdir(root)
        project = Project(root)
        project.write("flow.py", REPORT)
        proc = project.run("flow.py", "run", "--alpha", "0.25", "--run-id-file", "run-id")
        assert proc.returncode == 0, proc.stderr
        yield Ran(project, project.run_id())


def test_report_flow_stores_a_default_and_a_blank_card(report: Ran) -> None:
    cards = get_cards(report.task("start"))
    assert [(c.type, c.id) for c in cards] == [("blank", "summary"), ("default", None)]
    assert [c.position for c in cards] == [0, 1]
    assert all(c.error is None for c in cards)
    assert [c.type for c in get_cards(report.task("start"), id="summary")] == ["blank"]
    assert [c.id for c in get_cards(report.task("start"), type="default")] == [None]
    assert get_cards(report.task("start"), type="nope") == []


def test_default_card_content(report: Ran) -> None:
    html = get_cards(report.task("start"), type="default")[0].get()
    assert_self_contained(html)
    # parameters
    assert "<td>alpha</td><td>0.25</td>" in html
    # artifacts: previews, and a summary for the large one
    assert "scores" in html and "[0.5, 0.75, 0.9]" in html
    assert "model_name" in html and "forest&lt;1&gt;" in html
    assert "big_blob" in html and "not previewed" in html and "zzzzzzzz" not in html
    # the DAG, with this step highlighted
    assert '<svg class="dag"' in html
    assert '<g class="node current" data-step="start"' in html
    assert '<g class="node" data-step="end"' in html
    # the components, escaped
    assert "Report for &lt;script&gt;" in html
    assert "<th>letter</th><th>count</th>" in html
    assert 'src="data:image/png;base64,' in html and "green pixels" in html
    assert "scores preview" in html
    assert 'data-ketch-vega="vega-lite"' in html and "score chart" in html


def test_blank_card_content(report: Ran) -> None:
    html = get_cards(report.task("start"), id="summary")[0].get()
    assert_self_contained(html)
    assert "<h1>Summary</h1>" in html
    assert "4 / 4 (100%)" in html and 'data-component-id="progress"' in html
    assert "accuracy" in html and "0.9" in html
    assert "A handled error" in html and "ValueError: shown, not raised" in html
    assert "Parameters" not in html and '<svg class="dag"' not in html


def test_card_objects(report: Ran, capsys: pytest.CaptureFixture[str]) -> None:
    from ketch import Task

    task = Task(report.task("start"))
    card = get_cards(task)[1]
    assert card.hash == list_cards(task)[1].key and len(card.hash) == 64
    assert card.path is not None and Path(card.path).read_text() == card.get()
    path = card.view()  # CI is set: prints the path instead of opening a browser
    assert Path(path).read_text() == card.get()
    assert path in capsys.readouterr().out
    assert "iframe" in card._repr_html_()
    assert "ReportFlow" in repr(card)


def test_cards_are_private_to_their_task(report: Ran) -> None:
    from ketch import Task

    start, end = Task(report.task("start")), Task(report.task("end"))
    assert "_cards" in start and "_cards" not in [a.id for a in start.artifacts]
    records = start["_cards"].data
    assert [set(r) for r in records] == [{"type", "id", "key", "position", "error"}] * 2
    assert "_cards" not in end  # not inherited by the successor
    assert list_cards(end) == [] and len(get_cards(end.pathspec)) == 0
    assert end.data.total == pytest.approx(2.15)


def test_card_list_command(report: Ran) -> None:
    proc = report.project.run("flow.py", "card", "list", f"{report.run_id}/start", "--as-json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["type"], r["id"], r["position"]) for r in rows] == [
        ("blank", "summary", 0),
        ("default", None, 1),
    ]
    assert rows[0]["pathspec"] == report.task("start")
    text = report.project.run("flow.py", "card", "list")  # the latest run
    assert text.returncode == 0, text.stderr
    assert f"Cards of {report.task('start')}:" in text.stdout
    assert "id=summary" in text.stdout and rows[1]["hash"][:12] in text.stdout


def test_card_get_command(report: Ran) -> None:
    task = report.task("start").split("/", 1)[1]
    proc = report.project.run("flow.py", "card", "get", task, "--id", "summary")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == get_cards(report.task("start"), id="summary")[0].get()
    both = report.project.run("flow.py", "card", "get", task, "out.html")
    assert both.returncode == 0, both.stderr
    assert "2 matching cards" in both.stderr
    written = (report.project.root / "out.html").read_text()
    assert written == get_cards(report.task("start"))[0].get()
    by_step = report.project.run(
        "flow.py", "card", "get", f"{report.run_id}/start", "--type", "default"
    )
    assert by_step.returncode == 0 and "<h2>Parameters</h2>" in by_step.stdout


def test_card_view_command(report: Ran) -> None:
    task = report.task("start").split("/", 1)[1]
    proc = report.project.run("flow.py", "card", "view", task, "--type", "default", CI="1")
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.strip())
    assert path.read_text() == get_cards(report.task("start"), type="default")[0].get()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get", "{run}/end/2"], "has no card"),
        (["get", "{run}/start/1", "--id", "nope"], "has no card with id=nope"),
        (["view", "{run}/nosuch/9"], "does not exist"),
        (["get", "99999/start/1"], "does not exist"),
        (["view", "justone"], "is not a task path"),
        (["list", "99999"], "does not exist"),
    ],
)
def test_card_command_errors(report: Ran, args: list[str], message: str) -> None:
    argv = [a.format(run=report.run_id) for a in args]
    proc = report.project.run("flow.py", "card", *argv)
    assert proc.returncode == 1, proc.stdout
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_rendering_errors_store_an_error_card_and_the_run_succeeds(project: Project) -> None:
    project.write("flow.py", BROKEN)
    started = time.monotonic()
    proc = project.run("flow.py", "run", "--run-id-file", "run-id")
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 25  # the slow card was cut off after its timeout
    run = f"BrokenCardFlow/{project.run_id()}"
    start = get_cards(f"{run}/start/1")[0]
    assert start.error == "RuntimeError: component exploded"
    assert "could not be rendered" in start.get() and "component exploded" in start.get()
    assert_self_contained(start.get())
    slow = get_cards(f"{run}/slow/2")[0]
    assert slow.error is not None and "timed out after 1 seconds" in slow.error
    end = get_cards(f"{run}/end/3")[0]
    assert end.error is None and "the end card" in end.get()
    listed = project.run("flow.py", "card", "list", project.run_id())
    assert "(render error)" in listed.stdout


def test_with_card_adds_a_default_card_to_every_step(project: Project) -> None:
    project.write("flow.py", PLAIN)
    proc = project.run("flow.py", "--with", "card", "run", "--run-id-file", "run-id", USE_CARD="1")
    assert proc.returncode == 0, proc.stderr
    run = f"PlainFlow/{project.run_id()}"
    start = get_cards(f"{run}/start/1")
    assert [(c.type, c.id) for c in start] == [("default", None)]
    assert "appended via --with card" in start[0].get()
    # a step with its own @card keeps it and still gets the --with default card
    assert [(c.type, c.id) for c in get_cards(f"{run}/middle/2")] == [
        ("blank", "own"),
        ("default", None),
    ]
    assert [c.type for c in get_cards(f"{run}/end/3")] == ["default"]


def test_with_card_options_and_no_duplicate(project: Project) -> None:
    project.write("flow.py", PLAIN)
    proc = project.run(
        "flow.py", "run", "--with", "card:type=blank,id=own", "--run-id-file", "run-id"
    )
    assert proc.returncode == 0, proc.stderr
    run = f"PlainFlow/{project.run_id()}"
    assert [(c.type, c.id) for c in get_cards(f"{run}/start/1")] == [("blank", "own")]
    assert [(c.type, c.id) for c in get_cards(f"{run}/middle/2")] == [("blank", "own")]


def test_current_card_without_card_fails_the_step_clearly(project: Project) -> None:
    project.write("flow.py", PLAIN)
    proc = project.run("flow.py", "run", TOUCH_CARD="1")
    assert proc.returncode == 1
    output = proc.stdout + proc.stderr
    assert "current.card is only available in a step decorated with @card" in output


def test_failed_task_gets_a_card_and_resume_keeps_cards_private(project: Project) -> None:
    from ketch import Task

    project.write("flow.py", PLAIN)
    failed = project.run("flow.py", "run", "--run-id-file", "run-id", FAIL_MIDDLE="1")
    assert failed.returncode == 1
    origin = project.run_id()
    card = get_cards(f"PlainFlow/{origin}/middle/2")[0]
    assert card.error is None and "middle failed on purpose" not in card.get()  # blank card
    resumed = project.run("flow.py", "--with", "card", "resume", "--run-id-file", "run-id")
    assert resumed.returncode == 0, resumed.stderr
    run = f"PlainFlow/{project.run_id()}"
    # 'start' was cloned: it keeps the origin's records (none: it had no card then)
    assert "_cards" not in Task(f"{run}/start/1")
    middle = get_cards(f"{run}/middle/2")
    assert [c.type for c in middle] == ["blank", "default"]
    assert "completed" in middle[1].get()
    assert [c.type for c in get_cards(f"{run}/end/3")] == ["default"]


def test_resumed_clone_keeps_its_cards_but_does_not_pass_them_on(project: Project) -> None:
    from ketch import Task

    project.write("flow.py", PLAIN)
    assert project.run("flow.py", "--with", "card", "run", FAIL_MIDDLE="1").returncode == 1
    resumed = project.run("flow.py", "resume", "--run-id-file", "run-id")
    assert resumed.returncode == 0, resumed.stderr
    run = f"PlainFlow/{project.run_id()}"
    assert [c.type for c in get_cards(f"{run}/start/1")] == ["default"]  # the clone's cards
    assert [c.type for c in get_cards(f"{run}/middle/2")] == ["blank"]
    assert "_cards" not in Task(f"{run}/end/3")  # no @card, nothing inherited


def test_failed_step_card_shows_the_failure(project: Project) -> None:
    project.write("flow.py", PLAIN)
    proc = project.run(
        "flow.py", "--with", "card", "run", "--run-id-file", "run-id", FAIL_MIDDLE="1"
    )
    assert proc.returncode == 1
    default = get_cards(f"PlainFlow/{project.run_id()}/middle/2", type="default")[0]
    html = default.get()
    assert "failed" in html and "RuntimeError: middle failed on purpose" in html


@pytest.mark.parametrize(
    ("decorators", "message"),
    [
        ('@card(type="fancy")', "type='fancy' is unknown"),
        ("@card(timeout=0)", "has a zero timeout"),
        ('@card(timeout="soon")', "timeout='soon' is invalid"),
        ('@card(id="not valid")', "id='not valid' is invalid"),
        ("@card(options=[1])", "options=[1] is invalid"),
        ("@card(colour=1)", "unknown argument(s) colour"),
        ('@card(id="x")\n    @card(type="blank", id="x")', "repeats the card id 'x'"),
        ("@card\n    @card", "more than once"),
    ],
)
def test_bad_card_arguments_are_reported_with_file_and_line(
    project: Project, decorators: str, message: str
) -> None:
    project.write("flow.py", BAD_DECORATOR.format(decorators=decorators))
    proc = project.run("flow.py", "check")
    assert proc.returncode == 1, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    if "more than once" not in message:
        assert f"{project.root / 'flow.py'}:6" in proc.stderr  # the line of the first @card
    else:
        assert "Give each @card a different id" in proc.stderr


def test_live_refresh_is_readable_while_the_task_runs(project: Project) -> None:
    project.write("flow.py", LIVE)
    proc = subprocess.Popen(
        [sys.executable, "flow.py", "run", "--run-id-file", "run-id"],
        cwd=project.root,
        env=project.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            run_file = project.root / "run-id"
            if run_file.exists() and run_file.read_text().strip():
                html = live_card_html(project.root / ".ketch", run_file.read_text().strip(), 1, 0)
                if html is not None:
                    assert_self_contained(html)
                    seen.add(html.split('aria-valuenow="', 1)[1].split('"', 1)[0])
            time.sleep(0.1)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert len(seen - {"10"}) >= 2, seen  # several states seen while the task was running
    final = live_card_html(project.root / ".ketch", project.run_id(), 1, 0)
    stored = get_cards(f"LiveFlow/{project.run_id()}/start/1")[0].get()
    assert final == stored and "10 / 10 (100%)" in stored
