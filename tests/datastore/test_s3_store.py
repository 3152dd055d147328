"""The object-store datastore against real S3 servers (moto and SeaweedFS on 127.0.0.1):
one request for a batch of small blobs, the read-through cache, large blobs in bounded
memory, and the errors for missing, damaged and unreachable objects."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _s3servers import ENV_TO_UNSET, S3Server, start_moto

from ketch.datastore import content_hash, open_blobs, preflight_url
from ketch.datastore._open import check_reachable
from ketch.exceptions import DataIntegrityError, StoreAccessError, StoreUnreachableError


def _point_at(server: S3Server, monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    for name in ENV_TO_UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KETCH_CACHE_DIR", str(cache))


@pytest.fixture
def moto_url(moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    _point_at(moto_s3, monkeypatch, tmp_path / "cache")
    return f"s3://{moto_s3.make_bucket()}/team"


def _requests(server: S3Server, since: int, method: str) -> list[str]:
    return [path for verb, path in server.request_log()[since:] if verb == method]


def test_a_batch_of_small_blobs_is_one_put(moto_s3: S3Server, moto_url: str) -> None:
    blobs = open_blobs(moto_url)
    before = len(moto_s3.request_log())
    with blobs.batch():
        keys = [blobs.put_bytes(f"value {i}".encode()) for i in range(50)]
        again = blobs.put_bytes(b"value 7")  # the same bytes: the same place
        assert bytes(blobs.get(keys[3])) == b"value 3"  # readable before it is written
    puts = _requests(moto_s3, before, "PUT")
    assert len(puts) == 1 and "/team/packs/" in puts[0]
    assert again == keys[7] and len(set(keys)) == 50
    assert all("@" in key and len(content_hash(key)) == 64 for key in keys)
    reader = open_blobs(moto_url, read_only=True)
    assert [bytes(reader.get(k)) for k in keys] == [f"value {i}".encode() for i in range(50)]
    assert reader.missing(keys) == set()


def test_outside_a_batch_a_small_blob_is_one_put_and_no_head(
    moto_s3: S3Server, moto_url: str
) -> None:
    blobs = open_blobs(moto_url)
    before = len(moto_s3.request_log())
    key = blobs.put_bytes(b"alone")
    log = moto_s3.request_log()[before:]
    assert [verb for verb, _ in log] == ["PUT"] and key == content_hash(key)
    assert bytes(blobs.get(key)) == b"alone"


def test_reads_and_writes_go_through_a_shared_cache(
    moto_s3: S3Server, moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = open_blobs(moto_url)
    with writer.batch():
        small = writer.put_bytes(b"small" * 10)
    large = writer.put_bytes(os.urandom(3 << 20))
    before = len(moto_s3.request_log())
    here = open_blobs(moto_url, read_only=True)  # this machine wrote them: from the disk
    assert bytes(here.get(small)) == b"small" * 10 and here.get(large).nbytes == 3 << 20
    assert moto_s3.request_log()[before:] == []
    huge = writer.put_bytes(os.urandom(17 << 20))  # over WRITE_THROUGH_MAX: read through only
    before = len(moto_s3.request_log())
    assert here.get(huge).nbytes == 17 << 20 and _requests(moto_s3, before, "GET")
    cached = {p.relative_to(tmp_path / "cache" / "objects").parts[0] for p in _files(tmp_path)}
    assert cached == {"blobs", "packs"}

    monkeypatch.setenv("KETCH_CACHE_DIR", str(tmp_path / "elsewhere"))  # another machine
    first, second = open_blobs(moto_url, read_only=True), open_blobs(moto_url, read_only=True)
    before = len(moto_s3.request_log())
    first.get(small), first.get(large)
    assert len(_requests(moto_s3, before, "GET")) >= 2
    before = len(moto_s3.request_log())
    assert bytes(second.get(small)) == b"small" * 10 and second.get(large).nbytes == 3 << 20
    assert moto_s3.request_log()[before:] == []  # another handle: served by the cache


def test_the_cache_stays_near_its_limit(
    moto_s3: S3Server, moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KETCH_CACHE_MAX_BYTES", str(8 << 20))
    writer = open_blobs(moto_url)
    keys = [writer.put_bytes(os.urandom(2 << 20)) for _ in range(12)]
    reader = open_blobs(moto_url, read_only=True)
    for key in keys:
        reader.get(key)
    total = sum(p.stat().st_size for p in _files(tmp_path))
    assert total <= (8 << 20) + (2 << 20)  # the limit, and what one process added since a trim
    assert bytes(reader.get(keys[0])) == bytes(writer.get(keys[0]))  # trimmed: read again


def test_a_missing_or_damaged_pack_is_reported(
    moto_s3: S3Server, moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blobs = open_blobs(moto_url)
    with blobs.batch():
        kept, lost = blobs.put_bytes(b"kept"), blobs.put_bytes(b"lost" * 100)
    bucket, _, prefix = moto_url.removeprefix("s3://").partition("/")
    client = moto_s3.client()
    pack = next(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    client.put_object(Bucket=bucket, Key=pack, Body=b"kept")  # truncated
    monkeypatch.setenv("KETCH_CACHE_DIR", str(tmp_path / "reader-cache"))  # not the writer's
    reader = open_blobs(moto_url, read_only=True)
    assert bytes(reader.get(kept)) == b"kept"
    with pytest.raises(DataIntegrityError, match="corrupt"):
        reader.get(lost)
    client.put_object(Bucket=bucket, Key=pack, Body=bytes(blobs.get(kept)) + b"lost" * 100)
    assert bytes(reader.get(lost)) == b"lost" * 100  # repaired: the damaged copy is not kept
    client.delete_object(Bucket=bucket, Key=pack)
    monkeypatch.setenv("KETCH_CACHE_DIR", str(tmp_path / "another-cache"))
    with pytest.raises(DataIntegrityError, match=f"missing from {moto_url}") as caught:
        open_blobs(moto_url, read_only=True).get(kept)
    assert kept in caught.value.detail
    assert open_blobs(moto_url, read_only=True).missing([kept, lost]) == {kept, lost}


def test_a_missing_bucket_and_refused_credentials_are_clear(
    seaweedfs_s3: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _point_at(seaweedfs_s3, monkeypatch, tmp_path / "cache")
    with pytest.raises(StoreAccessError, match="bucket 'no-such-bucket'") as missing:
        check_reachable("s3://no-such-bucket/runs")
    assert seaweedfs_s3.endpoint in missing.value.detail
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(StoreAccessError, match="refused the credentials") as refused:
        check_reachable(f"s3://{seaweedfs_s3.make_bucket()}/runs")
    assert "AWS_SECRET_ACCESS_KEY" in refused.value.hint
    preflight_url("s3://any-bucket/runs")  # the URL alone: no request before helpers fork


@pytest.fixture
def own_moto(tmp_path: Path) -> Iterator[S3Server]:
    server = start_moto(tmp_path / "moto")
    try:
        yield server
    finally:
        server.stop()


def test_an_unreachable_store_is_retried_visibly_then_named(
    own_moto: S3Server,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    _point_at(own_moto, monkeypatch, tmp_path / "cache")
    url = f"s3://{own_moto.make_bucket()}/runs"
    blobs = open_blobs(url)
    blobs.put_bytes(b"before")
    own_moto.stop()
    with pytest.raises(StoreUnreachableError) as caught, blobs.batch():
        blobs.put_bytes(b"model", label="artifact 'model'")
    text = caught.value.format()
    assert own_moto.endpoint in text and "artifact 'model'" in text and "resume" in text
    retries = [line for line in capfd.readouterr().err.splitlines() if "retrying in" in line]
    assert len(retries) == 4 and "attempt 2 of 5" in retries[0]


_PEAK = """
import os, resource, sys
import numpy as np
from ketch.datastore import decode, encode, open_blobs

