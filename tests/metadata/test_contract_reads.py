"""The contract of the readers' batch reads (`parameters_for_runs`, `failures`, `progress`), run
against every backend, and the checks that keep each query written once: one set of named
queries, compiled for SQLite ahead of time with every parameter the caller's."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

from ketch.metadata import (
    AttemptRecord,
    MetadataReader,
    MetadataStore,
    MetadataWriter,
    ParameterRecord,
    RunProgress,
    TaskFailure,
    TaskRecord,
    open_store,
    sqlite_url,
)
from ketch.metadata import _sqlite_sql as sql
from ketch.metadata._queries import READS
from ketch.metadata._sql import SqlMetadataStore
from ketch.metadata._sqlite_store import SqliteStore, _expanded
from ketch.runtime._writer import RecordWriter


def _run(store: MetadataStore, flow: str = "ReadFlow") -> int:
    return store.create_run(flow, user="ada", tags=[], system_tags=[]).run_id


def _task(run_id: int, task_id: int, step: str, status: str, *, attempt: int = 0) -> TaskRecord:
    return TaskRecord(run_id, step, task_id, status, 10.0 + task_id, 20.0 + task_id, attempt)  # type: ignore[arg-type]


def test_parameters_for_runs(store: MetadataStore) -> None:
    first, second, bare = _run(store), _run(store), _run(store)
    params = [ParameterRecord("zeta", "1", "k1"), ParameterRecord("alpha", '"a"', "k2")]
    store.set_parameters(first, params)
    store.set_parameters(second, params[1:])
    found = store.parameters_for_runs([second, first, bare, first, -1])
    assert found == {first: params, second: params[1:]}  # each run's in the order given
    assert store.parameters_for_runs([]) == {}


def test_failures_of_latest_attempts(store: MetadataStore) -> None:
    run_id = _run(store)
    with store.batch():
        store.upsert_task(_task(run_id, 1, "start", "completed"))
        store.upsert_task(_task(run_id, 2, "a", "failed", attempt=1))
        store.upsert_task(_task(run_id, 3, "b", "failed"))
        store.upsert_attempt(AttemptRecord(run_id, 1, 0, "completed", 1.0, 2.0, 0))
        store.upsert_attempt(AttemptRecord(run_id, 2, 0, "failed", 1.0, 2.0, 1, "Old"))
        store.upsert_attempt(AttemptRecord(run_id, 2, 1, "failed", 3.0, 4.0, 2, "ValueError: x"))
        store.upsert_attempt(AttemptRecord(run_id, 3, 0, "failed", 1.0, 2.0, None, None))
    assert store.failures(run_id) == {
        2: TaskFailure("ValueError: x", 2),  # the latest attempt's
        3: TaskFailure(None, None),
    }
    assert store.failures(run_id, "b") == {3: TaskFailure(None, None)}
    assert store.failures(run_id, "nowhere") == {}
    assert store.failures(run_id + 1) == {}


def test_progress_counts_tasks_but_the_excepted_step(store: MetadataStore) -> None:
    run_id = _run(store)
    assert store.progress(run_id) == RunProgress({}, 0.0)
    with store.batch():
        store.upsert_task(_task(run_id, 0, "_parameters", "completed"))
        store.upsert_task(_task(run_id, 1, "start", "completed"))
        store.upsert_task(_task(run_id, 2, "a", "running"))
        store.upsert_task(_task(run_id, 3, "a", "running"))
    found = store.progress(run_id, except_step="_parameters")
    assert found == RunProgress({"completed": 1, "running": 2}, 23.0)
    assert store.progress(run_id).task_counts == {"completed": 2, "running": 2}


def test_read_only_store_is_a_reader(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "m.db")
    with open_store(url) as store:
        run_id = _run(store)
    with open_store(url, read_only=True) as reader:
        assert reader.read_only
        assert [r.run_id for r in reader.list_runs("ReadFlow")] == [run_id]
        assert reader.progress(run_id) == RunProgress({}, 0.0)


def test_both_stores_are_readers_and_writers() -> None:
    # What mypy checks in src: each store class has every member of both protocols.
    for cls in (SqliteStore, SqlMetadataStore):
        for protocol in (MetadataReader, MetadataWriter):
            missing = [n for n in _members(protocol) if not hasattr(cls, n)]
            assert not missing, (cls.__name__, protocol.__name__, missing)


def test_record_writer_has_every_write_with_the_same_arguments() -> None:
    for name in _members(MetadataWriter) - {"batch"}:
        ours = inspect.signature(getattr(RecordWriter, name))
        theirs = inspect.signature(getattr(MetadataWriter, name))
        assert list(ours.parameters.values()) == list(theirs.parameters.values()), name


def _members(protocol: type) -> set[str]:
    return {n for n in vars(protocol) if not n.startswith("_") and callable(vars(protocol)[n])}


def test_every_query_is_compiled_for_sqlite() -> None:
    assert set(sql.READS) == set(
        READS
    )  # the generated module is up to date (see test_sqlite_store)


@pytest.mark.parametrize("n", [1, 3])
def test_expanding_parameters_spread_one_per_value(n: int) -> None:
    text = "SELECT 1 WHERE x IN (__[POSTCOMPILE_ids]) AND y = :y"
    spread, params = _expanded(text, {"ids": list(range(n)), "y": "v"})
    names = [f"ids__{i}" for i in range(n)]
    assert spread == f"SELECT 1 WHERE x IN ({', '.join(':' + m for m in names)}) AND y = :y"
    assert params == {"y": "v", **dict(zip(names, range(n), strict=True))}


def test_sqlite_reader_needs_no_sqlalchemy(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = sqlite_url(tmp_path / "m.db")
    open_store(url).close()
    code = (
        "import sys; from ketch.metadata import open_store\n"
        f"s = open_store({url!r}, read_only=True); s.list_run_summaries(tags=['x'], limit=2)\n"
        "s.snapshot_step([1, 2], 'start'); s.parameters_for_runs([1])\n"
        "assert 'sqlalchemy' not in sys.modules, 'SQLAlchemy imported'"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
