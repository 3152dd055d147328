"""Cards on the task page: listed, served sandboxed, watched while live, broken one at a time."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flowrun import Project, blob_bytes, damage_blob
from uiflows import CARD_FLOW, LOCAL, run_flow, settings_for

pytest.importorskip("starlette")
pytest.importorskip("jinja2")

pytestmark = pytest.mark.slow  # the fixtures run real flows


@dataclass
class CardRun:
    project: Project
    client: Any
    run_id: int
    start: str  # the path of the task with two cards
    end: str  # the path of a task without cards

    def api(self, path: str, status: int = 200) -> Any:
        response = self.client.get("/api" + path)
        assert response.status_code == status, response.text
        return response.json()

    def task_id(self, path: str) -> int:
        return int(path.rsplit("/", 1)[1])


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CardRun]:
    yield from _card_run(Project(tmp_path_factory.mktemp("ui-cards")))


@pytest.fixture
def fresh(project: Project) -> Iterator[CardRun]:
    """A card run of its own, for tests that damage the store."""
    yield from _card_run(project)


def _card_run(project: Project) -> Iterator[CardRun]:
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    project.write("cards.py", CARD_FLOW)
    run_id, code = run_flow(project, "cards.py")
    assert code == 0
    with TestClient(create_app(settings_for(project.root)), base_url=LOCAL) as client:
        paths = []
        for step in ("start", "end"):
            task = client.get(f"/api/CardFlow/{run_id}/{step}").json()["tasks"][0]["id"]
            paths.append(f"/CardFlow/{run_id}/{step}/{task}")
        yield CardRun(project, client, run_id, *paths)


def _card_url(path: str, position: object) -> str:
    return f"/-/card{path}/{position}"


def test_the_task_page_lists_its_cards(cards: CardRun) -> None:
    data = cards.api(cards.start)
    assert data["cards_error"] is None
    found = data["cards"]
    assert [(c["position"], c["type"], c["id"]) for c in found] == [
        (0, "blank", "progress"),
        (1, "default", None),
    ]
    for card in found:
        assert len(card["hash"]) == 64 and blob_bytes(cards.project.root / ".ketch", card["hash"])
        assert card["url"] == _card_url(cards.start, card["position"])
        assert card["version"] == card["hash"]
        assert card["live"] is False
        assert card["error"] is None and card["render_error"] is None
    assert [c["title"] for c in found] == ["Training progress", "CardFlow · start"]
    assert cards.api(cards.end)["cards"] == []


def test_the_card_route_serves_the_card_under_a_strict_policy(cards: CardRun) -> None:
    for card in cards.api(cards.start)["cards"]:
        response = cards.client.get(card["url"])
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "sandbox allow-same-origin" in policy
        assert "script-src" not in policy and "frame-ancestors 'self'" in policy
        assert response.headers["x-frame-options"] == "SAMEORIGIN"  # the task page frames it
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert response.content == blob_bytes(cards.project.root / ".ketch", card["hash"])
    progress = cards.client.get(_card_url(cards.start, 0)).text
    assert "8 / 8 (100%)" in progress and "<script" not in progress
    assert "every</strong> epoch" in cards.client.get(_card_url(cards.start, 1)).text


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("{start}/2", "has no card at position '2'"),
        ("{start}/-1", "has no card at position '-1'"),
        ("{start}/x", "has no card at position 'x'"),
        ("{end}/0", "has no card at position '0'"),
        ("{start}/0?attempt=3", "Attempt '3' of task start/"),
        ("/CardFlow/{run}/start/999/0", "Task 'CardFlow/{run}/start/999' does not exist"),
        ("/CardFlow/{run}/end/{start_id}/0", "does not exist"),
        ("/CardFlow/999/start/1/0", "Run 'CardFlow/999' does not exist"),
    ],
)
def test_a_card_that_does_not_exist_is_404(cards: CardRun, where: str, message: str) -> None:
    names = {"start": cards.start, "end": cards.end, "run": cards.run_id}
    names["start_id"] = cards.task_id(cards.start)
    response = cards.client.get("/-/card" + where.format(**names))
    assert response.status_code == 404
    assert "Not found" in response.text
    assert message.format(**names).replace("'", "&#39;") in response.text
    # The UI's own error page, under the pages' policy, except that it may fill a card's frame.
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'self'" in policy
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


def test_the_task_page_frames_each_card(cards: CardRun) -> None:
    page = cards.client.get(cards.start)
    assert page.status_code == 200
    for position in (0, 1):
        url = _card_url(cards.start, position)
        assert f'<iframe id="card-frame-{position}" src="{url}"' in page.text
        assert f'<a href="{url}" target="_blank" rel="noopener">Open full page' in page.text
    assert page.text.count('sandbox="allow-same-origin"') == 2
    assert "data-live" not in page.text  # the run is over
    assert 'id="cards"' not in cards.client.get(cards.end).text


def test_the_live_endpoint_watches_a_tasks_cards(cards: CardRun) -> None:
    listed = cards.api(cards.start)["cards"]
    run = cards.api(f"/-/live/CardFlow/{cards.run_id}")
    assert "cards" not in run
    state = cards.api(f"/-/live/CardFlow/{cards.run_id}?task={cards.task_id(cards.start)}")
    assert state["cards"] == [{"position": c["position"], "version": c["hash"]} for c in listed]
    assert state["version"].startswith(run["version"]) and listed[1]["hash"] in state["version"]
    assert (
        cards.api(f"/-/live/CardFlow/{cards.run_id}?task={cards.task_id(cards.end)}")["cards"] == []
    )
    missing = cards.api(f"/-/live/CardFlow/{cards.run_id}?task=999", status=404)
    assert "does not exist" in missing["error"]["message"]


def test_a_running_task_page_polls_its_cards() -> None:
    from ketch.ui._render import live_urls

    run = {"flow": "F", "id": 7, "status": "running"}
    assert live_urls({"run": run, "task": {"id": 3}}) == ["/api/-/live/F/7?task=3"]
    assert live_urls({"run": run}) == ["/api/-/live/F/7"]
    assert live_urls({"run": dict(run, status="completed"), "task": {"id": 3}}) == []


def test_a_corrupt_card_blob_breaks_only_that_card(fresh: CardRun) -> None:
    key = fresh.api(fresh.start)["cards"][0]["hash"]
    damage_blob(fresh.project.root / ".ketch", key, b"not the card")

    broken, intact = fresh.api(fresh.start)["cards"]
    assert broken["error"]["headline"] == "Stored data is corrupt or missing"
    assert key in broken["error"]["message"]
    assert intact["error"] is None and intact["title"] == "CardFlow · start"
    page = fresh.client.get(fresh.start)
    assert page.status_code == 200
    assert "Stored data is corrupt or missing" in page.text
    assert 'id="card-frame-0"' not in page.text and 'id="card-frame-1"' in page.text
    assert "history" in page.text  # the artifacts still show
    response = fresh.client.get(_card_url(fresh.start, 0))
    assert response.status_code == 500 and "is corrupt" in response.text
    assert fresh.client.get(_card_url(fresh.start, 1)).status_code == 200


def test_an_unreadable_list_of_cards_is_reported(fresh: CardRun) -> None:
    from ketch.metadata import open_store

    store = open_store(settings_for(fresh.project.root).resolved_metadata_url)
    try:
        records = store.list_artifacts(fresh.run_id, fresh.task_id(fresh.start), 0)
    finally:
        store.close()
    (listing,) = [r for r in records if r.name == "_cards"]
    damage_blob(fresh.project.root / ".ketch", listing.key, b"garbage")
    data = fresh.api(fresh.start)
    assert data["cards"] == []
    assert data["cards_error"]["headline"] == "Stored data is corrupt or missing"
    page = fresh.client.get(fresh.start)
    assert page.status_code == 200 and "Stored data is corrupt or missing" in page.text
    assert fresh.client.get(_card_url(fresh.start, 0)).status_code == 404


def test_a_live_card_is_shown_until_a_card_is_stored(fresh: CardRun) -> None:
    """The ``end`` task stored no card: a live file written for it stands in (as for a task
    that is still running, or one killed before it stored its cards)."""
    from ketch.cards._records import live_key

    end_id = fresh.task_id(fresh.end)
    live = fresh.project.root / ".ketch" / live_key(fresh.run_id, end_id, 0)
    live.parent.mkdir(parents=True)
    live.write_text("<!DOCTYPE html><title>Now &amp; then</title><p>step 1</p>")
    state_url = f"/-/live/CardFlow/{fresh.run_id}?task={end_id}"

    (card,) = fresh.api(fresh.end)["cards"]
    assert card["live"] is True and card["type"] is None and card["hash"] is None
    assert card["version"].startswith("live:") and card["title"] == "Now & then"
    assert fresh.api(state_url)["cards"] == [{"position": 0, "version": card["version"]}]
    response = fresh.client.get(card["url"])
    assert response.status_code == 200 and "step 1" in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "last live update" in fresh.client.get(fresh.end).text

    before = fresh.api(state_url)["version"]
    time.sleep(0.01)
    live.write_text("<!DOCTYPE html><title>Now &amp; then</title><p>step 2, longer</p>")
    assert fresh.api(state_url)["version"] != before
    assert "step 2" in fresh.client.get(card["url"]).text

    # A file older than the attempt is an earlier attempt's: not this one's card.
    old = time.time() - 3600
    os.utime(live, (old, old))
    assert fresh.api(fresh.end)["cards"] == []
    assert fresh.client.get(card["url"]).status_code == 404
