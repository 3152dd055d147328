"""A damaged store: corrupt or missing blobs break only what they hold, never the page; a
damaged run database gives a page that says how to recover it."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flowrun import Project, damage_blob
from uiflows import DEMO_FLOW, LOCAL, run_flow, settings_for

pytest.importorskip("starlette")

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(project: Project) -> Iterator[tuple[Any, int]]:
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    project.write("demo.py", DEMO_FLOW)
    run_id, code = run_flow(project, "demo.py")
    assert code == 0
    with TestClient(create_app(settings_for(project.root)), base_url=LOCAL) as client:
        yield client, run_id


def _end_task_path(client: Any, run_id: int) -> str:
    task_id = client.get(f"/api/DemoFlow/{run_id}/end").json()["tasks"][0]["id"]
    return f"/DemoFlow/{run_id}/end/{task_id}"


def test_a_corrupt_artifact_blob_breaks_only_that_artifact(
    project: Project, demo: tuple[Any, int]
) -> None:
    client, run_id = demo
    path = _end_task_path(client, run_id)
    before = {a["name"]: a for a in client.get("/api" + path).json()["artifacts"]}
    damage_blob(project.root / ".ketch", before["count"]["key"], b"not what was stored")

    response = client.get("/api" + path)
    assert response.status_code == 200
    after = {a["name"]: a for a in response.json()["artifacts"]}
    broken = after["count"]
    assert broken["preview"] is None
    assert broken["error"]["headline"] == "Stored data is corrupt or missing"
    assert "corrupt" in broken["error"]["message"]
    assert before["count"]["key"] in broken["error"]["message"]
    others = [a for name, a in after.items() if name != "count"]
    assert others and all(a["error"] is None and a["preview"] for a in others)

    page = client.get(path)
    assert page.status_code == 200
    assert "Stored data is corrupt or missing" in page.text
    assert "hello hello" in page.text  # the other artifacts still show


def test_a_missing_artifact_blob_is_reported(project: Project, demo: tuple[Any, int]) -> None:
    client, run_id = demo
    from ketch.metadata import open_store

    store = open_store(settings_for(project.root).resolved_metadata_url)
    try:  # found without asking the UI: it has not read (nor cached the place of) any blob yet
        (end,) = store.list_tasks(run_id, "end")
        records = store.list_artifacts(run_id, end.task_id, 0)
    finally:
        store.close()
    (config,) = [r for r in records if r.name == "config"]
    damage_blob(project.root / ".ketch", config.key, None)
    path = f"/DemoFlow/{run_id}/end/{end.task_id}"
    after = {a["name"]: a for a in client.get("/api" + path).json()["artifacts"]}
    assert "missing" in after["config"]["error"]["message"]
    assert after["count"]["preview"]["text"] == "42"


def test_a_corrupt_log_blob_breaks_only_that_log(project: Project, demo: tuple[Any, int]) -> None:
    client, run_id = demo
    path = _end_task_path(client, run_id)
    from ketch.metadata import open_store

    store = open_store(settings_for(project.root).resolved_metadata_url)
    try:
        task_id = int(path.rsplit("/", 1)[1])
        (attempt,) = store.list_attempts(run_id, task_id)
    finally:
        store.close()
    assert attempt.stdout_key is not None
    damage_blob(project.root / ".ketch", attempt.stdout_key, b"garbage")
    data = client.get("/api" + path).json()
    assert data["logs"]["stdout"]["text"] is None
    assert "corrupt" in data["logs"]["stdout"]["error"]["message"]
    assert data["logs"]["stderr"]["text"] == "a warning\n"
    assert client.get(path).status_code == 200


def test_a_corrupt_graph_blob_still_lists_the_steps(
    project: Project, demo: tuple[Any, int]
) -> None:
    client, run_id = demo
    from ketch.metadata import open_store

    store = open_store(settings_for(project.root).resolved_metadata_url)
    try:
        record = store.get_run(run_id)
    finally:
        store.close()
    assert record is not None and record.graph_key is not None
    damage_blob(project.root / ".ketch", record.graph_key, b"{}")
    data = client.get(f"/api/DemoFlow/{run_id}").json()
    assert "corrupt" in data["graph_error"]
    assert data["graph"] is None
    assert [s["name"] for s in data["steps"]][:2] == ["start", "square"]
    page = client.get(f"/DemoFlow/{run_id}")
    assert page.status_code == 200 and "The graph cannot be drawn." in page.text
    assert client.get(f"/api/DemoFlow/{run_id}/square").status_code == 200


def _damage_table(database: Path, table: str) -> None:
    """Overwrite the first page of ``table`` in the SQLite file, as a bad disk sector would."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    assert not database.with_name(database.name + "-wal").exists()  # all of it is in the file
    with database.open("r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xff" * page_size)


def test_a_damaged_run_database_says_how_to_recover_it(
    project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    project.write("demo.py", DEMO_FLOW)
    run_id, _code = run_flow(project, "demo.py")
    database = project.root / ".ketch" / "ketch.db"
    _damage_table(database, "runs")
    with TestClient(create_app(settings_for(project.root)), base_url=LOCAL) as client:
        with caplog.at_level(logging.ERROR, logger="ketch.ui"):
            for path in ("/api", "/api/DemoFlow", f"/api/DemoFlow/{run_id}"):
                response = client.get(path)
                assert response.status_code == 500
                error = response.json()["error"]
                assert error["headline"] == "The run database is damaged"
                assert error["message"].startswith(f"The run database at {database} is damaged")
                assert f'sqlite3 {database} ".recover"' in error["hint"]
                assert "backup" in error["hint"]
                assert "SELECT" not in response.text and "Traceback" not in response.text
            page = client.get(f"/DemoFlow/{run_id}")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "The run database is damaged" in page.text and "&#34;.recover&#34;" in page.text
    assert "SELECT" not in page.text and "Traceback" not in page.text
    assert "Internal error" not in page.text
    # The whole error, SQL included, is in the UI's log for whoever runs it.
    logged = [r.getMessage() for r in caplog.records if r.name == "ketch.ui"]
    assert len(logged) == 4 and all("SELECT" in m and "malformed" in m for m in logged)


def test_a_failing_query_shows_no_sql_either(project: Project) -> None:
    """Any other database failure is an internal error whose message is the driver's."""
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    project.write("demo.py", DEMO_FLOW)
    run_flow(project, "demo.py")
    with TestClient(create_app(settings_for(project.root)), base_url=LOCAL) as client:
        with contextlib.closing(sqlite3.connect(project.root / ".ketch" / "ketch.db")) as conn:
            conn.execute("ALTER TABLE runs RENAME TO runs_gone")  # the UI's queries now fail
            response = client.get("/api/DemoFlow")
            conn.execute("ALTER TABLE runs_gone RENAME TO runs")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["headline"] == "Internal error in ketch (please report it)"
    assert error["message"] == "OperationalError: no such table: runs"
    assert "SELECT" not in response.text
