"""Metaflow's ``S3`` helper (``from ketch import S3``) against real S3 servers: each method's
answers and fields as Metaflow 2.19 gives them, its errors, its temporary files, and a flow
that writes with ``S3(run=self)`` in one step and reads in the next."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from _s3servers import ENV_TO_UNSET, S3Server
from flowrun import Project

from ketch import S3
from ketch.exceptions import UserError
from ketch.s3 import (
    MetaflowS3AccessDenied,
    MetaflowS3Exception,
    MetaflowS3InvalidObject,
    MetaflowS3InvalidRange,
    MetaflowS3NotFound,
    MetaflowS3URLException,
    RangeInfo,
    S3GetObject,
    S3PutObject,
)
from ketch.s3._root import datatools_root


@pytest.fixture
def root(s3_bucket: tuple[S3Server, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``s3://BUCKET/root`` on each server in turn, with the AWS variables pointing at it."""
    server, bucket = s3_bucket
    _point_at(server, monkeypatch)
    yield f"s3://{bucket}/root"


def _point_at(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_TO_UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def filled(root: str, tmp_path: Path) -> Iterator[S3]:
    """A helper rooted at ``root`` holding a/x.txt, a/b/y.bin, a/c/z and f/1."""
    with S3(s3root=root, tmproot=str(tmp_path)) as s3:
        s3.put("a/x.txt", "hello")
        s3.put("a/b/y.bin", b"\x00\x01data", content_type="application/x-test", metadata={"n": 1})
        s3.put("a/c/z", io.BytesIO(b"from a file"))
        s3.put("f/1", "one")
        yield s3


def test_put_returns_the_url_and_get_gives_metaflows_fields(filled: S3, root: str) -> None:
    obj = filled.get("a/b/y.bin")
    assert (obj.url, obj.key, obj.prefix) == (f"{root}/a/b/y.bin", "a/b/y.bin", root)
    assert (obj.exists, obj.downloaded, obj.has_info) == (True, True, True)
    assert (obj.size, obj.blob, obj.range_info) == (6, b"\x00\x01data", RangeInfo(6, 0, 6))
    assert (obj.content_type, obj.metadata, obj.encryption) == (
        "application/x-test",
        {"n": 1},
        None,
    )
    assert isinstance(obj.last_modified, float)
    assert str(obj) == f"<S3Object {root}/a/b/y.bin (6 bytes, local)>"
    assert filled.get("/a/x.txt").text == "hello"  # a leading slash is dropped
    bare = filled.get("a/b/y.bin", return_info=False)
    assert (bare.has_info, bare.content_type, bare.metadata, bare.last_modified) == (
        False,
        None,
        None,
        None,
    )
    assert filled.put("k", "v") == f"{root}/k"
    with S3() as full:  # no root: full URLs, and the key is the URL
        whole = full.get(f"{root}/a/x.txt")
        assert (whole.key, whole.prefix, whole.text) == (f"{root}/a/x.txt", None, "hello")


def test_info_reads_the_details_without_downloading(filled: S3, root: str) -> None:
    info = filled.info("a/b/y.bin")
    assert (info.size, info.downloaded, info.path, info.range_info) == (6, False, None, None)
    assert (info.content_type, info.metadata) == ("application/x-test", {"n": 1})
    many = filled.info_many(["a/x.txt", "a/b/y.bin"])
    assert [(o.key, o.size) for o in many] == [("a/x.txt", 5), ("a/b/y.bin", 6)]


def test_a_missing_key_raises_unless_return_missing(filled: S3, root: str) -> None:
    for call in (
        lambda: filled.get("nope"),
        lambda: filled.get_many(["a/x.txt", "nope"]),
        lambda: filled.info("nope"),
        lambda: filled.info_many(["nope"]),
    ):
        with pytest.raises(MetaflowS3NotFound, match=f"{root}/nope"):
            call()
    missing = filled.get("nope", return_missing=True)
    assert (missing.exists, missing.downloaded, missing.size, missing.key) == (
        False,
        False,
        None,
        "nope",
    )
    assert str(missing) == f"<S3Object {root}/nope (object does not exist)>"
    got = filled.get_many(["a/x.txt", "nope"], return_missing=True)
    assert [(o.key, o.exists) for o in got] == [("a/x.txt", True), ("nope", False)]
    assert not filled.info("nope", return_missing=True).exists
    assert [o.exists for o in filled.info_many(["nope"], return_missing=True)] == [False]


def test_ranges_as_metaflow_reads_them(filled: S3) -> None:
    cases = {
        S3GetObject("a/x.txt", 1, 3): (b"ell", RangeInfo(5, 1, 3)),
        S3GetObject("a/x.txt", 2, None): (b"llo", RangeInfo(5, 2, 3)),
        S3GetObject("a/x.txt", 0, -2): (b"lo", RangeInfo(5, 3, 2)),
    }
    for request, (blob, info) in cases.items():
        obj = filled.get(request)
        assert (obj.blob, obj.range_info, obj.size) == (blob, info, len(blob))
    assert [o.blob for o in filled.get_many([S3GetObject("a/x.txt", 0, 2)])] == [b"he"]
    with pytest.raises(MetaflowS3InvalidRange, match="bytes 100-102"):
        filled.get(S3GetObject("a/x.txt", 100, 3))


def test_listing_a_level_and_a_tree(filled: S3, root: str) -> None:
    top = filled.list_paths()
    assert [(o.url, o.key, o.prefix, o.exists) for o in top] == [
        (f"{root}/a/", "a", f"{root}/", False),
        (f"{root}/f/", "f", f"{root}/", False),
    ]
    level = [(o.key, o.exists, o.size) for o in filled.list_paths(["a"])]
    assert level == [("x.txt", True, 5), ("b", False, None), ("c", False, None)]
    assert [(o.key, o.exists) for o in filled.list_paths(["a/"])] == [(k, e) for k, e, _ in level]
    assert filled.list_paths(["a/x.txt"]) == [] and filled.list_paths(["zzz"]) == []
    assert [(o.key, o.prefix) for o in filled.list_recursive(["a"])] == [
        ("b/y.bin", f"{root}/a"),
        ("c/z", f"{root}/a"),
        ("x.txt", f"{root}/a"),
    ]
    assert [o.key for o in filled.list_recursive()] == ["a/b/y.bin", "a/c/z", "a/x.txt", "f/1"]
    assert filled.list_recursive(["a/x"]) == []  # a folder, not a string prefix
    filled.put("ab/sibling", "s")
    assert [o.key for o in filled.list_recursive(["a"])] == ["b/y.bin", "c/z", "x.txt"]
    bucket_root = root.rsplit("/", 1)[0]
    with S3(s3root=bucket_root) as at_bucket:  # the bucket itself as the root
        assert [(o.key, o.exists) for o in at_bucket.list_paths()] == [("root", False)]
    with S3(s3root=f"{root}/a/x.txt") as at_object:  # an object as the root: get() reads it
        assert (at_object.get().key, at_object.get().text) == (f"{root}/a/x.txt", "hello")


def test_get_recursive_and_get_all_download_every_object(filled: S3, root: str) -> None:
    plain = filled.get_recursive(["a/"])
    assert [(o.key, o.prefix, o.blob, o.has_info) for o in plain] == [
        ("b/y.bin", f"{root}/a/", b"\x00\x01data", False),
        ("c/z", f"{root}/a/", b"from a file", False),
        ("x.txt", f"{root}/a/", b"hello", False),
    ]
    # with return_info Metaflow gives keys relative to the root, not to the prefix asked
    detailed = filled.get_recursive(["a/b"], return_info=True)
    assert [(o.key, o.prefix, o.metadata) for o in detailed] == [("a/b/y.bin", root, {"n": 1})]
    assert filled.get_recursive(["zzz"]) == []
    assert [o.key for o in filled.get_all()] == ["a/b/y.bin", "a/c/z", "a/x.txt", "f/1"]


def test_overwrite_false_keeps_what_is_there(filled: S3, root: str, tmp_path: Path) -> None:
    assert filled.put("a/x.txt", "other", overwrite=False) == f"{root}/a/x.txt"
    assert filled.get("a/x.txt").text == "hello"
    done = filled.put_many(
        [("a/x.txt", "other"), S3PutObject(key="n/2", value=b"two", content_type="text/x")],
        overwrite=False,
    )
    assert done == [("n/2", f"{root}/n/2")]
    assert filled.info("n/2").content_type == "text/x"
    local = tmp_path / "local.txt"
    local.write_text("local file")
    files = filled.put_files(
        [("a/x.txt", str(local)), S3PutObject(key="g/m", path=str(local), metadata={"q": "r"})],
        overwrite=False,
    )
    assert files == [("g/m", f"{root}/g/m")]
    assert (filled.get("g/m").text, filled.get("g/m").metadata) == ("local file", {"q": "r"})
    assert filled.get("a/x.txt").text == "hello"
    with pytest.raises(MetaflowS3NotFound, match="Local file not found"):
        filled.put_files([("g/n", str(tmp_path / "nope"))])


def test_a_large_object_goes_up_in_parts_and_down_in_ranges(
    root: str, s3_bucket: tuple[S3Server, str], tmp_path: Path
) -> None:
    server, _ = s3_bucket
    data = os.urandom(20 << 20)  # above one part (16 MiB) and one first read (8 MiB)
    local = tmp_path / "big.bin"
    local.write_bytes(data)
    before = len(server.request_log())
    with S3(s3root=root, tmproot=str(tmp_path)) as s3:
        assert s3.put_files([("big", str(local))]) == [("big", f"{root}/big")]
        got = s3.get("big")
        assert got.size == len(data) and got.blob == data
    requests = server.request_log()[before:]
    assert sum(verb == "PUT" for verb, _ in requests) >= 2  # the parts
    assert sum(verb == "GET" for verb, _ in requests) >= 2  # the ranges


def test_the_address_rules_and_bad_values(root: str) -> None:
    with S3(s3root=root) as s3:
        with pytest.raises(MetaflowS3URLException, match="Don't use absolute S3 URLs"):
            s3.get(f"{root}/a")
        with pytest.raises(MetaflowS3URLException, match="empty path segment"):
            s3.put("a//b", "x")
        with pytest.raises(MetaflowS3InvalidObject, match="key 'bad' is not a string"):
            s3.put("bad", 5)  # type: ignore[arg-type]
        with pytest.raises(MetaflowS3InvalidObject, match="key 'text' is not a string"):
            s3.put("text", io.StringIO("a text file"))  # type: ignore[arg-type]
    with S3() as s3:
        with pytest.raises(MetaflowS3URLException, match="Initialize S3 with an 's3root'"):
            s3.get("relative/key")
        with pytest.raises(MetaflowS3URLException, match="without a prefix"):
            s3.get_all()
    with pytest.raises(MetaflowS3URLException, match="s3root needs to be an S3 URL"):
        S3(s3root="gs://bucket/x")
    with pytest.raises(UserError, match="role"):
        S3(role="arn:aws:iam::1:role/x")


def test_a_missing_bucket_is_not_found(moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    _point_at(moto_s3, monkeypatch)
    with S3() as s3:
        with pytest.raises(MetaflowS3NotFound, match="no-such-bucket") as caught:
            s3.get("s3://no-such-bucket/k")
        assert "aws s3 mb" in caught.value.hint
        with pytest.raises(MetaflowS3NotFound):
            s3.list_paths(["s3://no-such-bucket/k"])


def test_wrong_credentials_are_access_denied(
    seaweedfs_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(seaweedfs_s3, monkeypatch)
    bucket = seaweedfs_s3.make_bucket()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with S3(s3root=f"s3://{bucket}/r") as s3:
        for call in (lambda: s3.get("k"), lambda: s3.put("k", "v"), lambda: s3.list_paths()):
            with pytest.raises(MetaflowS3AccessDenied, match="refused access") as caught:
                call()
            assert "AWS_SECRET_ACCESS_KEY" in caught.value.hint
            assert not isinstance(caught.value, MetaflowS3Exception)  # siblings, as Metaflow's


def _helper_threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith(("ketch-s3", "ketch-store"))}


def test_downloads_live_until_close(filled: S3, tmp_path: Path) -> None:
    before = _helper_threads()
    assert len(filled.get_many(["a/x.txt", "f/1", "a/c/z"])) == 3
    assert _helper_threads() > before  # the downloads ran in parallel
    obj = filled.get("a/x.txt")
    assert obj.path is not None and Path(obj.path).parent.parent == tmp_path
    assert Path(obj.path).parent.name.startswith("ketch.s3.")
    filled.close()
    assert not Path(obj.path).exists() and list(tmp_path.iterdir()) == []
    assert _helper_threads() <= before  # and its threads stopped
    filled.close()  # twice is fine
    with pytest.raises(UserError, match="closed"):
        filled.get("a/x.txt")


def test_the_datatools_root(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KETCH_DATATOOLS_S3ROOT", "METAFLOW_DATATOOLS_S3ROOT"):
        monkeypatch.delenv(name, raising=False)
    assert datatools_root("s3://b/runs/") == "s3://b/runs/data"
    with pytest.raises(MetaflowS3URLException, match="/home/me/.ketch") as caught:
        datatools_root("/home/me/.ketch")
    assert "KETCH_DATATOOLS_S3ROOT=s3://" in caught.value.hint
    monkeypatch.setenv("METAFLOW_DATATOOLS_S3ROOT", "s3://mf/tools/")
    assert datatools_root("s3://b/runs") == "s3://mf/tools"
    monkeypatch.setenv("KETCH_DATATOOLS_S3ROOT", "s3://k/tools")
    assert datatools_root("") == "s3://k/tools"
    monkeypatch.setenv("KETCH_DATATOOLS_S3ROOT", "/not/s3")
    with pytest.raises(MetaflowS3URLException, match="not an s3://"):
        datatools_root("")


FLOW = """
from ketch import FlowSpec, S3, step

class S3HelperFlow(FlowSpec):
    @step
    def start(self):
        with S3(run=self) as s3:
            self.url = s3.put("greeting", "hello from start")
        self.next(self.end)

    @step
    def end(self):
        with S3(run=self) as s3:
            print("read:", s3.get("greeting").text)

if __name__ == "__main__":
    S3HelperFlow()
"""

READ = """
from ketch import Run, S3
with S3(run=Run("S3HelperFlow/{run_id}"), tmproot="..") as s3:
    print(s3.get("greeting").text)
"""


def test_a_flow_writes_and_reads_its_run_s_data(
    project: Project, moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_at(moto_s3, monkeypatch)
    bucket = moto_s3.make_bucket()
    project.write("flow.py", FLOW)
    env = moto_s3.env() | {"KETCH_DATASTORE_URL": f"s3://{bucket}/runs"}
    proc = project.run("flow.py", "run", "--run-id-file", "run-id", **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "read: hello from start" in proc.stdout + proc.stderr
    run_id = project.run_id()
    key = f"runs/data/S3HelperFlow/{run_id}/greeting"
    body = moto_s3.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == b"hello from start"
    assert list(project.root.glob("ketch.s3.*")) == []  # the steps' downloads are gone
    # a Client Run finds the same place from the datastore URL its run recorded
    read = project.run("-c", READ.format(run_id=run_id), **moto_s3.env())
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "hello from start"
