"""The one contract suite of `MetadataStore`, run against every backend.

Backends: ``sqlite`` (a file), ``memory`` (``sqlite://``) and ``postgres`` (a fresh database on
the session's PostgreSQL server); the fixtures are in ``conftest.py``.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from ketch.exceptions import NotFoundError, UserError
from ketch.metadata import (
    ArtifactRecord,
    AttemptRecord,
    ForeachFrame,
    MetadataStore,
    ParameterRecord,
    RunLinkRecord,
    SchemaVersionError,
    StoreUrlError,
    TaskRecord,
    open_store,
    sqlite_url,
)
from ketch.metadata._engine import normalize_url
from ketch.metadata._migrations import LATEST_VERSION, current_version

from . import _workers


def _task(
    run_id: int,
    task_id: int,
    step: str = "start",
    *,
    indices: tuple[int, ...] = (),
    status: str = "completed",
    attempt: int = 0,
    created_at: float = 100.0,
) -> TaskRecord:
    frames = tuple(
        ForeachFrame(step=f"split{level}", var="items", num_splits=20, index=i, value=f"v{i}")
        for level, i in enumerate(indices)
    )
    return TaskRecord(
        run_id=run_id,
        step_name=step,
        task_id=task_id,
        status=status,  # type: ignore[arg-type]
        created_at=created_at,
        attempt=attempt,
        foreach_stack=frames,
    )


def _new_run(store: MetadataStore, flow: str = "TestFlow", **kw: Any) -> int:
    kw.setdefault("tags", [])
    kw.setdefault("system_tags", [])
    return store.create_run(flow, user="ada", **kw).run_id


# -- runs, flows ----------------------------------------------------------------------------------


def test_create_and_get_run(store: MetadataStore) -> None:
    before = time.time()
    run = store.create_run(
        "HelloFlow",
        user="ada",
        tags=["exp", "ünïcode"],
        system_tags=["user:ada", "runtime:dev"],
        origin_run_id=None,
        code_key="code-1",
        scheduler_pid=4242,
        hostname="box",
    )
    assert run.status == "running" and run.flow_name == "HelloFlow" and run.user == "ada"
    assert run.run_id > 0 and before - 1 <= run.created_at <= time.time() + 1
    assert run.tags == {"exp", "ünïcode"} and run.system_tags == {"user:ada", "runtime:dev"}
    assert (run.code_key, run.scheduler_pid, run.hostname) == ("code-1", 4242, "box")
    assert run.finished_at is None and run.heartbeat_at is None
    assert store.get_run(run.run_id) == run
    assert store.get_run(run.run_id + 1000) is None


def test_run_ids_are_global_and_runs_newest_first(store: MetadataStore) -> None:
    a1 = _new_run(store, "A")
    b1 = _new_run(store, "B")
    a2 = _new_run(store, "A", origin_run_id=a1)
    assert a1 < b1 < a2
    assert [r.run_id for r in store.list_runs()] == [a2, b1, a1]
    assert [r.run_id for r in store.list_runs("A")] == [a2, a1]
    assert [r.run_id for r in store.list_runs("A", limit=1)] == [a2]
    assert store.list_runs("Nope") == []
    assert store.get_run(a2) is not None and store.get_run(a2).origin_run_id == a1  # type: ignore[union-attr]
    assert [f.flow_name for f in store.list_flows()] == ["A", "B"]


def test_flow_created_once(store: MetadataStore) -> None:
    _new_run(store, "A")
    first = store.list_flows()
    _new_run(store, "A")
    assert store.list_flows() == first


def test_heartbeat_code_key_and_finish(store: MetadataStore) -> None:
    run_id = _new_run(store)
    store.heartbeat(run_id, 123.5)
    store.set_code_key(run_id, "code-key")
    store.set_graph_key(run_id, "graph-key")
    store.finish_run(run_id, "failed", 200.25)
    run = store.get_run(run_id)
    assert run is not None
    assert (run.heartbeat_at, run.code_key, run.graph_key, run.status, run.finished_at) == (
        123.5,
        "code-key",
        "graph-key",
        "failed",
        200.25,
    )
    with pytest.raises(NotFoundError):
        store.heartbeat(run_id + 99, 1.0)
    with pytest.raises(NotFoundError):
        store.finish_run(run_id + 99, "completed", 1.0)


# -- tags -----------------------------------------------------------------------------------------


def test_tags_filter_with_and_semantics(store: MetadataStore) -> None:
    r1 = _new_run(store, tags=["a", "b"], system_tags=["user:ada"])
    r2 = _new_run(store, tags=["a"], system_tags=["user:bob"])
    r3 = _new_run(store, "Other", tags=["a", "b"], system_tags=["user:ada"])
    assert [r.run_id for r in store.list_runs(tags=["a"])] == [r3, r2, r1]
    assert [r.run_id for r in store.list_runs(tags=["a", "b"])] == [r3, r1]
    assert [r.run_id for r in store.list_runs("TestFlow", tags=["b", "a"])] == [r1]
    assert [r.run_id for r in store.list_runs(tags=["a", "user:ada"])] == [r3, r1]  # mixed kinds
    assert [r.run_id for r in store.list_runs(tags=["a", "a", "user:bob"])] == [r2]
    assert store.list_runs(tags=["a", "missing"]) == []
    assert [r.run_id for r in store.list_runs(tags=["a"], limit=2)] == [r3, r2]
    listed = store.list_runs(tags=["user:ada"])
    assert all(r.tags == {"a", "b"} and r.system_tags == {"user:ada"} for r in listed)


def test_add_and_remove_tags(store: MetadataStore) -> None:
    run_id = _new_run(store, tags=["keep"], system_tags=["user:ada", "both"])
    store.add_tags(run_id, ["new", "new", "keep"])
    store.add_tags(run_id, ["new"])  # idempotent
    store.add_tags(run_id, ["both"])  # already a system tag: stays one
    run = store.get_run(run_id)
    assert run is not None
    assert run.tags == {"keep", "new"} and run.system_tags == {"user:ada", "both"}
    store.remove_tags(run_id, ["new", "user:ada", "both", "absent"])
    run = store.get_run(run_id)
    assert run is not None
    assert run.tags == {"keep"} and run.system_tags == {"user:ada", "both"}
    assert [r.run_id for r in store.list_runs(tags=["user:ada", "keep"])] == [run_id]
    assert store.list_runs(tags=["new"]) == []
    with pytest.raises(NotFoundError):
        store.add_tags(run_id + 99, ["x"])
    with pytest.raises(NotFoundError):
        store.remove_tags(run_id + 99, ["x"])


# -- parameters -----------------------------------------------------------------------------------


def test_parameters_round_trip(store: MetadataStore) -> None:
    run_id = _new_run(store)
    params = [
        ParameterRecord("zeta", '{"a": [1, 2.5, null]}', "k1"),
        ParameterRecord("alpha", '"héllo"', "k2"),
        ParameterRecord("mid", "3", "k3"),
    ]
    assert store.get_parameters(run_id) == []
    store.set_parameters(run_id, params)
    assert store.get_parameters(run_id) == params  # in the order given
    replacement = [ParameterRecord("alpha", '"new"', "k4")]
    store.set_parameters(run_id, replacement)  # replaces the whole set
    assert store.get_parameters(run_id) == replacement
    with pytest.raises(NotFoundError):
        store.set_parameters(run_id + 99, params)


# -- steps, tasks, attempts -----------------------------------------------------------------------


def test_upsert_task_and_steps(store: MetadataStore) -> None:
    run_id = _new_run(store)
    origin = _new_run(store)
    store.upsert_task(_task(run_id, 1, "start", status="running", created_at=10.0))
    store.upsert_task(_task(run_id, 3, "end", created_at=5.0))  # created later, earlier time
    store.upsert_task(_task(run_id, 2, "middle", created_at=30.0))
    store.upsert_task(_task(run_id, 4, "middle", created_at=40.0))
    assert [s.step_name for s in store.list_steps(run_id)] == ["start", "end", "middle"]
    assert [s.created_at for s in store.list_steps(run_id)] == [10.0, 5.0, 30.0]
    replaced = TaskRecord(
        run_id=run_id,
        step_name="start",
        task_id=1,
        status="failed",
        created_at=10.0,
        finished_at=12.0,
        attempt=2,
        foreach_stack=(ForeachFrame("s", "xs", 3, 1, "b"),),
        origin_run_id=origin,
        origin_task_id=7,
        input_task_ids=(9, 8),
    )
    store.upsert_task(replaced)
    assert store.get_task(run_id, 1) == replaced
    assert store.get_task(run_id, 99) is None
    assert [s.step_name for s in store.list_steps(run_id)] == ["start", "end", "middle"]
    assert [t.task_id for t in store.list_tasks(run_id)] == [1, 3, 2, 4]  # steps in order
    assert [t.task_id for t in store.list_tasks(run_id, "middle")] == [2, 4]
    assert store.list_tasks(run_id, "nope") == []
    assert store.list_steps(origin) == []


def test_tasks_ordered_by_foreach_indices(store: MetadataStore) -> None:
    run_id = _new_run(store)
    flat = {11: (10,), 12: (2,), 13: (0,), 14: (1,)}
    nested = {21: (2, 0), 22: (1, 2), 23: (1, 0), 24: (10, 1), 25: (1, 10)}
    for task_id, indices in (flat | nested).items():
        step = "flat" if task_id in flat else "nested"
        store.upsert_task(_task(run_id, task_id, step, indices=indices))
    by_step = {
        step: [t.foreach_stack for t in store.list_tasks(run_id, step)]
        for step in ("flat", "nested")
    }
    assert [tuple(f.index for f in s) for s in by_step["flat"]] == [(0,), (1,), (2,), (10,)]
    assert [tuple(f.index for f in s) for s in by_step["nested"]] == [
        (1, 0),
        (1, 2),
        (1, 10),
        (2, 0),
        (10, 1),
    ]
    # Same indices (or none): task id decides.
    store.upsert_task(_task(run_id, 31, "join"))
    store.upsert_task(_task(run_id, 30, "join"))
    assert [t.task_id for t in store.list_tasks(run_id, "join")] == [30, 31]


def test_attempts_round_trip(store: MetadataStore) -> None:
    run_id = _new_run(store)
    store.upsert_task(_task(run_id, 1, attempt=1))
    first = AttemptRecord(run_id, 1, 0, "running", 1.0, pid=10)
    store.upsert_attempt(first)
    failed = AttemptRecord(
        run_id, 1, 0, "failed", 1.0, 2.0, 1, "ValueError: bad", "Traceback...", "out0", "err0", 10
    )
    store.upsert_attempt(failed)  # replaces the running row
    second = AttemptRecord(run_id, 1, 1, "completed", 3.0, 4.0, 0, stdout_key="o1", pid=11)
    store.upsert_attempt(second)
    assert store.list_attempts(run_id, 1) == [failed, second]
    assert store.list_attempts(run_id, 2) == []
    store.upsert_task(_task(run_id, 2))
    other = AttemptRecord(run_id, 2, 0, "completed", 5.0, 6.0, 0)
    store.upsert_attempt(other)
    assert store.list_attempts(run_id) == [failed, second, other]  # the whole run, in one query


def test_attempt_node_round_trip(store: MetadataStore) -> None:
    """An attempt that ran on another machine (a Ray node) reads back with where it ran."""
    run_id = _new_run(store)
    store.upsert_task(_task(run_id, 1, "end", attempt=1))
    running = AttemptRecord(run_id, 1, 0, "running", 1.0, pid=10, node="ray:n0")
    store.upsert_attempt(running)
    assert store.list_attempts(run_id, 1) == [running]
    failed = AttemptRecord(run_id, 1, 0, "failed", 1.0, 2.0, 1, pid=10, node="ray:n0")
    store.upsert_attempt(failed)  # replaces the running row, node included
    second = AttemptRecord(run_id, 1, 1, "completed", 3.0, 4.0, 0, pid=11, node="ray:ünï")
    store.upsert_attempt(second)
    assert store.list_attempts(run_id) == [failed, second]
    (snap,) = store.snapshot_step([run_id], "end")[run_id]
    assert snap.attempt == second


# -- artifacts ------------------------------------------------------------------------------------


def test_artifacts_of_latest_attempt(store: MetadataStore) -> None:
    run_id = _new_run(store)
    store.upsert_task(_task(run_id, 1, attempt=0))
    store.upsert_task(_task(run_id, 2, "end", attempt=0))
    old = [ArtifactRecord("x", "k-old", "builtins.int", 3), ArtifactRecord("y", "k-y", "t", 4)]
    store.add_artifacts(run_id, 1, 0, old)
    store.add_artifacts(run_id, 2, 0, [ArtifactRecord("z", "k-z", "numpy.ndarray", 2**40, "raw")])
    assert store.list_artifacts(run_id, 1) == old
    new = [ArtifactRecord("x", "k-new", "builtins.int", 3)]
    store.upsert_task(_task(run_id, 1, attempt=1))
    store.add_artifacts(run_id, 1, 1, new)
    store.add_artifacts(run_id, 1, 1, [])  # no-op
    assert store.list_artifacts(run_id, 1) == new
    assert store.list_artifacts(run_id, 1, attempt=0) == old
    assert store.list_artifacts(run_id, 1, attempt=5) == []
    assert store.list_artifacts(run_id, 99) == []
    assert list(store.iter_run_artifacts(run_id)) == [
        (1, new[0]),
        (2, ArtifactRecord("z", "k-z", "numpy.ndarray", 2**40, "raw")),
    ]
    # Writing a name again replaces it.
    store.add_artifacts(run_id, 1, 1, [ArtifactRecord("x", "k-newer", "builtins.int", 5)])
    assert [a.key for a in store.list_artifacts(run_id, 1)] == ["k-newer"]


def test_snapshot_step_reads_many_runs_at_once(store: MetadataStore) -> None:
    r1, r2, r3 = _new_run(store), _new_run(store), _new_run(store)
    for run_id in (r1, r2):
        store.upsert_task(_task(run_id, 1))
        store.upsert_task(_task(run_id, 2, "end", attempt=1))
        for attempt, status in ((0, "failed"), (1, "completed")):
            store.upsert_attempt(AttemptRecord(run_id, 2, attempt, status, 1.0, 2.0))  # type: ignore[arg-type]
            arts = [ArtifactRecord(n, f"k{run_id}{attempt}{n}", "t", 1) for n in ("b", "a")]
            store.add_artifacts(run_id, 2, attempt, arts)
    store.upsert_task(_task(r3, 1))  # a run without the step
    found = store.snapshot_step([r3, r1, r2, 424242], "end")
    assert set(found) == {r1, r2}
    for run_id in (r1, r2):
        (snap,) = found[run_id]
        assert (snap.task.task_id, snap.task.attempt) == (2, 1)
        assert snap.attempt is not None and snap.attempt.status == "completed"
        assert [a.name for a in snap.artifacts] == ["a", "b"]  # the latest attempt's, by name
        assert snap.artifacts[0].key == f"k{run_id}1a"
    assert store.snapshot_step([], "end") == {}
    many = store.snapshot_step([r1, *range(1, 1200)], "end")  # more ids than one query takes
    assert list(many) == [r1]


def test_run_summaries_count_tasks(store: MetadataStore) -> None:
    r1 = _new_run(store, tags=["t"])
    r2 = _new_run(store)
    for task_id, status in enumerate(["completed", "completed", "failed", "running"], 1):
        store.upsert_task(_task(r1, task_id, status=status))
    summaries = store.list_run_summaries()
    assert [s.run.run_id for s in summaries] == [r2, r1]
    assert summaries[1].task_counts == {"completed": 2, "failed": 1, "running": 1}
    assert summaries[0].task_counts == {}
    assert [s.run.run_id for s in store.list_run_summaries(tags=["t"], limit=5)] == [r1]


# -- batches --------------------------------------------------------------------------------------


def test_batch_commits_together_and_reads_see_own_writes(store: MetadataStore) -> None:
    run_id = _new_run(store)
    with store.batch():
        # Child rows first: foreign keys are checked when the batch commits.
        store.add_artifacts(run_id, 1, 0, [ArtifactRecord("x", "k", "t", 1)])
        store.upsert_attempt(AttemptRecord(run_id, 1, 0, "completed", 1.0))
        store.upsert_task(_task(run_id, 1))
        with store.batch():  # nested: same transaction
            store.upsert_task(_task(run_id, 2))
        assert [t.task_id for t in store.list_tasks(run_id)] == [1, 2]
    assert [t.task_id for t in store.list_tasks(run_id)] == [1, 2]
    assert [a.key for a in store.list_artifacts(run_id, 1)] == ["k"]


def test_batch_exception_writes_nothing(store: MetadataStore) -> None:
    run_id = _new_run(store)
    with pytest.raises(RuntimeError, match="boom"):
        with store.batch():
            new_run = _new_run(store, "Ghost")
            store.upsert_task(_task(run_id, 1))
            store.add_artifacts(run_id, 1, 0, [ArtifactRecord("x", "k", "t", 1)])
            store.add_tags(run_id, ["ghost"])
            store.finish_run(run_id, "completed", 5.0)
            raise RuntimeError("boom")
    assert store.get_run(new_run) is None
    assert store.list_tasks(run_id) == [] and store.list_steps(run_id) == []
    assert store.list_artifacts(run_id, 1, attempt=0) == []
    run = store.get_run(run_id)
    assert run is not None and run.status == "running" and run.tags == frozenset()
    assert [f.flow_name for f in store.list_flows()] == ["TestFlow"]


def test_nested_batch_failure_rolls_back_only_itself(store: MetadataStore) -> None:
    run_id = _new_run(store)
    with store.batch():
        store.upsert_task(_task(run_id, 1))
        with pytest.raises(RuntimeError):
            with store.batch():
                store.upsert_task(_task(run_id, 2))
                raise RuntimeError("inner")
        store.upsert_task(_task(run_id, 3))
    assert [t.task_id for t in store.list_tasks(run_id)] == [1, 3]


def test_dangling_reference_fails_at_commit(store: MetadataStore) -> None:
    run_id = _new_run(store)
    with pytest.raises(Exception, match="(?i)foreign key"):
        with store.batch():
            store.add_artifacts(run_id, 42, 0, [ArtifactRecord("x", "k", "t", 1)])
    assert store.list_artifacts(run_id, 42, attempt=0) == []


def test_batch_invisible_to_others_until_commit(shared_url: str) -> None:
    writer, reader = open_store(shared_url), open_store(shared_url)
    try:
        run_id = _new_run(writer)
        with writer.batch():
            writer.upsert_task(_task(run_id, 1))
            assert reader.list_tasks(run_id) == []  # readers are not blocked by the writer
        assert [t.task_id for t in reader.list_tasks(run_id)] == [1]
    finally:
        writer.close()
        reader.close()


# -- opening, migrations --------------------------------------------------------------------------


def test_open_twice_is_idempotent(shared_url: str) -> None:
    with open_store(shared_url) as first:
        run_id = _new_run(first, tags=["t"])
    with open_store(shared_url) as second:
        assert [r.run_id for r in second.list_runs(tags=["t"])] == [run_id]
    engine = create_engine(normalize_url(shared_url))
    try:
        assert current_version(engine) == LATEST_VERSION
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT COUNT(*) FROM ketch_schema_version")) == 1
    finally:
        engine.dispose()


def _downgrade_to_v2(url: str) -> None:
    """Make a current database into the shape version 2 had: attempts without ``node``, no
    ``metrics`` table."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE attempts DROP COLUMN node"))
            conn.execute(text("DROP TABLE metrics"))
            conn.execute(text("DROP TABLE run_links"))
            conn.execute(text("UPDATE ketch_schema_version SET version = 2"))
    finally:
        engine.dispose()


