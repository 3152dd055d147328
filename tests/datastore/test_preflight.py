"""The datastore's checks before a run: a place that cannot be written, a full disk (on real
mounts, see ``tests/_mounts.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _mounts import fill, full_disk, read_only_view

from ketch.datastore import check_writable
from ketch.exceptions import StoreAccessError, StoreFullError


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
