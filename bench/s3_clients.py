"""``python -m bench.s3_clients``: boto3 against obstore on the same S3 server, raw.

Before the S3 datastore picks a client, this measures the clients alone: a payload of 1 KiB and
256 MiB (and 1 GiB with ``--big``) uploaded and downloaded with boto3's transfer manager and with
obstore, and 100 small PUTs one after another (per-request latency). Each figure is the median
of 3 runs. It starts its own moto and SeaweedFS (tests/_s3servers.py), or uses ``--endpoint``.

Every measurement runs in a fresh subprocess, so its peak RSS (``ru_maxrss``) belongs to that one
client and operation; the downloads' peak is the figure to compare (a download holds no source
payload, only what the client allocates). Each download is checked against the uploaded bytes'
BLAKE3 digest, outside the timed part. Results: a table on stdout and
``bench/results/s3_clients.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

KIB, MIB = 1024, 1024 * 1024
CHUNK = 16 * MIB
RUNS = 3
SMALL_PUTS = 100
RESULTS = Path(__file__).parent / "results" / "s3_clients.json"
UPLOADS = ("boto3", "obstore")
DOWNLOADS = ("boto3", "obstore_get_ranges", "obstore_get_range_x8", "obstore_get_bytes")


def _boto3_client(server: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=server["endpoint"],
        aws_access_key_id=server["access_key"],
        aws_secret_access_key=server["secret_key"],
        region_name=server["region"],
        config=Config(max_pool_connections=16),
    )


def _obstore_store(server: dict[str, str]) -> Any:
    from obstore.store import S3Store

    config = {
        "endpoint": server["endpoint"],
        "region": server["region"],
        "access_key_id": server["access_key"],
        "secret_access_key": server["secret_key"],
    }
    return S3Store(server["bucket"], config=config, client_options={"allow_http": True})


def _transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=CHUNK, multipart_chunksize=CHUNK, max_concurrency=10)


def _connect(server: dict[str, str], client: str) -> Any:
    """A boto3 client or an obstore store; made once per worker, outside the timed part."""
    return _boto3_client(server) if client == "boto3" else _obstore_store(server)


def _upload(handle: Any, bucket: str, client: str, key: str, payload: bytes) -> None:
    if client == "boto3":
        handle.upload_fileobj(io.BytesIO(payload), bucket, key, Config=_transfer_config())
    else:
        import obstore

        obstore.put(handle, key, memoryview(payload), chunk_size=CHUNK, max_concurrency=12)


def _download(handle: Any, bucket: str, client: str, key: str, size: int) -> Any:
    """The object's bytes, fetched the way ``client`` names."""
    if client == "boto3":
        out = io.BytesIO()
        handle.download_fileobj(bucket, key, out, Config=_transfer_config())
        return out.getbuffer()  # a view, not a copy: BytesIO already holds every byte
    import obstore

    if client == "obstore_get_bytes":
        return obstore.get(handle, key).bytes()  # obstore's Bytes: a buffer, not copied
    starts = list(range(0, size, CHUNK))
    lengths = [min(CHUNK, size - s) for s in starts]
    target = bytearray(size)
    view = memoryview(target)
    if client == "obstore_get_ranges":
        # One call. obstore merges ranges closer than ``coalesce`` bytes (adjacent ones always),
        # so contiguous chunks become ONE GET of the whole object, then split: not parallel, and
        # the parts and the target are both held at once.
        parts = obstore.get_ranges(handle, key, starts=starts, lengths=lengths)
        for start, part in zip(starts, parts, strict=True):
            view[start : start + len(part)] = memoryview(part)
        return target

    def fetch(start: int, length: int) -> None:  # obstore_get_range_x8: 8 threads, copy each
        part = obstore.get_range(handle, key, start=start, length=length)
        view[start : start + length] = memoryview(part)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(fetch, starts, lengths))
    return target


def _small_puts(handle: Any, bucket: str, client: str) -> list[float]:
    """Seconds per PUT of 1 KiB, one after another on one client."""
    import obstore

    body = os.urandom(KIB)

    def put(key: str) -> None:
        if client == "boto3":
            handle.put_object(Bucket=bucket, Key=key, Body=body)
        else:
            obstore.put(handle, key, body)

    put("small/warm-up")  # the first request opens the connection
    latencies = []
    for i in range(SMALL_PUTS):
        started = time.perf_counter()
        put(f"small/{client}/{i}")
        latencies.append(time.perf_counter() - started)
    return latencies


