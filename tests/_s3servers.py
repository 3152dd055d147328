"""Real S3 servers for the test suite: moto and SeaweedFS, each started on 127.0.0.1.

``start_moto(workdir)`` runs ``moto_server``: it starts in about 2 s, keeps every object in memory
(a restart loses them) and accepts any credentials. ``start_seaweedfs(workdir)`` runs ``weed mini``:
a real server that stores to disk under ``workdir`` (a restart keeps the objects) and checks
credentials, so it catches signing mistakes that moto lets through.

Each server runs in its own session (process group) and is stopped by signalling exactly that
group, never by name, so two test sessions can each run their own servers at once. Every port a
server listens on is a free port picked here. On Linux the server also gets ``PR_SET_PDEATHSIG``:
if the test process is killed before its teardown, the kernel stops the server too.

Fault injection: ``freeze()``/``thaw()`` stop and continue the server with SIGSTOP/SIGCONT (the
kernel still accepts connections into the listen backlog, so a client connects and then times
out reading); ``restart()`` stops it and starts it again on the same endpoint and data directory.

Both servers use path-style addressing (``http://127.0.0.1:PORT/bucket/key``): boto3 and obstore
pick it on their own for an IP-address endpoint.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_READY_TIMEOUT_S = 30.0
_STOP_GRACE_S = 5.0
# Variables that would override or spoil what `S3Server.env()` sets: a named profile makes boto3
# skip the key variables, a session token breaks SigV4 against SeaweedFS, and the per-service
# endpoint wins over AWS_ENDPOINT_URL.
ENV_TO_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3")

# moto (werkzeug): 127.0.0.1 - - [04/Dec/2026 23:20:19] "PUT /abc/k/1 HTTP/1.1" 200 -
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_MOTO_REQUEST = re.compile(r'"([A-Z]+) (\S+) HTTP/[\d.]+" \d{3}')
# weed at -v=2: I1204 23:20:12.529296 stats.go:42 "admin-key" PUT "/abc-test/k" 200 6.1ms
_WEED_REQUEST = re.compile(r'stats\.go:\d+\]? "[^"]*" ([A-Z]+) "([^"]+)" \d{3}')


class S3Unavailable(RuntimeError):
    """The server's program (``moto_server`` or ``weed``) is not installed here."""


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free localhost ports (held open together, so no duplicates)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _find_program(name: str) -> str:
    """The program next to this interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise S3Unavailable(f"'{name}' not found; install the test extra: pip install -e '.[test]'")
    return found


def _die_with_parent() -> None:
    """Run in the child before exec: the kernel sends SIGTERM when the test process dies."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class S3Server:
    """A running S3 server; ``endpoint`` is ``http://127.0.0.1:PORT``.

    Example::

        server = start_moto(tmp_path)
        bucket = server.make_bucket()
        server.client().put_object(Bucket=bucket, Key="k", Body=b"v")
        server.stop()
    """

    name: str
    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    workdir: Path = field(default_factory=Path)
    seconds_to_start: float = 0.0
    _argv: list[str] = field(default_factory=list, repr=False)
    _proc_env: dict[str, str] = field(default_factory=dict, repr=False)
    _request_pattern: re.Pattern[str] | None = field(default=None, repr=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _frozen: bool = field(default=False, repr=False)

    @property
    def log_path(self) -> Path:
        """The server's stdout and stderr, appended to across restarts."""
        return self.workdir / f"{self.name}.log"

    @property
    def pid(self) -> int | None:
        """The server's pid (also its process group id), or None when it is not running."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3, obstore and the AWS CLI at this server.

        Merging these into an environment is not enough when it sets any of `ENV_TO_UNSET`
        (``AWS_PROFILE`` above all: with a named profile boto3 ignores the key variables);
        remove those too, or use `subprocess_env`. ``AWS_ALLOW_HTTP`` lets obstore's
        ``S3Store.from_env`` talk plain HTTP; boto3 ignores it.
        """
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ALLOW_HTTP": "true",
        }

    def subprocess_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """A whole environment for a child process: ``base`` (default os.environ) + `env`."""
        merged = {k: v for k, v in (os.environ if base is None else base).items()}
        for name in ENV_TO_UNSET:
            merged.pop(name, None)
        return merged | self.env()

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this server; ``config`` goes to ``botocore.config.Config``."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(**config),
        )

    def make_bucket(self, name: str | None = None) -> str:
        """Create a new bucket (by default uniquely named ``ketch-<hex>``); returns its name."""
        bucket = name or f"ketch-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def request_log(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request the server has logged, oldest first.

        ``path`` is ``/bucket/key`` without the query string, so the parts of a multipart upload
        show as several PUTs of one path. SeaweedFS logs requests only because it is started with
        ``-v=2``, and it writes each line when the response is done.
        """
        if self._request_pattern is None:
            raise RuntimeError(f"{self.name} does not log its requests")
        if not self.log_path.exists():
            return []
        requests = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            match = self._request_pattern.search(_ANSI.sub("", line))  # moto colours some
            if match:
                requests.append((match.group(1), match.group(2).split("?", 1)[0]))
        return requests

    def freeze(self) -> None:
        """Make the server unresponsive (SIGSTOP): clients connect, then time out reading."""
        if self.pid is not None:
            os.killpg(self.pid, signal.SIGSTOP)
            self._frozen = True

    def thaw(self) -> None:
        """Let a frozen server run again (SIGCONT)."""
        if self.pid is not None:
            os.killpg(self.pid, signal.SIGCONT)
        self._frozen = False

    def stop(self) -> None:
        """Stop the server: SIGTERM its process group, SIGKILL after a few seconds (idempotent).

        The data directory stays, so `restart` can bring the same data back (SeaweedFS only).
        """
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
            if self._frozen:  # a stopped process only acts on SIGTERM once continued
                os.killpg(proc.pid, signal.SIGCONT)
        self._frozen = False
        try:
            proc.wait(timeout=_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=_STOP_GRACE_S)

    def restart(self) -> None:
        """Stop the server if it runs and start it again on the same endpoint and data directory.

        moto keeps its objects in memory, so after a restart its buckets are gone; SeaweedFS keeps
        them on disk.
        """
        self.stop()
        self.start()

    def start(self) -> None:
        """Start the server process and wait until its S3 API answers."""
        if self.pid is not None:
            return
        started = time.perf_counter()
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self._argv,
                cwd=self.workdir,
                env=self._proc_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, which stop() signals
                preexec_fn=_die_with_parent,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.seconds_to_start = time.perf_counter() - started

    def _wait_ready(self) -> None:
        """Poll until the server stores and reads back an object (SeaweedFS answers ListBuckets
        before its volume server has registered: reads of stored data would fail); fail with
        the log's tail on exit or timeout."""
        client = self.client(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
        deadline = time.monotonic() + _READY_TIMEOUT_S
        probe = "ketch-ready-probe"
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(self._failure(f"exited with status {self._proc.returncode}"))
            try:
                if probe not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
                    client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"ready")
                client.get_object(Bucket=probe, Key="probe")["Body"].read()
                return
            except Exception as exc:  # not listening yet, or not yet serving S3
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        self._failure(f"did not answer in {_READY_TIMEOUT_S:.0f} s ({exc!r})")
                    ) from exc
            time.sleep(0.1)

    def _failure(self, what: str) -> str:
        tail = self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
        return f"{self.name} S3 server at {self.endpoint} {what}; its log ends:\n{tail}"


