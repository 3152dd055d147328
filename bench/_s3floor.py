"""The S3 floor, run as a script: one put and one get of the 1 GiB array's bytes, nothing else.

``python bench/_s3floor.py obstore|boto3 MIB BUCKET KEY`` makes the same array as
``flows/bigarray.py`` (seeded random float64), PUTs its bytes to ``s3://BUCKET/KEY`` with one
client, GETs them back into memory, checks the sum and deletes the object. The server and the
credentials come from the environment (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``). Prints the phase times (seconds) as JSON.

- ``obstore``: ``obstore.put`` of a memoryview (16 MiB parts, 12 at a time), then
  one ``obstore.get`` read whole (``.bytes()``; on SeaweedFS here 1.3 s against 4-8 s for
  parallel ``get_ranges`` of 16 or 64 MiB ranges).
- ``boto3``: the transfer manager (``upload_fileobj``/``download_fileobj``, 16 MiB parts,
  12 threads).
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from typing import Any

CHUNK = 16 << 20
CONCURRENCY = 12


def _obstore(bucket: str, key: str, buf: memoryview) -> tuple[float, Any]:
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        bucket,
        config={
            "endpoint": os.environ["AWS_ENDPOINT_URL"],
            "region": os.environ.get("AWS_REGION", "us-east-1"),
            "access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
            "secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"],
        },
        client_options={"allow_http": True},
    )
    t0 = time.perf_counter()
    obstore.put(store, key, buf, chunk_size=CHUNK, max_concurrency=CONCURRENCY)
    t1 = time.perf_counter()
    out = obstore.get(store, key).bytes()
    obstore.delete(store, key)
    return t1 - t0, out


def _boto3(bucket: str, key: str, buf: memoryview) -> tuple[float, Any]:
    import boto3
    from boto3.s3.transfer import TransferConfig

    s3 = boto3.client("s3")
    config = TransferConfig(
        multipart_threshold=CHUNK, multipart_chunksize=CHUNK, max_concurrency=CONCURRENCY
    )
    t0 = time.perf_counter()
    s3.upload_fileobj(io.BytesIO(buf), bucket, key, Config=config)
    t1 = time.perf_counter()
    sink = io.BytesIO()
    s3.download_fileobj(bucket, key, sink, Config=config)
    s3.delete_object(Bucket=bucket, Key=key)
    return t1 - t0, sink.getbuffer()


def main(client: str, mib: int, bucket: str, key: str) -> dict[str, Any]:
    import numpy as np

    t0 = time.perf_counter()
    arr = np.random.default_rng(0).random(mib * 2**20 // 8)
    make_s = time.perf_counter() - t0
    expected = float(arr.sum())
    transfer = _obstore if client == "obstore" else _boto3
    t1 = time.perf_counter()
    put_s, body = transfer(bucket, key, memoryview(arr).cast("B"))
    t2 = time.perf_counter()
    total = float(np.frombuffer(body, dtype=np.float64).sum())
    t3 = time.perf_counter()
    if total != expected:
        raise SystemExit(f"read back a different array: sum {total} != {expected}")
    return {"make": make_s, "put": put_s, "get": t2 - t1 - put_s, "sum": t3 - t2}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])))
