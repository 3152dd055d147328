"""Cursors and per-step summaries: what keeps every page's cost independent of the number of
tasks and runs.

A list page shows at most ``limit`` items and, when there are more, an opaque ``next`` cursor
that the following page takes as ``?after=``. A cursor is the key of the last item shown
(a task's foreach order and id, or a run id) encoded as URL-safe base64: the database seeks
to it through an index, so the 500th page costs what the first does.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from ..exceptions import UserError
from ..metadata import StepTaskStats, TaskRecord
from ..metadata._paged_reading import page_key
from ._common import shorten, shown_status

DEFAULT_TASK_LIMIT = 200
MAX_TASK_LIMIT = 1000
SUMMARY_TASKS = 5  # slowest and failed tasks named in a step's summary


def encode_cursor(key: list[Any]) -> str:
    text = json.dumps(key, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def _decode(cursor: str) -> Any:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError, binascii.Error):
        return None


def _bad_cursor(cursor: str) -> UserError:
    return UserError(
        f"'{shorten(cursor)}' is not a cursor of this list.",
        hint="Follow the page's 'next' link (or the 'next' value of its JSON), or leave out "
        "'after' for the first page.",
    )


def task_cursor(task: TaskRecord) -> str:
    return encode_cursor(list(page_key(task)))


def decode_task_cursor(cursor: str) -> tuple[str, int]:
    """The (foreach order, task id) after which a page of tasks starts."""
    key = _decode(cursor)
    ok = isinstance(key, list) and len(key) == 2 and isinstance(key[0], str)
    if not ok or type(key[1]) is not int or not -(2**31) <= key[1] < 2**31:
        raise _bad_cursor(cursor)
    return key[0], key[1]


def decode_run_cursor(cursor: str) -> int:
    """The run id before which a page of runs (newest first) starts."""
    key = _decode(cursor)
    if not isinstance(key, list) or len(key) != 1 or type(key[0]) is not int:
        raise _bad_cursor(cursor)
    return int(key[0])


def stored_statuses(status: str, run_status: str) -> list[str]:
    """The stored task statuses shown as ``status`` in a run whose status is ``run_status``:
    a task still marked running in a run that is over has failed (see `task_status`)."""
    if run_status == "running":
        return [status]
    return {"failed": ["failed", "running"], "running": []}.get(status, [status])


def group_stats(rows: list[StepTaskStats], run_status: str) -> dict[str, dict[str, Any]]:
    """Per step: ``counts`` by shown status, ``count``, ``first_start``, ``last_finish`` (None
    while a task has not finished), ``finished``, ``min_s``, ``max_s`` and ``mean_s``."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        step = out.setdefault(row.step_name, _empty())
        step["counts"][shown_status(row.status, run_status)] += row.count
        step["count"] += row.count
        step["finished"] += row.finished
        step["sum_s"] += row.sum_s
        step["first_start"] = min(step["first_start"], row.first_start)
        step["last_start"] = max(step["last_start"], row.last_start)
        if row.last_finish is not None:
            step["last_finish"] = max(step["last_finish"] or 0.0, row.last_finish)
        for key, pick in (("min_s", min), ("max_s", max)):
            value = getattr(row, key)
            if value is not None:
                step[key] = value if step[key] is None else pick(step[key], value)
    for step in out.values():
        step["counts"] = dict(step["counts"])
        if step["finished"] < step["count"]:
            step["last_finish"] = None
        step["mean_s"] = step.pop("sum_s") / step["finished"] if step["finished"] else None
    return out


def _empty() -> dict[str, Any]:
    return {
        "counts": defaultdict(int),
        "count": 0,
        "finished": 0,
        "sum_s": 0.0,
        "first_start": float("inf"),
        "last_start": float("-inf"),
        "last_finish": None,
        "min_s": None,
        "max_s": None,
    }


def page_links(
    base: str, filters: dict[str, Any], next_cursor: str | None, default_limit: int
) -> dict[str, str | None]:
    """The URLs of a list's first page (None when this is it) and of its next page (None on
    the last), keeping the list's filters."""
    pairs: list[tuple[str, Any]] = []
    for key, value in filters.items():
        if key in ("after", "task") or value in (None, "", []):
            continue
        if key == "limit" and value == default_limit:
            continue
        values = value if isinstance(value, list) else [value]
        pairs.extend((key, v) for v in values)
    query = urlencode(pairs)
    first = base + (f"?{query}" if query else "")
    paged = filters.get("after") or filters.get("task")
    nxt = None
    if next_cursor is not None:
        nxt = base + "?" + urlencode([*pairs, ("after", next_cursor)])
    return {"first": first if paged else None, "next": nxt}
