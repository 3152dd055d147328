"""One contract suite for every Storage backend, plus blobs, serialization and code packages."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ketch.datastore import (
    BlobStore,
    LocalStorage,
    MemoryStorage,
    Storage,
    build_code_package,
    decode,
    encode,
    is_disk_full,
    package_files,
    read_package,
)
from ketch.exceptions import DataIntegrityError


@pytest.fixture(params=["local", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    yield LocalStorage(tmp_path / "store") if request.param == "local" else MemoryStorage()


def test_put_get_exists_list(storage: Storage) -> None:
    assert not storage.exists("a/b")
    storage.put("a/b", [b"hello ", memoryview(b"world")])
    storage.put("a/c", [b""])
    storage.put("z", [bytearray(b"x")])
    assert bytes(storage.get("a/b")) == b"hello world"
    assert bytes(storage.get("a/c")) == b""
    assert storage.exists("a/b") and storage.exists("z")
    assert sorted(storage.list("a/")) == ["a/b", "a/c"]
    assert sorted(storage.list()) == ["a/b", "a/c", "z"]
    with pytest.raises(KeyError):
        storage.get("missing")


def test_size(storage: Storage) -> None:
    assert storage.size("k") is None
    storage.put("k", [b"abc", b"de"])
    assert storage.size("k") == 5


def test_only_large_objects_are_flushed_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        flushed.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    storage = LocalStorage(tmp_path, fsync_min_bytes=100)
    storage.put("small", [b"x" * 99])
    storage.put("large", [b"x" * 60, b"y" * 40])
    assert flushed == [100]
    LocalStorage(tmp_path, fsync_min_bytes=None).put("never", [b"x" * 1000])
    assert flushed == [100]


def test_blobs_are_keyed_by_blake3_and_older_sha256_keys_still_read(tmp_path: Path) -> None:
    import hashlib

    import blake3

    storage = LocalStorage(tmp_path)
    blobs = BlobStore(storage)
    assert blobs.put_bytes(b"new") == blake3.blake3(b"new").hexdigest()
    old = hashlib.sha256(b"written by an older ketch").hexdigest()
    storage.put(f"blobs/{old[:2]}/{old[2:]}", [b"written by an older ketch"])
    assert bytes(blobs.get(old)) == b"written by an older ketch"
    storage.put(f"blobs/{old[:2]}/{old[2:]}", [b"damaged"])
    with pytest.raises(DataIntegrityError, match="corrupt"):
        blobs.get(old)


def test_a_truncated_blob_is_detected_and_repaired_by_the_next_put(tmp_path: Path) -> None:
    blobs = BlobStore(LocalStorage(tmp_path))
    key = blobs.put_bytes(b"precious bytes")
    path = next(p for p in tmp_path.rglob("*") if p.is_file())
    path.write_bytes(b"")  # what a crash of the machine can leave behind
    with pytest.raises(DataIntegrityError, match="corrupt"):
        blobs.get(key)
    assert blobs.put_bytes(b"precious bytes") == key
    assert bytes(blobs.get(key)) == b"precious bytes"


def test_read_buffers_are_writable(storage: Storage) -> None:
    storage.put("k", [b"abc"])
    view = storage.get("k")
    assert not view.readonly


def test_large_objects_are_memory_mapped_copy_on_write(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    data = os.urandom(LocalStorage.MMAP_THRESHOLD + 10)
    storage.put("big", [data])
    view = storage.get("big")
    view[0] = (view[0] + 1) % 256  # writable, but the file never changes
    assert (tmp_path / "big").read_bytes() == data


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    class NotABuffer:
        pass

    storage = LocalStorage(tmp_path)
    with pytest.raises(TypeError):  # fails after the first part was written
        storage.put("k", [b"ok", NotABuffer()])  # type: ignore[list-item]
    assert list(tmp_path.rglob("*")) == []  # the temporary file is gone, no "k"


def test_disk_full_detection() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "full"))
    assert not is_disk_full(OSError(errno.EACCES, "denied"))


def test_blobs_are_content_addressed_and_verified(tmp_path: Path) -> None:
    blobs = BlobStore(LocalStorage(tmp_path))
    key = blobs.put([b"some ", b"bytes"])
    assert key == blobs.put_bytes(b"some bytes")  # stored once
    assert len(list(tmp_path.rglob("*"))) == 3  # blobs/, blobs/xx/, the file
    assert bytes(blobs.get(key)) == b"some bytes"
    path = tmp_path / "blobs" / key[:2] / key[2:]
    path.write_bytes(b"some bytez")
    with pytest.raises(DataIntegrityError, match="is corrupt"):
        blobs.get(key)
    path.unlink()
    with pytest.raises(DataIntegrityError, match="is missing"):
        blobs.get(key)
    with pytest.raises(DataIntegrityError, match="not a valid blob key"):
        blobs.get("../../etc/passwd")


VALUES = [
    0,
    -1.5,
    "text",
    b"\x00\xff",
    None,
    [1, [2, (3, {4})]],
    {"a": {"b": [1.0, None]}},
    frozenset({"x"}),
    np.arange(12, dtype=np.int16).reshape(3, 4),
    np.zeros(0),
    {"nested": np.ones(5), "other": np.array(["a", "b"])},
]


@pytest.mark.parametrize("value", VALUES, ids=[type(v).__name__ for v in VALUES])
def test_encode_decode_round_trip(value: object) -> None:
    encoded = encode(value)
    data = bytearray(b"".join(bytes(p) for p in encoded.parts))
    assert len(data) == encoded.size
    out = decode(memoryview(data))
    if isinstance(value, np.ndarray):
        np.testing.assert_array_equal(out, value)
        assert out.dtype == value.dtype
    elif isinstance(value, dict) and "nested" in value:
        np.testing.assert_array_equal(out["nested"], value["nested"])
    else:
        assert out == value


def test_large_arrays_go_out_of_band_aligned_and_zero_copy() -> None:
    array = np.random.default_rng(0).random(100_000)
    encoded = encode(array)
    assert any(memoryview(p).nbytes == array.nbytes for p in encoded.parts)  # not copied
    data = bytearray(b"".join(bytes(p) for p in encoded.parts))
    out = decode(memoryview(data))
    offset = out.ctypes.data - np.frombuffer(data, dtype=np.uint8).ctypes.data
    assert offset % 64 == 0  # aligned inside the blob
    out[0] = 42.0  # writable, aliasing the blob buffer
    assert data[offset : offset + 8] == np.float64(42.0).tobytes()


def test_compression_only_where_it_pays() -> None:
    zeros = encode(np.zeros(1_000_000))
    noise = encode(np.random.default_rng(1).random(1_000_000))
    assert zeros.size < 100_000  # 8 MB of zeros shrink
    assert noise.size > 8_000_000  # random floats are stored as they are
    assert decode(memoryview(bytearray(b"".join(bytes(p) for p in zeros.parts)))).sum() == 0


def test_code_package_is_deterministic(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text("print('flow')\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "util.py").write_text("X = 1\n")
    (tmp_path / "notes.txt").write_text("not code")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.py").write_text("")
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "pyvenv.cfg").write_text("")
    (tmp_path / "venv" / "site.py").write_text("")
    names = [p.relative_to(tmp_path).as_posix() for p in package_files(tmp_path / "flow.py")]
    assert names == ["flow.py", "lib/util.py"]
    first = build_code_package(tmp_path / "flow.py")
    os.utime(tmp_path / "flow.py", (1, 1))
    assert build_code_package(tmp_path / "flow.py") == first
    assert read_package(first) == {"flow.py": b"print('flow')\n", "lib/util.py": b"X = 1\n"}
