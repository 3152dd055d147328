"""Card pages, the DAG picture, current.card and live refreshes, without running a flow."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from cardutil import assert_self_contained

from ketch import current
from ketch.cards import CardSpec, Markdown, ProgressBar, live_card_html
from ketch.cards._collector import CardCollector, CardHandle, LiveWriter, install
from ketch.cards._dag import dag_svg
from ketch.cards._records import live_key
from ketch.cards._render import TaskView, artifact_info, error_card, render_card
from ketch.cards._session import bounded
from ketch.datastore import MemoryStorage, open_storage
from ketch.exceptions import UserError

GRAPH = {
    "start": "start",
    "order": ["start", "a", "b", "join", "end"],
    "steps": {
        "start": {"type": "split", "next": ["a", "b"], "in_funcs": []},
        "a": {"type": "linear", "next": ["join"], "in_funcs": ["start"]},
        "b": {"type": "linear", "next": ["join"], "in_funcs": ["start"]},
        "join": {"type": "join", "next": ["end"], "in_funcs": ["a", "b"]},
        "end": {"type": "end", "next": [], "in_funcs": ["join"]},
    },
}


def _view(**extra: Any) -> TaskView:
    values: dict[str, Any] = {
        "flow_name": "F",
        "run_id": "7",
        "step_name": "a",
        "task_id": "3",
        "graph": GRAPH,
        "parameters": [("alpha", 0.5), ("name_<x>", "<v>")],
    }
    values.update(extra)
    return TaskView(**values)


def test_dag_svg_highlights_the_step_and_draws_every_edge() -> None:
    svg = dag_svg(GRAPH, "a")
    assert svg.startswith("<svg") and svg.count('class="node') == 5
    assert re.search(r'<g class="node current" data-step="a"', svg)
    assert svg.count('class="node current"') == 1
    assert svg.count("<path class=") == 5
    found = re.finditer(r'data-step="(\w+)".*?y="([\d.]+)"', svg)
    rows = {m.group(1): float(m.group(2)) for m in found}
    assert rows["a"] == rows["b"] > rows["start"] and rows["join"] > rows["a"]
    assert "not available" in dag_svg({}, "a")


def test_default_card_shows_task_parameters_artifacts_dag_and_components() -> None:
    artifacts = [
        artifact_info("scores", "list", 40, [1, 2, 3]),
        artifact_info("huge", "bytes", 50 << 20),
        artifact_info("text", "str", 10, "x" * (2 << 20)),
    ]
    view = _view(artifacts=artifacts, status="completed", started_at=100.0, finished_at=101.5)
    html = render_card(CardSpec(), view, [Markdown("## Mine")])
    assert_self_contained(html)
    assert "F/7/a/3" in html and "completed" in html and "1.50 s" in html
    assert "alpha" in html and "0.5" in html and "name_&lt;x&gt;" in html
    assert "scores" in html and "[1, 2, 3]" in html
    assert "huge" in html and "not previewed" in html
    assert "len 2097152" in html  # a large in-memory value is summarised, not printed
    assert 'class="node current" data-step="a"' in html
    assert "<h2>Mine</h2>" in html


def test_default_card_options_and_running_state() -> None:
    artifacts = [artifact_info("keep", "int", 1, 1), artifact_info("drop", "int", 1, 2)]
    spec = CardSpec(options={"title": "My <title>", "artifacts": ["keep"]})
    html = render_card(spec, _view(artifacts=artifacts), [])
    assert "My &lt;title&gt;" in html and "keep" in html and "drop" not in html
    assert "Artifacts are shown when the task finishes" in render_card(CardSpec(), _view(), [])


def test_blank_card_has_only_components() -> None:
    html = render_card(CardSpec(type="blank", id="summary"), _view(), [Markdown("hello")])
    assert_self_contained(html)
    assert "hello" in html and "summary" in html
    assert "Parameters" not in html and "<svg" not in html
    assert "No components" in render_card(CardSpec(type="blank"), _view(), [])


def test_error_card() -> None:
    html = error_card(CardSpec(), _view(), "ValueError: <bad>", "Traceback ...")
    assert_self_contained(html)
    assert "could not be rendered" in html and "ValueError: &lt;bad&gt;" in html


def test_bounded_rendering() -> None:
    assert bounded(lambda: "ok", 1) == ("ok", None, "")

    def boom() -> str:
        raise KeyError("k")

    html, error, trace = bounded(boom, 1)
    assert html is None and error == "KeyError: 'k'" and "Traceback" in trace
    started = time.monotonic()
    html, error, _ = bounded(lambda: time.sleep(5) or "late", 0.2)  # type: ignore[func-returns-value]
    assert html is None and error is not None and "timed out after 0.2 seconds" in error
    assert time.monotonic() - started < 2


def _collector(*specs: CardSpec, live: LiveWriter | None = None) -> CardCollector:
    return CardCollector([CardHandle(spec, i, live) for i, spec in enumerate(specs)])


def test_current_card_targets_the_default_card_and_cards_by_id() -> None:
    cards = _collector(CardSpec(type="blank", id="summary"), CardSpec(), CardSpec(id="other"))
    cards.append(Markdown("a"), id="first")
    cards.extend([Markdown("b"), Markdown("c")])
    assert cards.default is cards.handles[1] and len(cards.handles[1]) == 3
    assert cards.components["first"].text == "a"
    cards["summary"].append(Markdown("s"))
    assert len(cards["summary"]) == 1
    cards["other"] = [Markdown("x"), Markdown("y")]
    assert [c.text for c in cards["other"]] == ["x", "y"]
    cards.clear()
    assert len(cards.default) == 0 and not cards.components
    with pytest.raises(UserError, match="no @card with id 'nope'"):
        cards["nope"]


def test_customize_card_wins_and_ids_only_fall_back_to_the_first() -> None:
    assert _collector(CardSpec(), CardSpec(id="x", customize=True)).default.id == "x"
    assert _collector(CardSpec(id="x"), CardSpec(id="y")).default.id == "x"


def test_current_card_outside_a_card_step_is_a_clear_error() -> None:
    install(None)
    with pytest.raises(UserError, match="only available in a step decorated with @card"):
        current.card.append(Markdown("x"))
    cards = _collector(CardSpec())
    install(cards)
    try:
        assert current.card is cards
    finally:
        install(None)


def test_live_writer_rate_limits_and_flushes_the_last_state() -> None:
    storage = MemoryStorage()
    renders: list[int] = []
    bar = ProgressBar(max=100)

    def render(handle: CardHandle) -> str:
        renders.append(int(bar.value))
        return bar.render()

    live = LiveWriter(storage, 7, 3, render, interval=0.3)
    cards = _collector(CardSpec(), live=live)
    cards.append(bar)
    for value in range(1, 11):
        bar.update(value)
        cards.refresh()
    assert renders == [1]  # the first write goes out; the rest wait for the interval
    time.sleep(0.6)
    assert renders == [1, 10]  # ... and the latest state is written once it has passed
    assert "10 / 100" in bytes(storage.get(live_key(7, 3, 0))).decode()
    bar.update(11)
    cards.refresh(force=True)
    assert renders == [1, 10, 11]
    live.close()
    cards.refresh()
    assert renders == [1, 10, 11]


def test_live_card_html_reads_the_live_key(tmp_path: Any) -> None:
    assert live_card_html(tmp_path, 1, 2, 0) is None
    open_storage(str(tmp_path)).put(live_key(1, 2, 0), [b"<p>hi</p>"])
    assert live_card_html(tmp_path, 1, 2, 0) == "<p>hi</p>"
