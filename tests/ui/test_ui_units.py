"""The UI's pure parts: previews, layouts, text formats, pathspec parsing, JSON rendering."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ketch.exceptions import UserError
from ketch.ui import _dag, _timeline
from ketch.ui._common import parse_pathspec_list, step_status
from ketch.ui._format import duration_text, size_text
from ketch.ui._preview import preview


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (7, "scalar", "7"),
        (2.5, "scalar", "2.5"),
        (None, "scalar", "None"),
        (float("nan"), "scalar", "nan"),
        ((1, 2), "sequence", "(1, 2)"),
        ({1, 2}, "sequence", "{1, 2}"),
        (b"\x00ab", "bytes", "b'\\x00ab'"),
        (range(3), "object", "range(0, 3)"),
    ],
)
def test_preview_kinds(value: object, kind: str, text: str) -> None:
    found = preview(value)
    assert found["kind"] == kind
    assert found["text"] == text


def test_previews_are_bounded() -> None:
    long_list = preview(list(range(10_000)))
    assert long_list["length"] == 10_000 and len(long_list["text"]) < 200
    big_dict = preview({f"k{i}": "v" * 1000 for i in range(50)})
    assert big_dict["length"] == 50 and big_dict["truncated"]
    assert len(big_dict["items"]) == 20
    assert all(len(v) <= 401 for _k, v in big_dict["items"])
    text = preview("é" * 10_000)
    assert text["truncated"] and len(text["text"]) == 2000


def test_preview_survives_a_broken_repr() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    assert preview(Broken())["text"].startswith("<Broken instance at")

    class BadDict(dict):  # type: ignore[type-arg]
        def items(self) -> Any:
            raise RuntimeError("no items either")

    found = preview(BadDict(a=1))
    assert found["kind"] == "object"
    assert "preview failed" in found["text"] and "no items either" in found["text"]


def test_preview_of_numpy_values() -> None:
    np = pytest.importorskip("numpy")
    array = preview(np.arange(1000.0).reshape(10, 100))
    assert array["kind"] == "array" and array["shape"] == [10, 100]
    assert array["dtype"] == "float64" and "..." in array["text"]
    assert preview(np.int64(3)) == {"kind": "scalar", "text": "3"}


def test_preview_of_pandas_values() -> None:
    pd = pytest.importorskip("pandas")
    frame = preview(pd.DataFrame({"a": [1, 2], "b": ["x" * 200, "y"]}))
    assert frame["kind"] == "dataframe" and frame["shape"] == [2, 2]
    assert frame["rows"][0][0] == "1" and frame["rows"][0][1].endswith("…")
    series = preview(pd.Series([1.5, 2.5], name="s"))
    assert series["kind"] == "series" and series["length"] == 2 and "1.5" in series["text"]


def _step(name: str, nxt: list[str], **extra: Any) -> dict[str, Any]:
    base = {"name": name, "next": nxt, "status": "completed", "task_counts": {}, "num_tasks": 1}
    base.update(extra)
    return base


def test_dag_layout_puts_branches_side_by_side_and_edges_downwards() -> None:
    steps = [
        _step("start", ["a", "b"]),
        _step("a", ["join"]),
        _step("b", ["c"]),
        _step("c", ["join"]),
        _step("join", ["end"]),
        _step("end", []),
    ]
    layout = _dag.layout(steps)
    pos = {n.name: (n.x, n.y) for n in layout.nodes}
    assert pos["a"][1] == pos["b"][1] and pos["a"][0] < pos["b"][0]
    assert pos["c"][1] > pos["b"][1] and pos["c"][0] == pos["b"][0]
    assert pos["join"][1] > pos["c"][1]  # the longest path decides the depth
    assert len(layout.edges) == 6
    assert layout.width >= 2 * _dag.NODE_W and layout.height > 4 * _dag.NODE_H


def test_dag_marks_foreach_bodies_as_stacks() -> None:
    steps = [
        _step("start", ["body"], foreach="items"),
        _step("body", ["end"], num_tasks=1000, task_counts={"completed": 998, "failed": 2}),
        _step("end", [], num_tasks=0, status="pending"),
    ]
    nodes = {n.name: n for n in _dag.layout(steps).nodes}
    assert nodes["body"].foreach and not nodes["start"].foreach
    assert nodes["body"].caption == "1000 tasks · 2 failed"
    assert nodes["end"].caption == "pending"
    assert _dag.layout([]).nodes == []


def test_dag_draws_a_switch_as_a_hexagon_with_labelled_cases_and_its_loop() -> None:
    cases = [["again", "loop"], ["done", "end"]]
    steps = [
        _step("start", ["loop"]),
        _step("loop", ["loop", "end"], num_tasks=3, condition="state", switch_cases=cases),
        _step("end", []),
    ]
    layout = _dag.layout(steps)
    nodes = {n.name: n for n in layout.nodes}
    assert nodes["loop"].switch == "state" and len(nodes["loop"].hexagon.split()) == 6
    assert not nodes["loop"].foreach  # its iterations are drawn once, not as a stack
    assert nodes["start"].switch == "" and nodes["start"].hexagon == ""
    assert [label.text for label in layout.labels] == ["again", "done"]
    assert len(layout.edges) == 3  # start -> loop, the loop, loop -> end
    assert layout.width >= _dag.NODE_W + _dag.LOOP_W
    assert nodes["end"].y > nodes["loop"].y > nodes["start"].y


def test_timeline_packs_overlapping_tasks_into_lanes() -> None:
    steps = [{"name": "start"}, {"name": "work"}]
    tasks = [{"id": 1, "step": "start", "status": "completed", "created_at": 0.0}]
    tasks[0].update(finished_at=1.0, duration_s=1.0)
    for i in range(40):  # 40 overlapping tasks: capped at MAX_LANES lanes
        tasks.append(
            {
                "id": 10 + i,
                "step": "work",
                "status": "running" if i == 0 else "completed",
                "created_at": 1.0 + i * 0.01,
                "finished_at": None if i == 0 else 5.0,
                "duration_s": None if i == 0 else 4.0,
            }
        )
    timeline = _timeline.layout(steps, tasks, now=6.0)
    assert [b.step for b in timeline.bands] == ["start", "work"]
    work = [b for b in timeline.bars if b.step == "work"]
    assert len(work) == 40
    lanes = {b.y for b in work}
    assert len(lanes) == _timeline.MAX_LANES
    running = next(b for b in work if b.status == "running")
    assert running.x + running.w == pytest.approx(timeline.width - 10, abs=1)
    assert timeline.ticks[0].label == "0s" and len(timeline.ticks) >= 3
    assert _timeline.layout(steps, [], now=0).bars == []


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "—"), (0, "0s"), (0.35, "350ms"), (1.25, "1.25s"), (12.34, "12.3s")]
    + [(125, "2m 05s"), (3725, "1h 02m")],
)
def test_duration_text(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


def test_size_text() -> None:
    assert [size_text(n) for n in (128, 1600, 12 << 20)] == ["128 B", "1.6 KB", "12 MB"]


def test_parse_pathspec_list() -> None:
    assert parse_pathspec_list(" F/1, G/2 ,") == [("F", "1"), ("G", "2")]
    for bad in ("F", "F/1/start", "/1"):
        with pytest.raises(UserError):
            parse_pathspec_list(bad)


def test_step_status() -> None:
    assert step_status({"completed": 3, "failed": 1}, "failed") == "failed"
    assert step_status({"completed": 3, "running": 1}, "running") == "running"
    assert step_status({"completed": 3}, "running") == "completed"
    assert step_status({}, "running") == "pending"
    assert step_status({}, "failed") == "not-run"


def test_json_responses_have_no_nan() -> None:
    pytest.importorskip("starlette")
    from ketch.ui._app import JSONResponse

    body = JSONResponse({"x": [float("nan"), float("inf"), 1.5]}).body
    assert json.loads(body) == {"x": ["nan", "inf", 1.5]}
