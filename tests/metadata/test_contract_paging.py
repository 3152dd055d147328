"""The contract of the paged and summarised reads (`task_page`, `step_stats`, `slowest_tasks`,
`median_duration`, `tasks_by_id`, `failures_of`, `list_runs(before=)`) on every backend, and
that SQLite answers a page through the index instead of sorting the step."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ketch.metadata import (
    AttemptRecord,
    ForeachFrame,
    MetadataStore,
    TaskFailure,
    TaskRecord,
    open_store,
    sqlite_url,
)
from ketch.metadata import _sqlite_sql as sql
from ketch.metadata._paged_reading import FIRST, page_key
from ketch.metadata._records import TaskStatus

N = 120  # tasks of the foreach step "work"


def _work(run_id: int, index: int) -> TaskRecord:
    """Task ids run against foreach order (task 2 + N - 1 is index 0), so an order by task id
    alone would fail the tests; task i took i / 10 seconds; every 7th failed."""
    task_id = 2 + N - 1 - index
    frame = ForeachFrame("start", "items", N, index, str(index))
    status: TaskStatus = "failed" if index % 7 == 3 else "completed"
    finished = 100.0 + index + index / 10
    return TaskRecord(run_id, "work", task_id, status, 100.0 + index, finished, 0, (frame,))


def _fill(store: MetadataStore) -> int:
    run_id = store.create_run("PageFlow", user="ada", tags=[], system_tags=[]).run_id
    with store.batch():
        store.upsert_task(TaskRecord(run_id, "start", 1, "completed", 10.0, 11.0))
        for index in range(N):
            task = _work(run_id, index)
            store.upsert_task(task)
            failed = task.status == "failed"
            exc = f"ValueError: {index}" if failed else None
            attempt = AttemptRecord(
                run_id, task.task_id, 0, task.status, 1.0, 2.0, int(failed), exc
            )
            store.upsert_attempt(attempt)
        store.upsert_task(TaskRecord(run_id, "join", 500, "running", 300.0))
    return run_id


def test_pages_walk_every_task_once_in_foreach_order(store: MetadataStore) -> None:
    run_id = _fill(store)
    seen: list[int] = []
    after = FIRST
    pages = 0
    while True:
        page = store.task_page(run_id, "work", after=after, limit=25)
        pages += 1
        if not page:
            break
        seen.extend(t.foreach_stack[0].index for t in page)
        after = page_key(page[-1])
    assert seen == list(range(N)) and pages == 6  # 5 pages of 25 or fewer, then an empty one
    assert store.task_page(run_id, "work", limit=0) == []
    assert store.task_page(run_id, "nowhere") == []
    assert store.task_page(run_id + 1, "work") == []


def test_pages_filtered_by_status(store: MetadataStore) -> None:
    run_id = _fill(store)
    failed = [i for i in range(N) if i % 7 == 3]
    first = store.task_page(run_id, "work", statuses=["failed"], limit=5)
    assert [t.foreach_stack[0].index for t in first] == failed[:5]
    rest = store.task_page(run_id, "work", statuses=["failed"], after=page_key(first[-1]))
    assert [t.foreach_stack[0].index for t in rest] == failed[5:]
    both = store.task_page(run_id, "work", statuses=["failed", "completed"], limit=1000)
    assert len(both) == N
    assert store.task_page(run_id, "work", statuses=[]) == []
    (join,) = store.task_page(run_id, "join", statuses=["running"])
    assert join.task_id == 500


def test_step_stats_slowest_and_median(store: MetadataStore) -> None:
    run_id = _fill(store)
    stats = {(s.step_name, s.status): s for s in store.step_stats(run_id)}
    assert set(stats) == {("start", "completed"), ("work", "completed"), ("work", "failed"),
                          ("join", "running")}  # fmt: skip
    failed = [i for i in range(N) if i % 7 == 3]
    work = stats[("work", "failed")]
    assert (work.count, work.finished) == (len(failed), len(failed))
    assert work.first_start == 100.0 + failed[0] and work.last_start == 100.0 + failed[-1]
    assert abs(work.max_s - failed[-1] / 10) < 1e-9  # type: ignore[operator]
    assert abs(work.sum_s - sum(failed) / 10) < 1e-6
    join = stats[("join", "running")]
    assert (join.count, join.finished, join.last_finish, join.min_s) == (1, 0, None, None)
    slowest = store.slowest_tasks(run_id, "work", 3)
    assert [t.foreach_stack[0].index for t in slowest] == [N - 1, N - 2, N - 3]
    median = store.median_duration(run_id, "work", N)
    assert median is not None and abs(median - (N - 1) // 2 / 10) < 1e-9
    assert store.median_duration(run_id, "join", 0) is None


def test_tasks_and_failures_by_id(store: MetadataStore) -> None:
    run_id = _fill(store)
    found = store.tasks_by_id(run_id, [1, 500, 9999, 1])
    assert sorted(found) == [1, 500] and found[500].step_name == "join"
    assert store.tasks_by_id(run_id, []) == {}
    ids = [_work(run_id, i).task_id for i in (3, 4)]
    assert store.failures_of(run_id, ids) == {
        ids[0]: TaskFailure("ValueError: 3", 1),
        ids[1]: TaskFailure(None, 0),
    }


def test_runs_before_a_cursor(store: MetadataStore) -> None:
    ids = [store.create_run("F", user="u", tags=[], system_tags=[]).run_id for _ in range(5)]
    newest_first = sorted(ids, reverse=True)
    assert [r.run_id for r in store.list_runs("F", limit=2)] == newest_first[:2]
    page = store.list_runs("F", limit=2, before=newest_first[1])
    assert [r.run_id for r in page] == newest_first[2:4]
    assert [r.run_id for r in store.list_runs("F", before=newest_first[3])] == newest_first[4:]
    assert store.list_runs("F", before=-(10**30)) == []
    assert len(store.list_runs(before=10**30)) == 5


def test_a_page_seeks_through_the_index(tmp_path: Path) -> None:
    """SQLite reads a page of tasks through ``ix_tasks_run_step``, in its order: no sort of
    the whole step (a page of a 100,000-task step costs what one of a 100-task step does)."""
    store = open_store(sqlite_url(tmp_path / "m.db"))
    run_id = _fill(store)
    store.close()
    conn = sqlite3.connect(tmp_path / "m.db")
    params = {"run_id": run_id, "step_name": "work", "after_order": "", "after_task": 0}
    plan = conn.execute("EXPLAIN QUERY PLAN " + sql.READS["task_page"], {**params, "limit": 5})
    details = " ".join(row[3] for row in plan)
    assert "ix_tasks_run_step" in details and "TEMP B-TREE" not in details
    # The run page's summaries read indexes, not the table: counts and times from the
    # covering ix_tasks_run_step_status, the median from ix_tasks_run_step_duration.
    stats = conn.execute("EXPLAIN QUERY PLAN " + sql.READS["step_stats"], {"run_id": run_id})
    assert "COVERING INDEX ix_tasks_run_step_status" in " ".join(row[3] for row in stats)
    median = {"run_id": run_id, "step_name": "work", "offset": 3}
    nth = conn.execute("EXPLAIN QUERY PLAN " + sql.READS["step_nth_duration"], median)
    nth_details = " ".join(row[3] for row in nth)
    conn.close()
    assert "ix_tasks_run_step_duration" in nth_details and "TEMP B-TREE" not in nth_details


def test_start_histogram_counts_every_task_of_the_step(store: MetadataStore) -> None:
    run_id = _fill(store)
    slices = store.start_histogram(run_id, "work", 100.0, 10.0)  # starts 100.0 .. 219.0
    assert sum(slices.values()) == N
    assert min(slices) >= 0 and max(slices) <= N // 10
    assert store.start_histogram(run_id, "work", 100.0, 0.0) == {}


def test_v5_database_gets_the_summary_indexes(shared_url: str) -> None:
    """Schema version 6 adds two indexes on ``tasks``; a version 5 database gets them when
    opened, and keeps its rows."""
    from sqlalchemy import create_engine, text

    from ketch.metadata._engine import normalize_url
    from ketch.metadata._migrations import LATEST_VERSION, current_version

    with open_store(shared_url) as store:
        run_id = _fill(store)
    new = {"ix_tasks_run_step_status", "ix_tasks_run_step_duration"}
    engine = create_engine(normalize_url(shared_url))
    try:
        with engine.begin() as conn:
            for name in sorted(new):
                conn.execute(text(f"DROP INDEX {name}"))
            conn.execute(text("UPDATE ketch_schema_version SET version = 5"))
        with open_store(shared_url) as store:
            assert len(store.task_page(run_id, "work", limit=1000)) == N
        assert current_version(engine) == LATEST_VERSION
        listing = {
            "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index'",
            "postgresql": "SELECT indexname FROM pg_indexes WHERE tablename = 'tasks'",
        }[engine.dialect.name]
        with engine.connect() as conn:
            assert new <= set(conn.scalars(text(listing)))
    finally:
        engine.dispose()
