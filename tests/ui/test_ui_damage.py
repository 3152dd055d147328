"""A damaged store: corrupt or missing blobs break only what they hold, never the page."""

from __future__ import annotations

from collections.abc import Iterator
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