url, mib, reader_cache = sys.argv[1], int(sys.argv[2]), sys.argv[3]
array = np.arange(mib << 17, dtype=np.float64)  # mib MiB
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
key = open_blobs(url).put(encode(array).parts)
wrote = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
del array
os.environ["KETCH_CACHE_DIR"] = reader_cache  # another machine's: the read downloads
back = decode(open_blobs(url, read_only=True).get(key))
n = mib << 17
assert back[-1] == n - 1 and int(back[:: 1 << 12].sum()) == sum(range(0, n, 1 << 12))
read = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((wrote - base) / 1024, (read - base) / 1024)
"""


@pytest.mark.slow
def test_a_large_array_moves_without_a_second_copy(seaweedfs_s3: S3Server, tmp_path: Path) -> None:
    size = 384  # MiB
    env: dict[str, Any] = seaweedfs_s3.subprocess_env()
    env["KETCH_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    url = f"s3://{seaweedfs_s3.make_bucket()}/big"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_PEAK), url, str(size), str(tmp_path / "r")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    wrote, read = (float(x) for x in proc.stdout.split())
    # Beyond the array itself (held before `base`), writing holds the parts in flight: at most
    # half the array more. Reading (the array freed first) maps the cache file the download
    # went into, hashes it and unpickles the array over it: at most 1.5x the array in all.
    assert wrote <= 0.5 * size, (wrote, read)
    assert read <= 0.5 * size, (wrote, read)


def _files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "cache" / "objects").rglob("*") if p.is_file()]


def test_live_cards_are_listed_from_an_object_store(moto_url: str) -> None:
    pytest.importorskip("starlette")
    from ketch.cards._records import live_key
    from ketch.datastore import open_storage
    from ketch.ui._cards import _live_files

    storage = open_storage(moto_url, flush=False)
    storage.put(live_key(7, 3, 0), [b"<html>first</html>"])
    storage.put(live_key(7, 3, 2), [b"<html>third</html>"])
    storage.put(live_key(7, 4, 0), [b"<html>another task</html>"])
    found = _live_files(moto_url, 7, 3, since=0)
    assert sorted(found) == [0, 2] and found[2].size == len(b"<html>third</html>")
    assert _live_files(moto_url, 7, 3, since=found[0].mtime_ns / 1e9 + 60) == {}
