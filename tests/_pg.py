"""A private PostgreSQL cluster for the test suite.

``start_cluster()`` runs ``initdb`` + ``pg_ctl start`` in a fresh directory under the system temp
dir, on a free localhost port, with fsync off (the data is thrown away). ``create_database()``
makes a uniquely named database on any server, so each test gets a clean schema.

Running as root (containers, CI images): ``initdb`` refuses root, so the server runs as the
``postgres`` OS user and its directory is created with ``mkdtemp`` and chown'ed to it; a pytest
``tmp_path`` may sit under a directory that user cannot enter.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_URL_ENV = "KETCH_TEST_PG_URL"
_SERVER_USER = "postgres"
_DIR_PREFIX = "ketch-pg-"
_OWNER_FILE = "owner.pid"  # pid of the test process that started the cluster


class PgUnavailable(RuntimeError):
    """The PostgreSQL server binaries cannot be found or cannot be run here."""


def find_pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding ``initdb``, else ``initdb`` on PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PgCluster:
    """A running private cluster; ``url`` points at its ``postgres`` database."""

    url: str
    base_dir: Path
    pg_bin: Path
    run_as: dict[str, Any] = field(default_factory=dict)
    seconds_to_start: float = 0.0
    _stopped: bool = False

    def stop(self) -> None:
        """Stop the server at once and delete its directory (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        subprocess.run(
            [str(self.pg_bin / "pg_ctl"), "-D", str(self.base_dir / "data"), "-m", "immediate"]
            + ["-w", "stop"],
            cwd=self.base_dir,
            capture_output=True,
            check=False,
            timeout=60,
            **self.run_as,
        )
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _run_as_kwargs() -> dict[str, Any]:
    """subprocess keywords that drop root to the ``postgres`` user (empty when not root)."""
    if os.geteuid() != 0:
        return {}
    try:
        import pwd

        entry = pwd.getpwnam(_SERVER_USER)
    except KeyError as exc:
        raise PgUnavailable(
            f"running as root and there is no '{_SERVER_USER}' OS user to run the server as"
        ) from exc
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": entry.pw_dir, "LC_ALL": "C"}
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "env": env}


def _temp_root() -> str | None:
    return "/tmp" if os.path.isdir("/tmp") else None


def _make_base_dir(run_as: dict[str, Any]) -> Path:
    base = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX, dir=_temp_root()))
    (base / _OWNER_FILE).write_text(str(os.getpid()))
    if run_as:
        os.chown(base, run_as["user"], run_as["group"])
    os.chmod(base, 0o700)
    return base


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale_clusters(pg_bin: Path, run_as: dict[str, Any]) -> None:
    """Stop and delete clusters left by test processes that were killed before their teardown."""
    for owner in Path(_temp_root() or tempfile.gettempdir()).glob(f"{_DIR_PREFIX}*/{_OWNER_FILE}"):
        with contextlib.suppress(OSError, ValueError):
            if _pid_alive(int(owner.read_text().strip())):
                continue
            PgCluster(url="", base_dir=owner.parent, pg_bin=pg_bin, run_as=run_as).stop()


def _check(proc: subprocess.CompletedProcess[str], what: str, log: Path | None = None) -> None:
    if proc.returncode == 0:
        return
    text = f"{what} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    if log is not None and log.exists():
        text += "\nserver log:\n" + log.read_text(errors="replace")[-4000:]
    raise RuntimeError(text)


def start_cluster(*, attempts: int = 3) -> PgCluster:
    """initdb + start a throw-away cluster; raises `PgUnavailable` when PostgreSQL is missing."""
    pg_bin = find_pg_bin()
    if pg_bin is None:
        raise PgUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")
    run_as = _run_as_kwargs()
    started = time.perf_counter()
    reap_stale_clusters(pg_bin, run_as)
    base = _make_base_dir(run_as)
    data, log = base / "data", base / "server.log"
    common: dict[str, Any] = {"cwd": base, "capture_output": True, "text": True, **run_as}
    try:
        proc = subprocess.run(
            [str(pg_bin / "initdb"), "-D", str(data), "-U", _SERVER_USER, "--auth=trust"]
            + ["--no-sync", "--encoding=UTF8", "--locale=C"],
            timeout=120,
            **common,
        )
        _check(proc, "initdb")
        for attempt in range(attempts):
            port = _free_port()
            options = (
                f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            # -l: the server must not inherit our pipes, or capture_output would wait forever.
            proc = subprocess.run(
                [str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options]
                + ["-w", "-t", "60", "start"],
                timeout=90,
                **common,
            )
            if proc.returncode == 0:
                url = f"postgresql://{_SERVER_USER}@127.0.0.1:{port}/postgres"
                cluster = PgCluster(url=url, base_dir=base, pg_bin=pg_bin, run_as=run_as)
                cluster.seconds_to_start = time.perf_counter() - started
                atexit.register(cluster.stop)  # in case the caller's teardown never runs
                return cluster
            if attempt == attempts - 1:  # else: most likely the port was taken; try another
                _check(proc, "pg_ctl start", log)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    raise AssertionError("unreachable")


def _psycopg_url(url: str) -> str:
    """psycopg takes libpq URLs: drop a SQLAlchemy ``+driver`` suffix."""
    scheme, sep, rest = url.partition("://")
    return scheme.split("+", 1)[0] + sep + rest


def _with_database(url: str, name: str) -> str:
    scheme, _, rest = url.partition("://")
    authority = rest.split("/", 1)[0]
    query = rest.partition("?")[2]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


def create_database(server_url: str, prefix: str = "ketch_test") -> str:
    """Create a uniquely named empty database on the server; returns its URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_psycopg_url(server_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_database(server_url, name)


def drop_database(server_url: str, database_url: str) -> None:
    """Drop a database made by `create_database`, closing any connection left open to it."""
    import psycopg

    name = database_url.partition("://")[2].split("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(_psycopg_url(server_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
