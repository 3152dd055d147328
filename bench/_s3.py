"""The S3 workloads: ketch and Metaflow storing their runs on the same local S3 server.

The server (SeaweedFS or moto, from ``tests/_s3servers.py``) is started once per session on a
free localhost port, with one bucket; every run writes under a prefix of its own. ketch gets
``KETCH_DATASTORE_URL=s3://BUCKET/PREFIX``; Metaflow gets its S3 datastore
(``METAFLOW_DEFAULT_DATASTORE=s3``, ``METAFLOW_DATASTORE_SYSROOT_S3``,
``METAFLOW_S3_ENDPOINT_URL``) with local metadata. Both get the server's ``AWS_*`` variables.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from ._bigdata import MIB, prefault
from ._context import Bench
from ._data import client_listing
from ._env import Framework
from ._floors import flow_floor
from ._machine import REPO
from ._proc import Completed
from ._results import Row
from ._timing import critical_path

SERVERS = ("seaweedfs", "moto")
FOREACH_TASKS = 103  # start + 100 + join + end


def _servers_module() -> ModuleType:
    """``tests/_s3servers.py``, the test suite's server launcher (one copy for both)."""
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import _s3servers

    return _s3servers


# 1 GiB volumes (weed mini's size on a large disk): the test suite's 64 MiB volumes, which
# leave room for hundreds of buckets, make a 512 MiB PUT 40% slower.
SEAWEEDFS_FLAGS = ("-master.volumeSizeLimitMB=1024",)


class S3Session:
    """The session's S3 server: started on first use, stopped (by its pid) at :meth:`close`."""

    def __init__(self, bench: Bench, kind: str) -> None:
        self.bench = bench
        self.kind = kind
        self.server: Any = None
        self.bucket = ""
        self._prefixes = 0

    def start(self) -> Any:
        if self.server is None:
            servers = _servers_module()
            workdir = self.bench.scratch.fresh(f"s3-{self.kind}")
            if self.kind == "moto":
                self.server = servers.start_moto(workdir)
            else:  # one bucket: SeaweedFS's own volume size, not the test suite's small one
                self.server = servers.start_seaweedfs(workdir, extra_flags=SEAWEEDFS_FLAGS)
            self.bucket = self.server.make_bucket("ketch-bench")
            self.bench.log(
                f"  {self.kind} S3 server at {self.server.endpoint} (pid {self.server.pid}), "
                f"started in {self.server.seconds_to_start:.1f} s"
            )
        return self.server

    def describe(self) -> str | None:
        """The server and its version, or None when no workload started it."""
        if self.server is None:
            return None
        if self.kind == "moto":
            from importlib.metadata import version

            return f"moto {version('moto')} (moto_server, objects in memory) on 127.0.0.1"
        weed = Path(sys.executable).parent / "weed"
        out = subprocess.run([weed, "version"], capture_output=True, text=True).stdout.split()
        found = out[out.index("version") + 2] if "version" in out[:-2] else "?"
        return (
            f"SeaweedFS {found} (weed mini, 1 GiB volumes, data on the scratch disk) on 127.0.0.1"
        )

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def env(self, fw: Framework, label: str) -> tuple[dict[str, str], str]:
        """``fw``'s environment for a run whose datastore is a fresh prefix; (env, prefix)."""
        server = self.start()
        self._prefixes += 1
        prefix = f"{fw.name}-{label}-{self._prefixes:03d}"
        env = server.subprocess_env(self.bench.env)
        url = f"s3://{self.bucket}/{prefix}"
        if fw.name == "ketch":
            env["KETCH_DATASTORE_URL"] = url
        else:
            env |= {
                "METAFLOW_DEFAULT_DATASTORE": "s3",
                "METAFLOW_DATASTORE_SYSROOT_S3": url,
                "METAFLOW_S3_ENDPOINT_URL": server.endpoint,
                "METAFLOW_DEFAULT_METADATA": "local",
            }
        return env, prefix

    def objects(self, prefix: str) -> tuple[int, int]:
        """(objects, bytes) under ``prefix``."""
        pages = self.start().client().get_paginator("list_objects_v2")
        count = size = 0
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix + "/"):
            for obj in page.get("Contents", []):
                count += 1
                size += obj["Size"]
        return count, size

    def delete(self, prefix: str) -> None:
        """Delete what a run wrote (moto keeps it in memory, SeaweedFS on the scratch disk)."""
        client = self.start().client()
        pages = client.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix + "/"):
            keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})

    def requests(self, prefix: str) -> list[str]:
        """The methods of the requests the server logged for keys under ``prefix``."""
        path = f"/{self.bucket}/{prefix}/"
        return [method for method, p in self.start().request_log() if p.startswith(path)]

    def check_written(self, fw: Framework, prefix: str) -> tuple[int, int]:
        found = self.objects(prefix)
        if found[0] == 0:
            raise RuntimeError(
                f"{fw.name} wrote no object under s3://{self.bucket}/{prefix}: "
                "its datastore is not on the S3 server"
            )
        return found


