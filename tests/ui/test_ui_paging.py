"""The UI's paging parts on their own: cursors, page links, status mapping, per-step
summaries and the timeline's aggregate bars."""

from __future__ import annotations

import pytest

from ketch.exceptions import UserError
from ketch.metadata import StepTaskStats
from ketch.ui import _timeline
from ketch.ui._paging import (
    decode_run_cursor,
    decode_task_cursor,
    encode_cursor,
    group_stats,
    page_links,
    stored_statuses,
)


def test_cursors_round_trip_and_refuse_what_ketch_did_not_make() -> None:
    assert decode_task_cursor(encode_cursor(["0000000003", 17])) == ("0000000003", 17)
    assert decode_run_cursor(encode_cursor([1796455594662797])) == 1796455594662797
    for bad in ("x", "!!!", encode_cursor(["a"]), encode_cursor(["a", 2**40]), encode_cursor([1])):
        with pytest.raises(UserError, match="not a cursor"):
            decode_task_cursor(bad)
    with pytest.raises(UserError):
        decode_run_cursor(encode_cursor(["1"]))


def test_page_links_keep_filters_and_drop_the_default_limit() -> None:
    filters = {"status": "failed", "limit": 200, "after": None, "task": None}
    assert page_links("/F/1/s", filters, "CUR", 200) == {
        "first": None,
        "next": "/F/1/s?status=failed&after=CUR",
    }
    later = {"tag": ["a b", "c"], "status": None, "limit": 5, "after": "OLD"}
    assert page_links("/F", later, None, 100) == {"first": "/F?tag=a+b&tag=c&limit=5", "next": None}


def test_stored_statuses_follow_the_shown_status() -> None:
    assert stored_statuses("failed", "running") == ["failed"]
    assert stored_statuses("failed", "failed") == ["failed", "running"]  # stopped by the end
    assert stored_statuses("running", "completed") == []
    assert stored_statuses("completed", "failed") == ["completed"]


def test_group_stats_merges_statuses_of_a_step() -> None:
    rows = [
        StepTaskStats("w", "completed", 3, 10.0, 12.0, 20.0, 3, 1.0, 5.0, 9.0),
        StepTaskStats("w", "running", 1, 11.0, 11.0, None, 0, None, None, 0.0),
    ]
    (name, step), = group_stats(rows, "failed").items()  # fmt: skip
    assert name == "w" and step["counts"] == {"completed": 3, "failed": 1}
    assert (step["count"], step["first_start"], step["last_finish"]) == (4, 10.0, None)
    assert (step["min_s"], step["max_s"], step["mean_s"]) == (1.0, 5.0, 3.0)


def test_timeline_draws_an_aggregate_bar_for_a_huge_step() -> None:
    steps = [{"name": "start"}, {"name": "work"}]
    tasks = [{"id": 1, "step": "start", "status": "completed", "created_at": 0.0,
              "finished_at": 1.0, "duration_s": 1.0}]  # fmt: skip
    agg = {"step": "work", "status": "completed", "num_tasks": 100_000,
           "task_counts": {"completed": 100_000},
           "created_at": 1.0, "finished_at": 9.0, "starts": [0, 5, 10, 0]}  # fmt: skip
    layout = _timeline.layout(steps, tasks, 10.0, [agg])
    assert [b.step for b in layout.bands] == ["start", "work"]
    (bar,) = layout.aggregates
    assert bar.num_tasks == 100_000 and "100,000 tasks" in bar.title
    assert bar.x > layout.bars[0].x and bar.w > 8 * layout.bars[0].w - 1
    # A histogram of the starts: one column per non-empty slice, the fullest as tall as the bar.
    assert [round(c[3], 6) for c in bar.columns] == [bar.h / 2, bar.h]
    assert "tasks started per 2s" in bar.title
