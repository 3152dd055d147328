"""The S3 servers the suite starts (tests/_s3servers.py) really serve S3, and their faults work."""

from __future__ import annotations

import os
import time
from pathlib import Path

import boto3
import pytest
from _s3servers import ENV_TO_UNSET, S3Server, start_moto
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)


def test_put_get_list(s3_bucket: tuple[S3Server, str]) -> None:
    server, bucket = s3_bucket
    client = server.client()
    for key in ("runs/1/a", "runs/1/b", "runs/2/a"):
        client.put_object(Bucket=bucket, Key=key, Body=key.encode())

    assert client.get_object(Bucket=bucket, Key="runs/1/b")["Body"].read() == b"runs/1/b"
    listed = client.list_objects_v2(Bucket=bucket, Prefix="runs/1/")
    assert [o["Key"] for o in listed["Contents"]] == ["runs/1/a", "runs/1/b"]


def test_env_points_a_default_boto3_client_at_the_server(
    s3_bucket: tuple[S3Server, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, bucket = s3_bucket
    for name in ENV_TO_UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)

    # A new session: boto3's default one keeps the credentials it read first, in this process.
    client = boto3.session.Session().client("s3")  # endpoint, keys, region: all from the env
    client.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


@pytest.mark.parametrize(
    ("access_key", "secret_key", "code"),
    [("nobody", None, "InvalidAccessKeyId"), (None, "wrong", "SignatureDoesNotMatch")],
)
def test_seaweedfs_refuses_wrong_credentials(
    seaweedfs_s3: S3Server, access_key: str | None, secret_key: str | None, code: str
) -> None:
    bucket = seaweedfs_s3.make_bucket()
    client = boto3.client(
        "s3",
        endpoint_url=seaweedfs_s3.endpoint,
        aws_access_key_id=access_key or seaweedfs_s3.access_key,
        aws_secret_access_key=secret_key or seaweedfs_s3.secret_key,
        region_name=seaweedfs_s3.region,
    )
    with pytest.raises(ClientError) as caught:
        client.list_objects_v2(Bucket=bucket)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_restart_keeps_the_endpoint(s3_bucket: tuple[S3Server, str]) -> None:
    server, bucket = s3_bucket
    server.client().put_object(Bucket=bucket, Key="before", Body=b"kept?")
    endpoint = server.endpoint

    server.restart()

    assert server.endpoint == endpoint and server.pid is not None
    client = server.client()
    if server.name == "seaweedfs":  # on disk: the object survives
        assert client.get_object(Bucket=bucket, Key="before")["Body"].read() == b"kept?"
    else:  # moto keeps objects in memory: the bucket is gone, the server works
        with pytest.raises(ClientError, match="NoSuchBucket"):
            client.get_object(Bucket=bucket, Key="before")
        assert server.make_bucket()


def test_freeze_makes_requests_time_out_until_thawed(s3_bucket: tuple[S3Server, str]) -> None:
    server, bucket = s3_bucket
    impatient = server.client(connect_timeout=0.5, read_timeout=0.5, retries={"max_attempts": 1})

    server.freeze()
    try:
        started = time.monotonic()
        with pytest.raises((ReadTimeoutError, ConnectTimeoutError)):
            impatient.list_objects_v2(Bucket=bucket)
        assert time.monotonic() - started < 5
    finally:
        server.thaw()

    assert impatient.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_request_log_counts_a_put(s3_bucket: tuple[S3Server, str]) -> None:
    server, bucket = s3_bucket
    server.client().put_object(Bucket=bucket, Key="counted/one", Body=b"1")

    wanted = ("PUT", f"/{bucket}/counted/one")
    deadline = time.monotonic() + 5  # a line is written when its response is done
    while server.request_log().count(wanted) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.request_log().count(wanted) == 1
    assert ("PUT", f"/{bucket}") in server.request_log()  # the CreateBucket


def test_stop_is_idempotent_and_frees_the_port(tmp_path: Path) -> None:
    server = start_moto(tmp_path)
    pid = server.pid
    assert pid is not None

    server.stop()
    server.stop()

    assert server.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(EndpointConnectionError):  # refused: nothing listens any more
        server.client(connect_timeout=0.5, retries={"max_attempts": 1}).list_buckets()