def foreach100(bench: Bench, s3: S3Session, nproc: int) -> None:
    """Foreach 100 (max-workers 2) on S3 (timed), and from each framework's first run the
    requests the server logged and the objects left, next to a foreach 1 run (not timed)."""
    row = bench.results.add(
        Row(
            "s3.foreach100",
            f"S3 ({s3.kind}): foreach 100 (max-workers 2)",
            "s",
            floor=flow_floor(bench, critical_path([1, 100, 1, 1], 2, nproc)),
            floor_label="py start + critical-path forks",
        )
    )
    puts = Row(
        "s3.puts",
        f"S3 ({s3.kind}): PUT requests per added task, (foreach 100 - foreach 1) / 99",
        "PUTs/task",
    )
    objects = Row("s3.objects", f"S3 ({s3.kind}): objects per task (foreach 100)", "objects/task")
    notes: dict[str, str] = {}
    for i, fw in bench.alternate("s3foreach100"):
        done, cwd, prefix = _foreach(bench, s3, fw, 100)
        getattr(row, fw.name).values.append(done.wall_s)
        if i == 0:
            full = _traffic(s3, fw, prefix)
            one = _traffic(s3, fw, _foreach(bench, s3, fw, 1)[2])
            getattr(puts, fw.name).values.append((full["PUT"] - one["PUT"]) / 99)
            getattr(objects, fw.name).values.append(full["objects"] / FOREACH_TASKS)
            puts.extra[fw.name] = {"foreach100": full, "foreach1": one}
            notes[fw.name] = (
                f"{fw.name}: foreach 100 {full['PUT']} PUTs, {full['objects']} objects, "
                f"{full['bytes']:,} bytes (foreach 1: {one['PUT']} PUTs)"
            )
        bench.scratch.discard(cwd)
    puts.note = "; ".join(notes.values()) + "; requests by method in the JSON"
    bench.results.add(puts)
    bench.results.add(objects)


def _foreach(bench: Bench, s3: S3Session, fw: Framework, n: int) -> tuple[Completed, Path, str]:
    env, prefix = s3.env(fw, f"foreach{n}")
    done, cwd = bench.flow_run(fw, "foreach.py", ["--n", str(n), "--max-workers", "2"], env=env)
    return done, cwd, prefix


def _traffic(s3: S3Session, fw: Framework, prefix: str) -> dict[str, int]:
    """Requests by method the server logged under ``prefix``, and the objects left there."""
    count, size = s3.check_written(fw, prefix)
    methods = s3.requests(prefix)
    return {
        **{m: methods.count(m) for m in sorted({"PUT", *methods})},
        "objects": count,
        "bytes": size,
    }


