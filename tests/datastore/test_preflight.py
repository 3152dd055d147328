"""The datastore's checks before a run: a place that cannot be written, a full disk, and the
temporary files of writers killed mid-write (on real mounts, with real killed processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _mounts import fill, full_disk, read_only_view
from flowrun import Project, linear_flow

from ketch.datastore import check_writable, preflight, sweep_temporaries
from ketch.datastore._preflight import ABANDONED_AFTER_S, STALE_AFTER_S, SWEEP_STAMP
from ketch.exceptions import StoreAccessError, StoreFullError

# A writer that dies mid-write, as a task killed while it stores a large artifact: its second
# part kills the process after the first was written to the temporary file.
KILLED_WRITER = """
import os, signal, sys
from ketch.datastore import LocalStorage

class Parts(list):
    def __iter__(self):
        yield b"x" * 100_000
        os.kill(os.getpid(), signal.SIGKILL)

LocalStorage(sys.argv[1]).put(sys.argv[2], Parts())
"""
# A writer still writing: it holds its temporary file open and waits.
LIVE_WRITER = """
import os, sys
from ketch.datastore._storage import create_temporary
fd, path = create_temporary(sys.argv[1])
os.write(fd, b"partial")
print(path, flush=True)
sys.stdin.read()  # until the test closes its end
"""


def _leftover(root: Path, key: str = "blobs/ab/cdef") -> Path:
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(root), key])
    assert proc.returncode == -signal.SIGKILL
    (left,) = (root / key).parent.glob(".tmp-*")
    return left


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.parametrize("key", ["blobs/ab/cdef", "cards/live/17/3/0.html"])
def test_a_killed_writers_temporary_file_is_removed_once_stale(tmp_path: Path, key: str) -> None:
    root = tmp_path / "store"
    left = _leftover(root, key)
    assert left.stat().st_size == 100_000
    assert sweep_temporaries(root) == []  # its writer is dead, but it was written just now
    _age(left, STALE_AFTER_S + 60)
    assert sweep_temporaries(root) == [left]
    assert not left.exists()


def test_a_live_writers_temporary_file_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / "blobs").mkdir(parents=True)
    with subprocess.Popen(
        [sys.executable, "-c", LIVE_WRITER, str(root / "blobs")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        assert writer.stdout is not None
        path = Path(writer.stdout.readline().strip())
        _age(path, STALE_AFTER_S + 60)  # not written for a while, but its writer lives
        assert sweep_temporaries(root) == [] and path.exists()
        _age(path, ABANDONED_AFTER_S + 60)  # a day: no writer takes that long between writes
        assert sweep_temporaries(root) == [path]


def test_a_run_sweeps_leftovers_at_most_every_few_minutes(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.write("flow.py", FLOW)
    store = tmp_path / ".ketch"
    left = _leftover(store)
    _age(left, STALE_AFTER_S + 60)
    assert project.run("flow.py", "run").returncode == 0
    assert not left.exists()
    assert (store / SWEEP_STAMP).exists()

    again = _leftover(store)
    _age(again, STALE_AFTER_S + 60)
    preflight(store)  # swept a moment ago: not again yet
    assert again.exists()
    _age(store / SWEEP_STAMP, STALE_AFTER_S + 1)
    preflight(store)
    assert not again.exists()


def test_a_read_only_place_is_refused(tmp_path: Path) -> None:
    (tmp_path / "src" / "store").mkdir(parents=True)
    with read_only_view(tmp_path / "src", tmp_path / "ro") as view:
        with pytest.raises(StoreAccessError) as info:
            check_writable(view / "store")
        assert "Read-only file system" in info.value.detail
        assert str(view / "store") in info.value.detail
        with pytest.raises(StoreAccessError):
            check_writable(view / "new")  # cannot be made either


def test_a_full_disk_is_refused(tmp_path: Path) -> None:
    with full_disk(tmp_path / "disk") as disk:
        check_writable(disk)
        fill(disk)
        with pytest.raises(StoreFullError) as info:
            check_writable(disk)
        assert f"No space left on device for the ketch store at {disk}" in info.value.detail
        assert "KETCH_HOME" in info.value.hint


def test_a_disk_with_too_little_space_is_refused(tmp_path: Path) -> None:
    with full_disk(tmp_path / "disk") as disk:
        (disk / "big").write_bytes(b"\0" * (1536 << 10))  # 0.5 MiB of 2 MiB left
        with pytest.raises(StoreFullError, match="at least 1 MiB free"):
            check_writable(disk)


FLOW = linear_flow("SweepFlow")
