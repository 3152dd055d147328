"""A damaged run database (a page overwritten on disk) is found before a run starts, and
readers get `StoreDamagedError`, which names the file and how to recover it."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from flowrun import Project

from ketch.exceptions import DataIntegrityError, StoreDamagedError
from ketch.metadata import (
    ArtifactRecord,
    TaskRecord,
    check_health,
    open_store,
    preflight,
    sqlite_url,
    store_errors,
)
from ketch.metadata._health import CHECKED_SUFFIX, FULL_CHECK_EVERY_S


def _store(path: Path, tasks: int) -> str:
    """A closed SQLite store (no -wal left) holding one run of ``tasks`` tasks."""
    url = sqlite_url(path)
    with open_store(url) as store:
        run_id = store.create_run("F", user="ada", tags=[], system_tags=[]).run_id
        with store.batch():
            for task_id in range(1, tasks + 1):
                store.upsert_task(TaskRecord(run_id, "body", task_id, "completed", 1.0))
                rows = [
                    ArtifactRecord(f"a{i}", f"{task_id:032x}{i:032x}", "int", 1) for i in range(3)
                ]
                store.add_artifacts(run_id, task_id, 0, rows)
    assert not Path(f"{path}-wal").exists()
    return url


def _leaves(path: Path, tree: str) -> list[int]:
    """The leaf pages of table or index ``tree``, left to right."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY path",
            (tree,),
        ).fetchall()
    return [int(r[0]) for r in rows]


def _damage(path: Path, page: int) -> None:
    """Overwrite one page of the file with garbage, as a bad disk or a stray write would."""
    with closing(sqlite3.connect(path)) as conn:
        size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    with open(path, "r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(bytes(range(256)) * (size // 256))


def test_quick_check_finds_damage_anywhere_the_edges_check_where_runs_write(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ketch.db"
    _store(db, 3000)
    leaves = _leaves(db, "tasks")
    assert len(leaves) > 3
    check_health(str(db), full=True)  # a healthy store passes both
    check_health(str(db), full=False)

    _damage(db, leaves[len(leaves) // 2])  # the middle of the tasks table
    check_health(str(db), full=False)  # the cheap check does not read that page
    with pytest.raises(StoreDamagedError) as info:
        check_health(str(db), full=True)
    assert info.value.path == str(db)
    assert f"sqlite3 {db} .recover" in info.value.hint

    _damage(db, leaves[-1])  # where the next tasks would be appended
    with pytest.raises(StoreDamagedError):
        check_health(str(db), full=False)


def test_preflight_checks_every_page_once_a_day(tmp_path: Path) -> None:
    db = tmp_path / "ketch.db"
    url = _store(db, 3000)
    stamp = Path(f"{db}{CHECKED_SUFFIX}")
    preflight(url)  # no stamp yet: the full check, which passes and leaves one
    assert stamp.exists()
    _damage(db, _leaves(db, "tasks")[5])
    preflight(url)  # checked fully a moment ago: the edges only
    then = time.time() - FULL_CHECK_EVERY_S - 60
    os.utime(stamp, (then, then))
    with pytest.raises(StoreDamagedError, match="is not a readable SQLite database"):
        preflight(url)


def test_readers_raise_the_typed_error(tmp_path: Path) -> None:
    db = tmp_path / "ketch.db"
    url = _store(db, 10)
    (tasks_page,) = _leaves(db, "tasks")
    run_id = 0
    with open_store(url, read_only=True) as store:
        run_id = store.list_runs()[0].run_id
    _damage(db, tasks_page)
    for sqlalchemy in (False, True):
        with open_store(url, sqlalchemy=sqlalchemy, read_only=True) as store:
            assert store.get_run(run_id) is not None  # what lies elsewhere still reads
            with pytest.raises(StoreDamagedError) as info:
                store.list_tasks(run_id)
            assert isinstance(info.value, DataIntegrityError)
            assert info.value.path == str(db)
    with pytest.raises(StoreDamagedError), store_errors(url):  # for the UI's own queries
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("SELECT * FROM tasks").fetchall()


FLOW = """
from ketch import FlowSpec, step

class DamagedFlow(FlowSpec):
    @step
    def start(self):
        print("start ran")
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    DamagedFlow()
"""


@pytest.mark.slow
def test_a_run_on_a_damaged_store_stops_before_any_task(project: Project) -> None:
    project.write("flow.py", FLOW)
    assert project.run("flow.py", "run").returncode == 0
    db = project.root / ".ketch" / "ketch.db"
    again = project.run("flow.py", "run", "--run-id-file", "run-id")  # leaves no -wal behind
    assert again.returncode == 0
    (tasks_page,) = _leaves(db, "tasks")
    _damage(db, tasks_page)

    proc = project.run("flow.py", "run")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "The metadata store is damaged" in proc.stderr
    assert f"{db} is not a readable SQLite database" in proc.stderr
    assert f"sqlite3 {db} .recover" in proc.stderr
    assert "start ran" not in proc.stdout + proc.stderr  # no task ran
    assert "Workflow starting" not in proc.stdout + proc.stderr

    dump = project.run("flow.py", "dump", f"{project.run_id()}/start")
    assert dump.returncode == 1 and "Traceback" not in dump.stderr
    assert "The metadata store is damaged" in dump.stderr and str(db) in dump.stderr
    read = project.client("from ketch import Flow; Flow('DamagedFlow').latest_run['start'].task")
    last = read.stderr.strip().splitlines()[-1]
    assert last.startswith("ketch.exceptions.StoreDamagedError: ") and str(db) in last