def _floor(bench: Bench, s3: S3Session, client: str) -> dict[str, Any]:
    """One run of the raw put + get script (`_s3floor.py`) with ``client``."""
    s3.start()
    env = s3.server.subprocess_env(bench.env)
    cwd = bench.scratch.fresh(f"floor-s3-{client}")
    script = str(Path(__file__).resolve().parent / "_s3floor.py")
    cmd = [sys.executable, script, client, str(MIB), s3.bucket, f"floor-{client}/array"]
    prefault(bench)
    done = bench.command(bench.ketch, cmd, cwd, env=env, sample="tree")
    peak = max(done.tree_peak_kib or 0, done.max_rss_kib) / 1024
    return {**json.loads(done.stdout), "wall": done.wall_s, "peak_mib": peak}


def big_array(bench: Bench, s3: S3Session) -> None:
    """The 1 GiB array written and read back on S3, next to the raw client floors."""
    wall = bench.results.add(
        Row(
            "s3.bigarray.time",
            f"S3 ({s3.kind}): 1 GiB float64 array: make, store, load, sum",
            "s",
            floor_label="plain script, obstore put + get",
        )
    )
    memory = bench.results.add(
        Row(
            "s3.bigarray.memory",
            f"S3 ({s3.kind}): 1 GiB float64 array: peak memory",
            "MiB",
            floor=float(MIB),
            floor_label="the array itself",
        )
    )
    floors: dict[str, list[dict[str, Any]]] = {"obstore": [], "boto3": []}
    for _, fw in bench.alternate("s3bigarray"):
        if fw.name == "ketch":  # the floors run next to each ketch run: the machine drifts
            for client, runs in floors.items():
                runs.append(_floor(bench, s3, client))
        env, prefix = s3.env(fw, "bigarray")
        prefault(bench)
        done, cwd = bench.flow_run(fw, "bigarray.py", ["--mib", str(MIB)], env=env, sample="tree")
        getattr(wall, fw.name).values.append(done.wall_s)
        peak = max(done.tree_peak_kib or 0, done.max_rss_kib) / 1024
        getattr(memory, fw.name).values.append(peak)
        count, size = s3.check_written(fw, prefix)
        wall.extra.setdefault(f"{fw.name}_objects", []).append({"objects": count, "bytes": size})
        s3.delete(prefix)
        bench.scratch.discard(cwd, now=True)
    _floor_rows(bench, s3, wall, memory, floors)


def _floor_rows(
    bench: Bench, s3: S3Session, wall: Row, memory: Row, floors: dict[str, list[dict[str, Any]]]
) -> None:
    if not floors["obstore"]:
        return
    wall.floor = statistics.median(f["wall"] for f in floors["obstore"])
    wall.extra["floors"] = floors
    peaks = {c: statistics.median(f["peak_mib"] for f in runs) for c, runs in floors.items()}
    memory.note = "floor script peak: " + ", ".join(f"{c} {p:,.0f} MiB" for c, p in peaks.items())
    for client, runs in floors.items():
        med = {k: statistics.median(f[k] for f in runs) for k in ("make", "put", "get", "sum")}
        whole = statistics.median(f["wall"] for f in runs)
        bench.results.add(
            Row(
                f"s3.floor.{client}",
                f"S3 ({s3.kind}): raw put + get of the 1 GiB array's bytes, {client}",
                "s",
                floor=med["put"] + med["get"],
                floor_label="put + get",
                note=f"put {med['put']:.2f} s, get {med['get']:.2f} s; the whole script "
                f"(make {med['make']:.2f} s, sum {med['sum']:.2f} s, interpreter): {whole:.2f} s",
            )
        )


def client(bench: Bench, s3: S3Session) -> None:
    """The Client listing runs whose datastore is on S3 (metadata local for both)."""
    n = bench.options.client_runs
    row = Row("s3.client", f"S3 ({s3.kind}): Client: list {n} runs, load 1 artifact from each", "s")
    made = {fw.name: s3.env(fw, "client") for fw in bench.frameworks}
    client_listing(bench, row, "s3client", n, {name: env for name, (env, _) in made.items()})
    for fw in bench.frameworks:
        count, _ = s3.check_written(fw, made[fw.name][1])
        row.extra[f"{fw.name}_objects"] = count