def _worker(job: dict[str, Any]) -> dict[str, Any]:
    """One measurement (``RUNS`` runs) in this process; returns the times and peak RSS."""
    from blake3 import blake3

    server, client, op, key = job["server"], job["client"], job["op"], job.get("key", "")
    bucket = server["bucket"]
    started = time.perf_counter()
    handle = _connect(server, client)
    result: dict[str, Any] = {"setup_s": time.perf_counter() - started}
    result["rss_before_mib"] = _maxrss_mib()
    if op == "small_puts":
        result["latencies"] = _small_puts(handle, bucket, client)
    elif op == "upload":
        payload = os.urandom(job["size"])
        result["rss_before_mib"] = _maxrss_mib()
        result["times"] = [
            _timed(lambda: _upload(handle, bucket, client, key, payload)) for _ in range(RUNS)
        ]
        result["blake3"] = blake3(payload).hexdigest()
    else:
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            data = _download(handle, bucket, client, key, job["size"])
            times.append(time.perf_counter() - started)
            if blake3(data).hexdigest() != job["blake3"]:
                raise SystemExit(f"{client} downloaded wrong bytes for {key}")
            del data
        result["times"] = times
    result["peak_rss_mib"] = _maxrss_mib()
    return result


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _run_worker(job: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.s3_clients", "--worker", json.dumps(job)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if proc.returncode != 0:
        raise SystemExit(f"worker {job['client']} {job['op']} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _row(
    server_name: str, client: str, op: str, size: int, result: dict[str, Any]
) -> dict[str, Any]:
    row: dict[str, Any] = {"server": server_name, "client": client, "op": op, "size": size}
    if op == "small_puts":
        lat = sorted(result["latencies"])
        row |= {
            "median_ms": 1000 * statistics.median(lat),
            "p95_ms": 1000 * lat[int(0.95 * len(lat)) - 1],
        }
        row["total_s"] = sum(lat)
    else:
        median = statistics.median(result["times"])
        row |= {"median_s": median, "runs_s": result["times"], "mib_per_s": size / MIB / median}
    row["setup_s"] = result["setup_s"]
    row["peak_rss_mib"] = result["peak_rss_mib"]
    row["rss_before_mib"] = result["rss_before_mib"]
    return row


def measure_server(
    server_name: str, server: dict[str, str], sizes: list[int]
) -> list[dict[str, Any]]:
    """Every client and operation on one server; the rows, printed as they come."""
    rows = []
    for size in sizes:
        digest = ""
        for client in UPLOADS:
            job = {
                "server": server,
                "client": client,
                "op": "upload",
                "size": size,
                "key": f"bench/{size}/{client}",
            }
            result = _run_worker(job)
            digest = result["blake3"] if client == "boto3" else digest
            rows.append(_print(_row(server_name, client, "upload", size, result)))
        for client in DOWNLOADS:  # all read the object boto3 wrote
            job = {
                "server": server,
                "client": client,
                "op": "download",
                "size": size,
                "key": f"bench/{size}/boto3",
                "blake3": digest,
            }
            rows.append(_print(_row(server_name, client, "download", size, _run_worker(job))))
    for client in UPLOADS:
        job = {"server": server, "client": client, "op": "small_puts"}
        rows.append(_print(_row(server_name, client, "small_puts", KIB, _run_worker(job))))
    return rows


def _size(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB else f"{n // KIB} KiB"


def _print(row: dict[str, Any]) -> dict[str, Any]:
    head = f"{row['server']:<10} {row['op']:<10} {_size(row['size']):>8} {row['client']:<22}"
    if row["op"] == "small_puts":
        figures = f"{row['median_ms']:8.2f} ms/PUT median  {row['p95_ms']:7.2f} ms p95"
    else:
        figures = f"{row['median_s']:8.3f} s  {row['mib_per_s']:8.1f} MiB/s"
    print(f"{head} {figures}  peak RSS {row['peak_rss_mib']:7.0f} MiB", flush=True)
    return row


def _servers(args: argparse.Namespace, workdir: Path) -> list[tuple[str, dict[str, str], Any]]:
    """(name, connection, handle to stop) for each server to measure."""
    if args.endpoint:
        conn = {
            "endpoint": args.endpoint,
            "access_key": args.access_key,
            "secret_key": args.secret_key,
            "region": args.region,
        }
        return [("external", conn, None)]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from _s3servers import start_moto, start_seaweedfs

    found = []
    for start in (start_moto, start_seaweedfs):
        server = start(workdir / start.__name__)
        conn = {
            "endpoint": server.endpoint,
            "access_key": server.access_key,
            "secret_key": server.secret_key,
            "region": server.region,
        }
        found.append((server.name, conn, server))
    return found


def _make_bucket(conn: dict[str, str]) -> str:
    bucket = f"ketch-bench-{os.getpid()}-{int(time.time())}"
    _boto3_client(conn).create_bucket(Bucket=bucket)
    return bucket


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.s3_clients", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--endpoint", help="an S3 server to use instead of starting moto and SeaweedFS"
    )
    parser.add_argument("--access-key", default=os.environ.get("AWS_ACCESS_KEY_ID", ""))
    parser.add_argument("--secret-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY", ""))
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    parser.add_argument("--big", action="store_true", help="also measure a 1 GiB payload")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(json.loads(args.worker))))
        return
    sizes = [KIB, 256 * MIB] + ([1024 * MIB] if args.big else [])
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ketch-s3-bench-") as tmp:
        servers = _servers(args, Path(tmp))
        try:
            for name, conn, _ in servers:
                conn["bucket"] = _make_bucket(conn)
                rows += measure_server(name, conn, sizes)
        finally:
            for _, _, handle in servers:
                if handle is not None:
                    handle.stop()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "runs": RUNS,
        "chunk_mib": CHUNK // MIB,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    RESULTS.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