def test_v2_database_upgrades_and_keeps_its_rows(shared_url: str) -> None:
    with open_store(shared_url) as first:
        run_id = _new_run(first, tags=["old"])
        first.upsert_task(_task(run_id, 1))
        first.upsert_attempt(AttemptRecord(run_id, 1, 0, "completed", 1.0, 2.0, 0, pid=7))
        first.finish_run(run_id, "completed", 3.0)
    _downgrade_to_v2(shared_url)
    with open_store(shared_url) as store:
        run = store.get_run(run_id)
        assert run is not None and run.status == "completed" and run.tags == {"old"}
        assert [t.task_id for t in store.list_tasks(run_id)] == [1]
        (old,) = store.list_attempts(run_id)
        assert (old.pid, old.exit_code, old.node) == (7, 0, None)
        new = AttemptRecord(run_id, 1, 1, "completed", 4.0, 5.0, 0, node="ray:n1")
        store.upsert_attempt(new)  # the new column is writable after the upgrade
        assert store.list_attempts(run_id) == [old, new]
        assert store.list_metrics(run_id) == []  # and the new table (version 4) is there
        store.upsert_task(_task(run_id, 1, attempt=1))
        store.add_metrics(run_id, 1, 1, "start", [("loss", 0, 0.5, 4.5)])
        assert [m.value for m in store.list_metrics(run_id, 1)] == [0.5]
        assert store.list_run_links(run_id) == []  # and the table of version 5
        store.add_run_link(RunLinkRecord(run_id, "mlflow", "abc", "", 6.0))
        assert [link.external_id for link in store.list_run_links(run_id)] == ["abc"]
    engine = create_engine(normalize_url(shared_url))
    try:
        assert current_version(engine) == LATEST_VERSION
    finally:
        engine.dispose()


