"""One contract suite for every Storage backend (the ``storage`` fixture, in conftest.py), plus
blobs, serialization and code packages."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from ketch.datastore import (
    BlobStore,
    LocalStorage,
    Storage,
    blob_hash,
    build_code_package,
    decode,
    encode,
    is_disk_full,
    package_files,
    read_package,
)
from ketch.exceptions import DataIntegrityError


@pytest.mark.parametrize("pack", [False, True])
def test_put_get_exists_list(storage: Storage, pack: bool) -> None:
    assert not storage.exists("a/b")
    storage.put("a/b", [b"hello ", memoryview(b"world")], pack=pack)
    storage.put("a/c", [b""], pack=pack)
    storage.put("z", [bytearray(b"x")], pack=pack)
    assert bytes(storage.get("a/b")) == b"hello world"
    assert bytes(storage.get("a/c")) == b""
    assert storage.exists("a/b") and storage.exists("z")
    assert sorted(storage.list("a/")) == ["a/b", "a/c"]
    assert sorted(storage.list()) == ["a/b", "a/c", "z"]
    with pytest.raises(KeyError):
        storage.get("missing")


@pytest.mark.parametrize("pack", [False, True])
def test_size(storage: Storage, pack: bool) -> None:
    assert storage.size("k") is None
    storage.put("k", [b"abc", b"de"], pack=pack)
    assert storage.size("k") == 5


@pytest.mark.parametrize("pack", [False, True])
def test_missing_looks_for_many_keys_at_once(storage: Storage, pack: bool) -> None:
    storage.put("a/b", [b"x"], pack=pack)
    storage.put("a/c", [b"y" * 70_000], pack=pack)  # too large for the pack: a file of its own
    assert storage.missing(["a/b", "a/c", "a/d", "e"]) == {"a/d", "e"}
    assert storage.missing([]) == set()
    blobs = BlobStore(storage)
    present = blobs.put_bytes(b"present")
    assert blobs.missing([present, "0" * 64]) == {"0" * 64}


def test_missing_counts_a_packed_object_cut_short_by_a_crash(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "store")
    storage.put("k", [b"0123456789"], pack=True)
    storage.put("j", [b"abc"], pack=True)
    data = tmp_path / "store" / "packs" / "data"
    data.write_bytes(data.read_bytes()[:-1])  # j's bytes no longer all there
    assert LocalStorage(tmp_path / "store").missing(["k", "j"]) == {"j"}


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


@pytest.mark.parametrize("pack", [False, True])
def test_a_truncated_blob_is_detected_and_repaired_by_the_next_put(
    tmp_path: Path, pack: bool
) -> None:
    storage = LocalStorage(tmp_path)
    blobs = BlobStore(storage)
    key = blobs.put_bytes(b"precious bytes", pack=pack)
    where = storage.locate(f"blobs/{key[:2]}/{key[2:]}")
    assert where is not None
    path, offset, _length = where
    assert (path.parent.name == "packs") is pack
    with path.open("r+b") as fh:  # what a crash of the machine can leave behind
        fh.truncate(offset + 3)
    with pytest.raises(DataIntegrityError, match="corrupt" if not pack else "missing"):
        blobs.get(key)
    assert blobs.put_bytes(b"precious bytes", pack=pack) == key
    assert bytes(blobs.get(key)) == b"precious bytes"


@pytest.mark.parametrize("pack", [False, True])
def test_read_buffers_are_writable(storage: Storage, pack: bool) -> None:
    storage.put("k", [b"abc"], pack=pack)
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
    key = blobs.put([b"some ", b"bytes"], pack=False)
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


def test_small_blobs_share_the_pack_and_make_no_file_each(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    blobs = BlobStore(storage)
    values = [f"value {i}".encode() * i for i in range(200)]
    keys = [blobs.put_bytes(v) for v in values]
    assert [blobs.put_bytes(v) for v in values] == keys  # each stored once
    large = os.urandom(LocalStorage.PACK_MAX_BYTES)
    large_key = blobs.put_bytes(large)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files[0] == f"blobs/{large_key[:2]}/{large_key[2:]}"  # a large blob: a file
    assert files[1] == "packs/data" and len(files) <= 2 + 16  # the rest: data + index files
    assert all(f.startswith("packs/index-") for f in files[2:])
    assert (tmp_path / "packs" / "data").stat().st_size == sum(len(v) for v in set(values))
    fresh = BlobStore(LocalStorage(tmp_path))  # another process's view
    assert [bytes(fresh.get(k)) for k in keys] == values
    assert not fresh.get(keys[5]).readonly
    assert fresh.storage.size(f"blobs/{keys[7][:2]}/{keys[7][2:]}") == len(values[7])
    assert sorted(storage.list("blobs/")) == sorted(
        {f"blobs/{k[:2]}/{k[2:]}" for k in [*keys, large_key]}
    )


def _writer(root: Path, worker: int, count: int) -> None:
    blobs = BlobStore(LocalStorage(root))
    for i in range(count):
        blobs.put_bytes(f"{worker}:{i}:".encode() * (1 + (i * 7919 + worker) % 300))


def test_processes_and_threads_append_to_the_pack_at_once(tmp_path: Path) -> None:
    import threading

    storage = LocalStorage(tmp_path)
    storage.put("blobs/warm", [b"the parent wrote first"], pack=True)  # children inherit fds
    pids = []
    for worker in range(6):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _writer(tmp_path, worker, 300)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    threads = [threading.Thread(target=_writer, args=(tmp_path, w, 300)) for w in (6, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 for pid in pids)
    blobs = BlobStore(LocalStorage(tmp_path))
    for worker in range(8):
        for i in range(300):
            value = f"{worker}:{i}:".encode() * (1 + (i * 7919 + worker) % 300)
            assert bytes(blobs.get(blob_hash([value]))) == value  # verified against its key
    assert bytes(storage.get("blobs/warm")) == b"the parent wrote first"


def test_storage_objects_do_not_leak_open_files(tmp_path: Path) -> None:
    BlobStore(LocalStorage(tmp_path)).put_bytes(b"packed")  # the pack's files exist
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(200):  # e.g. the UI polling a live card that is not there yet
        with pytest.raises(KeyError):
            LocalStorage(tmp_path).get("cards/live/1/2/0.html")
        assert LocalStorage(tmp_path).size(f"blobs/{'0' * 2}/{'0' * 62}") is None
    storage = LocalStorage(tmp_path)
    storage.put("k/x", [b"x"], pack=True)
    assert bytes(storage.get("k/x")) == b"x"
    storage.pack.close()
    assert bytes(storage.get("k/x")) == b"x"  # opened again when used
    del storage
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_torn_index_record_is_skipped(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.put("k/first", [b"one"], pack=True)
    for index in (tmp_path / "packs").glob("index-*"):
        with index.open("ab") as fh:  # half a record, as a crash mid-append leaves it
            fh.write(b"KP\x07\x00k/torn")
    storage.put("k/second", [b"two"], pack=True)
    storage.put("k/first", [b"ONE"], pack=True)  # a later record of a key wins
    reader = LocalStorage(tmp_path)
    assert bytes(reader.get("k/second")) == b"two"
    assert bytes(reader.get("k/first")) == b"ONE"
    assert list(reader.list()) == ["k/first", "k/second"]
    with pytest.raises(KeyError):
        reader.get("k/torn")


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