def _launch(server: S3Server, attempts: int, rebuild: Callable[[], S3Server]) -> S3Server:
    """Start ``server``; on failure (most likely a port taken meanwhile) retry with new ports."""
    for attempt in range(attempts):
        try:
            server.start()
        except RuntimeError:
            if attempt == attempts - 1:
                raise
            server = rebuild()
            continue
        atexit.register(server.stop)  # in case the caller's teardown never runs
        return server
    raise AssertionError("unreachable")


def _moto(workdir: Path) -> S3Server:
    (port,) = _free_ports(1)
    return S3Server(
        name="moto",
        endpoint=f"http://127.0.0.1:{port}",
        access_key="ketch-test-key",  # moto accepts any key; these only have to be non-empty
        secret_key="ketch-test-secret",
        workdir=workdir,
        _argv=[_find_program("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        _proc_env=dict(os.environ),
        _request_pattern=_MOTO_REQUEST,
    )


def start_moto(workdir: Path, *, attempts: int = 3) -> S3Server:
    """Start ``moto_server`` on a free port; its log goes to ``workdir/moto.log``."""
    workdir.mkdir(parents=True, exist_ok=True)
    return _launch(_moto(workdir), attempts, lambda: _moto(workdir))


_WEED_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


def _seaweedfs(workdir: Path, extra_flags: tuple[str, ...] = ()) -> S3Server:
    ports = dict(zip(_WEED_PORT_FLAGS, _free_ports(len(_WEED_PORT_FLAGS)), strict=True))
    data = workdir / "seaweedfs-data"
    data.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = "ketch-test-key", f"ketch-test-{uuid.uuid4().hex}"
    # Every port is given: a gRPC port left out defaults to its HTTP port + 10000, which may be
    # taken; the admin server listens even with its UI off. Iceberg, Lance and WebDAV are off.
    flags = [f"-{flag}={port}" for flag, port in ports.items()]
    flags += ["-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false", "-admin.ui=false"]
    flags += ["-master.telemetry=false", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}"]
    # Unix sockets default to /tmp/seaweedfs-<role>-<port>.sock; keep them with the data.
    flags += [f"-filer.localSocket={data}/filer.sock", f"-s3.localSocket={data}/s3.sock"]
    # Each bucket is a collection with volumes of its own, and weed mini sizes volumes (1 GiB
    # here) from the free disk: after a few dozen buckets it has no writable volume left and
    # answers 500. Small volumes leave room for the suite's hundreds of buckets.
    flags += ["-master.volumeSizeLimitMB=64"]
    env = {k: v for k, v in os.environ.items() if k not in ENV_TO_UNSET}
    # weed mini takes its one S3 identity from these, read when it starts.
    env |= {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key}
    return S3Server(
        name="seaweedfs",
        endpoint=f"http://127.0.0.1:{ports['s3.port']}",
        access_key=access_key,
        secret_key=secret_key,
        workdir=workdir,
        # -v=2 (a global flag, before the command) makes it log one line per S3 request.
        _argv=[_find_program("weed"), "-v=2", "mini", *flags, *extra_flags],
        _proc_env=env,
        _request_pattern=_WEED_REQUEST,
    )


def start_seaweedfs(
    workdir: Path, *, attempts: int = 3, extra_flags: tuple[str, ...] = ()
) -> S3Server:
    """Start ``weed mini`` with its data under ``workdir/seaweedfs-data``; log in ``workdir``.
    ``extra_flags`` go after the defaults (a later flag wins)."""
    workdir.mkdir(parents=True, exist_ok=True)
    return _launch(
        _seaweedfs(workdir, extra_flags), attempts, lambda: _seaweedfs(workdir, extra_flags)
    )