def test_newer_schema_is_refused(shared_url: str) -> None:
    open_store(shared_url).close()
    engine = create_engine(normalize_url(shared_url))
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE ketch_schema_version SET version = 999"))
    finally:
        engine.dispose()
    with pytest.raises(SchemaVersionError) as info:
        open_store(shared_url)
    assert isinstance(info.value, UserError) and "999" in str(info.value)
    assert "upgrade ketch" in info.value.hint


def test_sqlite_file_uses_wal(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "deep" / "dir" / "m.db")
    assert url.startswith("sqlite:////")
    open_store(url).close()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        engine.dispose()


@pytest.mark.parametrize("bad", ["mysql://x/y", "/just/a/path", "metadata.db"])
def test_bad_urls_are_user_errors(bad: str) -> None:
    with pytest.raises(StoreUrlError):
        open_store(bad)


def test_store_survives_fork(shared_url: str) -> None:
    with open_store(shared_url) as store:
        parent_run = _new_run(store)  # the pool now holds a connection
        pid = os.fork()
        if pid == 0:  # child: must open its own connections, never reuse the parent's
            code = 1
            try:
                store.upsert_task(_task(_new_run(store, "Child"), 1))
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        store.upsert_task(_task(parent_run, 1))
        assert [r.flow_name for r in store.list_runs()] == ["Child", "TestFlow"]


