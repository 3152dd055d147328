"""`SqliteRecordWriter` (the run's writer on a SQLite file, without SQLAlchemy) writes exactly
what `SqlMetadataStore` writes, into the same schema."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from ketch.exceptions import NotFoundError
from ketch.metadata import (
    ArtifactRecord,
    AttemptRecord,
    ForeachFrame,
    ParameterRecord,
    SchemaVersionError,
    TaskRecord,
    open_store,
    sqlite_url,
)
from ketch.metadata._sqlite import SqliteRecordWriter, sqlite_file
from ketch.metadata._sqlite_gen import TARGET, render

RUN = 1_700_000_000_000_001


def _write_a_run(store: Any) -> None:
    """Every write a run makes, in the order a run makes them (one batch per loop turn)."""
    with store.batch():
        store.create_run(
            "TrainFlow", run_id=RUN, user="ada", tags=["exp", "b"], system_tags=["user:ada", "b"],
            origin_run_id=None, scheduler_pid=42, hostname="box", created_at=10.0,
        )  # fmt: skip
        store.set_parameters(RUN, [ParameterRecord("alpha", "0.5", "k" * 64)])
        store.set_parameters(RUN, [ParameterRecord("beta", '"x"', "j" * 64)])  # replaces
        store.set_code_key(RUN, "c" * 64)
        store.set_graph_key(RUN, "g" * 64)
    frames = (ForeachFrame("start", "items", 2, 1, "'b'"),)
    with store.batch():
        for task_id, step in ((1, "start"), (2, "work"), (3, "work")):
            running = TaskRecord(RUN, step, task_id, "running", 11.0 + task_id, None)
            store.upsert_task(running)
            store.upsert_attempt(AttemptRecord(RUN, task_id, 0, "running", 11.0, None, pid=7))
        store.heartbeat(RUN, 12.5)
    with store.batch():
        done = TaskRecord(
            RUN, "work", 3, "completed", 14.0, 15.0, attempt=1, foreach_stack=frames,
            origin_run_id=5, origin_task_id=9, input_task_ids=(1,),
        )  # fmt: skip
        store.upsert_attempt(
            AttemptRecord(RUN, 3, 1, "completed", 14.0, 15.0, 0, None, None, "o" * 64, None, 8)
        )
        store.upsert_task(done)  # the child row came first: checked at commit
        arts = [
            ArtifactRecord("x", "a" * 64, "int", 3, "pickle"),
            ArtifactRecord("y", "b" * 64, "list", 9),
        ]
        store.add_artifacts(RUN, 3, 1, arts)
        store.add_artifacts(RUN, 3, 1, [ArtifactRecord("x", "d" * 64, "str", 5, "pickle")])
    store.finish_run(RUN, "completed", 20.0)


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in tables}
    finally:
        conn.close()


def _schema(path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        conn.close()
    return [(kind, name, " ".join((sql or "").split())) for kind, name, sql in rows]


def test_generated_statements_are_up_to_date() -> None:
    assert TARGET.read_text() == render(), "run: python -m ketch.metadata._sqlite_gen"


def test_fresh_database_gets_the_same_schema(tmp_path: Path) -> None:
    SqliteRecordWriter(sqlite_url(tmp_path / "w.db")).close()
    open_store(sqlite_url(tmp_path / "s.db")).close()
    assert _schema(tmp_path / "w.db") == _schema(tmp_path / "s.db")
    conn = sqlite3.connect(tmp_path / "w.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM ketch_schema_version").fetchall() == [(1,)]
    conn.close()


def test_writes_the_same_rows_as_the_sql_store(tmp_path: Path) -> None:
    with SqliteRecordWriter(sqlite_url(tmp_path / "w.db")) as writer:
        _write_a_run(writer)
    with open_store(sqlite_url(tmp_path / "s.db")) as store:
        _write_a_run(store)
    written = _dump(tmp_path / "w.db")
    assert written == _dump(tmp_path / "s.db")
    assert len(written["tasks"]) == 3 and len(written["artifacts"]) == 2
    with open_store(sqlite_url(tmp_path / "w.db")) as store:  # and reads back as records
        run = store.get_run(RUN)
        assert run is not None and run.status == "completed" and run.tags == {"exp"}
        assert run.system_tags == {"user:ada", "b"}
        task = store.get_task(RUN, 3)
        assert task is not None and task.foreach_stack[0].value == "'b'"
        assert [s.step_name for s in store.list_steps(RUN)] == ["start", "work"]
        assert [p.name for p in store.get_parameters(RUN)] == ["beta"]


def test_missing_run_is_an_error_and_a_failed_batch_writes_nothing(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "w.db")
    with SqliteRecordWriter(url) as writer:
        with pytest.raises(NotFoundError, match="run 5 does not exist"):
            writer.finish_run(5, "failed", 1.0)
        with pytest.raises(NotFoundError):
            writer.set_parameters(5, [])
        with pytest.raises(RuntimeError), writer.batch():
            writer.create_run("F", run_id=1, user="u", tags=[], system_tags=[])
            raise RuntimeError("boom")
        with writer.batch():
            writer.create_run("F", run_id=2, user="u", tags=[], system_tags=[])
            with pytest.raises(NotFoundError), writer.batch():  # nested: rolls back itself only
                writer.create_run("F", run_id=3, user="u", tags=[], system_tags=[])
                writer.heartbeat(4, 1.0)
        with pytest.raises(sqlite3.IntegrityError), writer.batch():
            writer.upsert_attempt(AttemptRecord(2, 99, 0, "running", 1.0, None))  # no task 99
    runs = _dump(tmp_path / "w.db")["runs"]
    assert [(r[0], r[3]) for r in runs] == [(2, "running")]  # run id, status


def test_opens_a_store_made_by_the_sql_store_and_refuses_a_newer_one(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "m.db")
    with open_store(url) as store:
        store.create_run("F", run_id=1, user="u", tags=[], system_tags=[])
    with SqliteRecordWriter(url) as writer:
        writer.finish_run(1, "completed", 2.0)
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("UPDATE ketch_schema_version SET version = 999")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaVersionError, match="999"):
        SqliteRecordWriter(url)


def test_writers_creating_one_fresh_file_at_once(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "race.db")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_and_write(run_id: int) -> None:
        try:
            barrier.wait()
            with SqliteRecordWriter(url) as writer:
                writer.create_run("F", run_id=run_id, user="u", tags=[], system_tags=[])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_write, args=(i,)) for i in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [r[0] for r in _dump(tmp_path / "race.db")["runs"]] == [1, 2, 3, 4]
    assert _dump(tmp_path / "race.db")["ketch_schema_version"] == [(1,)]


def test_sqlite_file_of_urls() -> None:
    assert sqlite_file("sqlite:////srv/p/.ketch/ketch.db") == "/srv/p/.ketch/ketch.db"
    assert sqlite_file("sqlite:///rel.db") == "rel.db"
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql://u@h/db") is None
