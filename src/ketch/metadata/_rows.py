"""Conversions between the typed records and table rows."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, Protocol, cast

from ._records import (
    ArtifactRecord,
    AttemptRecord,
    ForeachFrame,
    MetricPoint,
    MetricRecord,
    ParameterRecord,
    RunLinkRecord,
    RunRecord,
    RunStatus,
    TaskRecord,
    TaskSnapshot,
    TaskStatus,
)


class Row(Protocol):
    """A result row by column name (SQLAlchemy's ``RowMapping``, ``sqlite3.Row``)."""

    def __getitem__(self, key: str, /) -> Any: ...


FOREACH_INDEX_DIGITS = 10


def foreach_order(indices: list[int] | tuple[int, ...]) -> str:
    """Sort key of a task's foreach position: fixed-width decimal indices, outermost first.

    Digits only, so every collation (SQLite binary, any PostgreSQL locale) orders it the same:
    ``[2] < [10]``, ``[1] < [1, 0] < [1, 2] < [2, 0]``, and a task outside any foreach ("") first.
    """
    return "".join(f"{i:0{FOREACH_INDEX_DIGITS}d}" for i in indices)


def _json_list(text: str) -> list[Any]:
    return [] if text == "[]" else cast(list[Any], json.loads(text))


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def run_from_row(row: Row, tags: Iterable[tuple[str, bool]] = ()) -> RunRecord:
    tag_list = list(tags)
    return RunRecord(
        flow_name=row["flow_name"],
        run_id=int(row["run_id"]),
        user=row["user_name"],
        status=cast(RunStatus, row["status"]),
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        tags=frozenset(tag for tag, system in tag_list if not system),
        system_tags=frozenset(tag for tag, system in tag_list if system),
        origin_run_id=row["origin_run_id"],
        code_key=row["code_key"],
        graph_key=row["graph_key"],
        heartbeat_at=row["heartbeat_at"],
        scheduler_pid=row["scheduler_pid"],
        hostname=row["hostname"],
        datastore_url=row["datastore_url"],
    )


def task_to_row(task: TaskRecord) -> dict[str, Any]:
    frames = [
        {
            "step": f.step,
            "var": f.var,
            "num_splits": f.num_splits,
            "index": f.index,
            "value": f.value,
        }
        for f in task.foreach_stack
    ]
    return {
        "run_id": task.run_id,
        "task_id": task.task_id,
        "step_name": task.step_name,
        "status": task.status,
        "created_at": task.created_at,
        "finished_at": task.finished_at,
        "attempt": task.attempt,
        "foreach_stack": _json(frames),
        "foreach_order": foreach_order([f.index for f in task.foreach_stack]),
        "origin_run_id": task.origin_run_id,
        "origin_task_id": task.origin_task_id,
        "input_task_ids": _json(list(task.input_task_ids)),
    }


def task_from_row(row: Row) -> TaskRecord:
    frames = tuple(
        ForeachFrame(
            step=f["step"],
            var=f["var"],
            num_splits=int(f["num_splits"]),
            index=int(f["index"]),
            value=f["value"],
        )
        for f in _json_list(row["foreach_stack"])
    )
    return TaskRecord(
        run_id=int(row["run_id"]),
        step_name=row["step_name"],
        task_id=int(row["task_id"]),
        status=cast(TaskStatus, row["status"]),
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        attempt=int(row["attempt"]),
        foreach_stack=frames,
        origin_run_id=row["origin_run_id"],
        origin_task_id=row["origin_task_id"],
        input_task_ids=tuple(int(i) for i in _json_list(row["input_task_ids"])),
    )


def attempt_to_row(attempt: AttemptRecord) -> dict[str, Any]:
    return {
        "run_id": attempt.run_id,
        "task_id": attempt.task_id,
        "attempt": attempt.attempt,
        "status": attempt.status,
        "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "exit_code": attempt.exit_code,
        "exception": attempt.exception,
        "traceback": attempt.traceback,
        "stdout_key": attempt.stdout_key,
        "stderr_key": attempt.stderr_key,
        "pid": attempt.pid,
        "node": attempt.node,
    }


def attempt_from_row(row: Row) -> AttemptRecord:
    return AttemptRecord(
        run_id=int(row["run_id"]),
        task_id=int(row["task_id"]),
        attempt=int(row["attempt"]),
        status=cast(TaskStatus, row["status"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        exit_code=row["exit_code"],
        exception=row["exception"],
        traceback=row["traceback"],
        stdout_key=row["stdout_key"],
        stderr_key=row["stderr_key"],
        pid=row["pid"],
        node=row["node"],
    )


def tag_rows(run_id: int, names: Iterable[str], *, system: bool) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "tag": t, "is_system": system} for t in sorted(set(names))]


def parameter_rows(run_id: int, parameters: Iterable[ParameterRecord]) -> list[dict[str, Any]]:
    """Rows of the run's parameters, numbered in the order given."""
    return [
        {
            "run_id": run_id,
            "name": p.name,
            "position": i,
            "value_json": p.value_json,
            "blob_key": p.key,
        }
        for i, p in enumerate(parameters)
    ]


def artifact_to_row(
    run_id: int, task_id: int, attempt: int, artifact: ArtifactRecord
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "task_id": task_id,
        "attempt": attempt,
        "name": artifact.name,
        "blob_key": artifact.key,
        "type_name": artifact.type_name,
        "size": artifact.size,
        "encoding": artifact.encoding,
    }


def artifact_from_row(row: Row) -> ArtifactRecord:
    return ArtifactRecord(
        name=row["name"],
        key=row["blob_key"],
        type_name=row["type_name"],
        size=int(row["size"]),
        encoding=row["encoding"],
    )


def metric_rows(
    run_id: int,
    task_id: int,
    attempt: int,
    step_name: str,
    points: Iterable[MetricPoint],
    first_seq: int = 0,
) -> list[dict[str, Any]]:
    """Rows of the ``metrics`` table, numbered in the order logged from ``first_seq``; a NaN
    is stored as NULL."""
    return [
        {
            "run_id": run_id,
            "task_id": task_id,
            "attempt": attempt,
            "seq": seq,
            "step_name": step_name,
            "name": name,
            "metric_step": step,
            "value": None if value != value else value,
            "logged_at": timestamp,
        }
        for seq, (name, step, value, timestamp) in enumerate(points, first_seq)
    ]


def run_link_row(link: RunLinkRecord) -> dict[str, Any]:
    return {
        "run_id": link.run_id,
        "tracker": link.tracker,
        "external_id": link.external_id,
        "url": link.url,
        "created_at": link.created_at,
    }


def run_link_from_row(row: Row) -> RunLinkRecord:
    return RunLinkRecord(
        run_id=int(row["run_id"]),
        tracker=row["tracker"],
        external_id=row["external_id"],
        url=row["url"],
        created_at=float(row["created_at"]),
    )


def in_series(rows: Iterable[Row], name: str | None) -> list[tuple[int, MetricRecord, int]]:
    """(place in its series, point, seq) of every row (of metric ``name`` only); the rows
    are one or more whole task attempts, in the order logged."""
    seen: dict[tuple[int, str], int] = {}
    out = []
    for row in rows:
        if name is not None and row["name"] != name:
            continue
        key = (int(row["task_id"]), row["name"])
        order = seen[key] = seen.get(key, -1) + 1
        out.append((order, metric_from_row(row), int(row["seq"])))
    return out


def bucketed(rows: Iterable[Row], name: str | None) -> list[tuple[int, MetricRecord, int]]:
    """`in_series` of the rows of ``metric_buckets`` (the first and last point of each
    bucket of each series, with the bucket's ``n`` points): a point's place is the points of
    the series' earlier buckets, plus ``n - 1`` for a bucket's last."""
    picked = sorted(
        (r for r in rows if name is None or r["name"] == name),
        key=lambda r: (r["name"], int(r["bucket"]), int(r["seq"])),
    )
    before: dict[str, int] = {}
    out = []
    for row in picked:
        series, n, first = row["name"], int(row["n"]), int(row["seq"]) == int(row["lo"])
        order = before.get(series, 0) + (0 if first else n - 1)
        if not first or n == 1:
            before[series] = before.get(series, 0) + n
        out.append((order, metric_from_row(row), int(row["seq"])))
    return out


def number(value: Any) -> float:
    """A stored float; NULL (a NaN, or no value) is NaN."""
    return math.nan if value is None else float(value)


def metric_from_row(row: Row) -> MetricRecord:
    value = row["value"]
    step = row["metric_step"]
    return MetricRecord(
        task_id=int(row["task_id"]),
        attempt=int(row["attempt"]),
        step_name=row["step_name"],
        name=row["name"],
        step=None if step is None else int(step),
        value=math.nan if value is None else float(value),
        timestamp=float(row["logged_at"]),
    )


def parameter_from_row(row: Row) -> ParameterRecord:
    return ParameterRecord(name=row["name"], value_json=row["value_json"], key=row["blob_key"])


# Run ids per query of a batch read, well under SQLite's limit on bound parameters.
RUN_ID_CHUNK = 500


def snapshots(
    task_rows: Iterable[Row], attempt_rows: Iterable[Row], artifact_rows: Iterable[Row]
) -> dict[int, list[TaskSnapshot]]:
    """Assemble `TaskSnapshot` per run from the rows of tasks, of their latest attempts and of
    those attempts' artifacts (tasks in the order given, artifacts by name)."""
    attempts = {(int(r["run_id"]), int(r["task_id"])): attempt_from_row(r) for r in attempt_rows}
    artifacts: dict[tuple[int, int], list[ArtifactRecord]] = {}
    for r in artifact_rows:
        artifacts.setdefault((int(r["run_id"]), int(r["task_id"])), []).append(artifact_from_row(r))
    out: dict[int, list[TaskSnapshot]] = {}
    for r in task_rows:
        task = task_from_row(r)
        key = (task.run_id, task.task_id)
        snapshot = TaskSnapshot(task, attempts.get(key), tuple(artifacts.get(key, ())))
        out.setdefault(task.run_id, []).append(snapshot)
    return out