# -- several processes ----------------------------------------------------------------------------


def _run_processes(targets: list[tuple[Any, tuple[Any, ...]]]) -> list[tuple[str, Any]]:
    """Start every target at once (they share a barrier); gather one result from each."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(targets)), ctx.Queue()
    procs = [ctx.Process(target=fn, args=(*args, barrier, results)) for fn, args in targets]
    for proc in procs:
        proc.start()
    try:
        gathered = [results.get(timeout=280) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    errors = [detail for kind, detail in gathered if kind == "error"]
    assert not errors, "\n\n".join(errors)
    return gathered


def test_concurrent_fresh_open(shared_url: str) -> None:
    gathered = _run_processes([(_workers.open_and_create, (shared_url,))] * 6)
    run_ids = sorted(detail for _kind, detail in gathered)
    assert len(set(run_ids)) == 6
    with open_store(shared_url) as store:
        assert sorted(r.run_id for r in store.list_runs("OpenFlow")) == run_ids


def test_concurrent_writers_and_reader(shared_url: str) -> None:
    writers, n_tasks = 4, 200
    open_store(shared_url).close()  # schema first; concurrent first opens are tested above
    targets: list[tuple[Any, tuple[Any, ...]]] = [
        (_workers.write_run, (shared_url, n_tasks, 5)) for _ in range(writers)
    ]
    targets.append((_workers.read_loop, (shared_url, writers)))
    gathered = _run_processes(targets)
    run_ids = [detail for kind, detail in gathered if kind == "ok"]
    loops = [detail for kind, detail in gathered if kind == "reader"]
    assert len(run_ids) == writers and len(loops) == 1 and loops[0] >= 1
    with open_store(shared_url) as store:
        for run_id in run_ids:
            run = store.get_run(run_id)
            assert run is not None and run.status == "completed"
            tasks = store.list_tasks(run_id)
            assert [t.task_id for t in tasks] == list(range(1, n_tasks + 1))
            assert all(t.status == "completed" for t in tasks)
            assert len(list(store.iter_run_artifacts(run_id))) == 3 * n_tasks
            assert len(store.list_attempts(run_id, n_tasks)) == 1
