"""Opening a SQLite store for reading only (``open_store(url, read_only=True)``), on real
read-only mounts: what a reader sees, and what it refuses, with the WAL in each state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _mounts import read_only_view

from ketch.exceptions import StoreAccessError, StoreNotFoundError
from ketch.metadata import open_store, sqlite_url

# A writer killed after its commits, before any checkpoint: they are only in the -wal.
KILLED_WRITER = """
import os, sys
from ketch.metadata import open_store, sqlite_url
store = open_store(sqlite_url(sys.argv[1]))
store._conn().execute("PRAGMA wal_autocheckpoint = 0")
store.create_run("First", user="ada", tags=[], system_tags=[])
store.create_run("Second", user="ada", tags=[], system_tags=[])
os._exit(0)
"""


def _flows(url: str, *, sqlalchemy: bool = False) -> list[str]:
    with open_store(url, read_only=True, sqlalchemy=sqlalchemy) as store:
        return [f.flow_name for f in store.list_flows()]


@pytest.mark.parametrize("sqlalchemy", [False, True])
def test_a_closed_store_reads_on_a_read_only_mount(tmp_path: Path, sqlalchemy: bool) -> None:
    with open_store(sqlite_url(tmp_path / "src" / "ketch.db")) as store:
        run_id = store.create_run("F", user="ada", tags=[], system_tags=[]).run_id
    assert sorted(p.name for p in (tmp_path / "src").iterdir()) == ["ketch.db"]  # no -wal
    with read_only_view(tmp_path / "src", tmp_path / "ro") as view:
        url = sqlite_url(view / "ketch.db")
        assert _flows(url, sqlalchemy=sqlalchemy) == ["F"]
        with open_store(url, read_only=True, sqlalchemy=sqlalchemy) as store:
            with pytest.raises(StoreAccessError):
                store.add_tags(run_id, ["x"])


def test_commits_still_in_the_wal_are_read_or_refused_never_skipped(tmp_path: Path) -> None:
    db = tmp_path / "src" / "ketch.db"
    subprocess.run([sys.executable, "-c", KILLED_WRITER, str(db)], check=True)
    assert Path(f"{db}-wal").stat().st_size > 0
    with read_only_view(tmp_path / "src", tmp_path / "ro") as view:
        url = sqlite_url(view / "ketch.db")
        assert _flows(url) == ["First", "Second"]  # its -shm is there to read by
        Path(f"{db}-shm").unlink()  # without it, the WAL cannot be read here
        with pytest.raises(StoreAccessError) as info:
            _flows(url)
        assert f"{view / 'ketch.db'}-wal" in info.value.detail
    assert _flows(sqlite_url(db)) == ["First", "Second"]  # where it is writable


def test_a_reader_never_creates_a_database(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "none" / "ketch.db")
    with pytest.raises(StoreNotFoundError):
        open_store(url, read_only=True)
    assert not (tmp_path / "none").exists()


def test_a_database_without_tables_cannot_be_set_up_read_only(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ketch.db").write_bytes(b"")  # an empty SQLite database
    with read_only_view(tmp_path / "src", tmp_path / "ro") as view:
        with pytest.raises(StoreAccessError, match="holds no ketch tables yet"):
            open_store(sqlite_url(view / "ketch.db"), read_only=True)
    assert _flows(sqlite_url(tmp_path / "src" / "ketch.db")) == []  # writable: set up for it
