"""Streaming reads and writes (part of the storage contract), and opening backends by URL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_urls import SCHEMES, storage_url

from ketch.datastore import (
    BlobStore,
    LocalStorage,
    MemoryStorage,
    Storage,
    local_path,
    open_blobs,
    open_storage,
    preflight_url,
    read_tail,
    scheme_of,
)
from ketch.exceptions import DataIntegrityError, InternalError, UserError


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("pack", [False, True])
def test_open_reads_an_object_in_pieces(storage: Storage, pack: bool) -> None:
    small, large = b"small object", bytes(range(256)) * 400  # large: over the pack's limit
    storage.put("a/small", [small], pack=pack)
    storage.put("a/large", [large[:1000], large[1000:]], pack=pack)
    storage.put("a/empty", [b""], pack=pack)
    with storage.open("a/small") as reader:
        assert reader.read(5) == b"small" and reader.read() == b" object"
        assert reader.read(1) == b""
    with storage.open("a/large") as reader:
        assert b"".join(iter(lambda: reader.read(4096), b"")) == large
    with storage.open("a/empty") as reader:
        assert reader.read() == b""
    with pytest.raises(KeyError):
        storage.open("a/missing")


def test_put_stores_a_stream_of_chunks(storage: Storage) -> None:
    data = bytes(range(256)) * 1000
    storage.put("stream", _chunks(data, 7000))
    assert bytes(storage.get("stream")) == data
    assert storage.size("stream") == len(data)
    storage.put("packed stream", _chunks(b"abc", 1), pack=True)  # an iterator is read once
    assert bytes(storage.get("packed stream")) == b"abc"
    storage.put("empty stream", iter([]))
    assert bytes(storage.get("empty stream")) == b""


def test_a_stream_that_fails_stores_nothing(storage: Storage) -> None:
    def failing() -> Iterator[bytes]:
        yield b"the first chunk"
        raise ConnectionError("the source went away")

    with pytest.raises(ConnectionError):
        storage.put("k", failing())
    assert not storage.exists("k")
    assert list(storage.list()) == []


@pytest.mark.parametrize("kind", SCHEMES)
def test_a_read_only_handle_reads_and_refuses_to_write(tmp_path: Path, kind: str) -> None:
    url = storage_url(kind, tmp_path)
    open_storage(url).put("k", [b"stored"])
    reader = open_storage(url, read_only=True)
    assert bytes(reader.get("k")) == b"stored"
    with pytest.raises(InternalError, match="opened read-only"):
        reader.put("j", [b"x"])
    assert not reader.exists("j")


def test_every_url_of_a_local_directory_opens_the_same_store(tmp_path: Path) -> None:
    root = tmp_path / "a dir%"
    open_storage(str(root)).put("k", [b"v"])
    for url in (root.as_uri(), f"FILE://{root.as_uri()[7:]}", f"file://localhost{root}"):
        storage = open_storage(url)
        assert isinstance(storage, LocalStorage) and storage.root == root
        assert bytes(storage.get("k")) == b"v"
    assert local_path(root.as_uri()) == str(root)


def test_memory_urls_name_stores_shared_within_the_process(tmp_path: Path) -> None:
    first, again = (
        open_storage(f"memory://{tmp_path.name}-a"),
        open_storage(f"memory://{tmp_path.name}-a"),
    )
    other = open_storage(f"memory://{tmp_path.name}-b")
    first.put("k", [b"v"])
    assert isinstance(again, MemoryStorage) and bytes(again.get("k")) == b"v"
    assert not other.exists("k")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://", "names no bucket"),
        ("ftp://host/store", "has a scheme ketch cannot open"),
        ("file://otherhost/store", "does not name a local directory"),
        ("file://", "does not name a local directory"),
        ("memory://", "names no store"),
    ],
)
def test_a_url_that_cannot_be_opened_is_a_user_error(url: str, message: str) -> None:
    with pytest.raises(UserError, match=message) as caught:
        open_storage(url)
    assert url in caught.value.detail  # the thing at fault
    assert caught.value.hint
    if "scheme" in message:
        assert "file://, memory://" in caught.value.hint  # what is supported
    with pytest.raises(UserError):
        preflight_url(url)  # a run is refused before anything starts


def test_scheme_of() -> None:
    assert [scheme_of(u) for u in ("/a/b", "rel/dir", "file:///a", "Memory://x", "s3://b")] == [
        "file",
        "file",
        "file",
        "memory",
        "s3",
    ]


def test_preflight_url_checks_a_local_directory_and_refuses_memory(tmp_path: Path) -> None:
    preflight_url((tmp_path / "new store").as_uri())
    assert (tmp_path / "new store").is_dir()  # made, and written to
    with pytest.raises(UserError, match="in-memory store, which lives in one process"):
        preflight_url(f"memory://{tmp_path.name}")


def test_blob_streams_are_checked_against_their_key(storage: Storage) -> None:
    blobs = BlobStore(storage)
    data = bytes(range(256)) * 300
    key = blobs.put_bytes(data)
    with blobs.open(key) as reader:
        assert reader.read(10) == data[:10]
        assert reader.read() == data[10:]
    old = hashlib.sha256(b"written by an older ketch").hexdigest()  # a SHA-256 key
    storage.put(f"blobs/{old[:2]}/{old[2:]}", [b"written by an older ketch"])
    with blobs.open(old) as reader:
        assert reader.read() == b"written by an older ketch"
    storage.put(f"blobs/{key[:2]}/{key[2:]}", [data[:-1], b"?"])  # damaged, same length
    with blobs.open(key) as reader, pytest.raises(DataIntegrityError, match="corrupt"):
        reader.read()
    with pytest.raises(DataIntegrityError, match="missing"):
        blobs.open("0" * 64)
    with pytest.raises(DataIntegrityError, match="not a valid blob key"):
        blobs.open("../etc/passwd")


def test_open_blobs_reads_what_a_run_stored(tmp_path: Path) -> None:
    url = (tmp_path / "store").as_uri()
    key = open_blobs(url).put_bytes(b"artifact")
    assert bytes(open_blobs(url, read_only=True).get(key)) == b"artifact"


@pytest.mark.parametrize("size", [0, 10, 999, 1000, 1001, 5000])
def test_read_tail_keeps_only_the_end_of_a_blob(storage: Storage, size: int) -> None:
    blobs = BlobStore(storage)
    data = bytes(i % 251 for i in range(size))
    key = blobs.put_bytes(data)
    assert read_tail(blobs, key, 1000) == (data[-1000:] if size else b"", size)


def test_read_tail_reads_a_large_blob_in_pieces_and_checks_it(tmp_path: Path) -> None:
    blobs = open_blobs(str(tmp_path))
    data = bytes(range(256)) * (3 << 12)  # 3 MiB: several pieces
    key = blobs.put_bytes(data)
    assert read_tail(blobs, key, 100) == (data[-100:], len(data))
    (tmp_path / "blobs" / key[:2] / key[2:]).write_bytes(data[:-1] + b"?")
    with pytest.raises(DataIntegrityError, match="corrupt"):
        read_tail(blobs, key, 100)
