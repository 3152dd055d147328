"""`SqliteStore` (a SQLite file on the standard library) makes the same schema and writes the
same rows as `SqlMetadataStore`; the contract suite (test_contract.py) checks the rest."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from ketch.metadata import (
    ArtifactRecord,
    AttemptRecord,
    ForeachFrame,
    ParameterRecord,
    TaskRecord,
    open_store,
    sqlite_url,
)
from ketch.metadata._migrations import LATEST_VERSION
from ketch.metadata._sqlite import sqlite_file
from ketch.metadata._sqlite_gen import TARGET, render
from ketch.metadata._sqlite_store import SqliteStore

RUN = 1_700_000_000_000_001


def _write_a_run(store: Any) -> None:
    """Every write a run makes, in the order a run makes them (one batch per loop turn)."""
    with store.batch():
        store.create_run(
            "TrainFlow",
            run_id=RUN,
            user="ada",
            tags=["exp", "b"],
            system_tags=["user:ada", "b"],
            origin_run_id=None,
            scheduler_pid=42,
            hostname="box",
            created_at=10.0,
        )
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
            RUN,
            "work",
            3,
            "completed",
            14.0,
            15.0,
            attempt=1,
            foreach_stack=frames,
            origin_run_id=5,
            origin_task_id=9,
            input_task_ids=(1,),
        )
        store.upsert_attempt(
            AttemptRecord(
                RUN, 3, 1, "completed", 14.0, 15.0, 0, None, None, "o" * 64, None, 8, "ray:n1"
            )
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
    SqliteStore(sqlite_url(tmp_path / "w.db")).close()
    open_store(sqlite_url(tmp_path / "s.db"), sqlalchemy=True).close()
    assert _schema(tmp_path / "w.db") == _schema(tmp_path / "s.db")
    conn = sqlite3.connect(tmp_path / "w.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM ketch_schema_version").fetchall() == [
        (LATEST_VERSION,)
    ]
    conn.close()


def test_writes_the_same_rows_as_the_sql_store(tmp_path: Path) -> None:
    with SqliteStore(sqlite_url(tmp_path / "w.db")) as writer:
        _write_a_run(writer)
    with open_store(sqlite_url(tmp_path / "s.db"), sqlalchemy=True) as store:
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


def test_sqlite_file_of_urls() -> None:
    assert sqlite_file("sqlite:////srv/p/.ketch/ketch.db") == "/srv/p/.ketch/ketch.db"
    assert sqlite_file("sqlite:///rel.db") == "rel.db"
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql://u@h/db") is None


def test_sqlite_files_open_without_sqlalchemy(tmp_path: Path) -> None:
    """A run's writer and the Client must not wait for SQLAlchemy's import (~0.13 s)."""
    script = f"""
import sys
from ketch.metadata import open_store, sqlite_url
with open_store(sqlite_url({str(tmp_path / "m.db")!r})) as store:
    run = store.create_run("F", user="u", tags=["t"], system_tags=[])
    assert [r.run_id for r in store.list_runs("F", tags=["t"])] == [run.run_id]
assert "sqlalchemy" not in sys.modules, "sqlalchemy was imported"
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
