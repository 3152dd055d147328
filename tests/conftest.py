"""Fixtures shared by the whole test suite.

PostgreSQL: ``pg_url`` (session) is the URL of a running server's ``postgres`` database: the
server named by ``KETCH_TEST_PG_URL`` when set, else a private throw-away cluster started once per
session (see ``tests/_pg.py``). ``pg_database`` (function) is a fresh, empty database on it.
Without PostgreSQL binaries the PG tests skip, except under CI (``CI`` set), where they fail.

S3: ``moto_s3`` and ``seaweedfs_s3`` (session) are real S3 servers on 127.0.0.1, started once per
session (see ``tests/_s3servers.py``); ``s3_server`` runs a test against each of them in turn, and
``s3_bucket`` gives it a fresh bucket. Without a server's program its tests skip, except under CI.

Ray: ``ray_cluster`` (session) is a real 2-node Ray cluster on this machine, in a network
namespace of its own (see ``tests/_raycluster.py``), shared by tests that leave it whole;
``fresh_ray_cluster`` (function) is a private 2-node cluster for a test that kills nodes, stopped
after it. Without root, ``ip netns`` or Ray, their tests skip, except under CI.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

if importlib.util.find_spec("ketch") is None:  # not installed: test the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _pg import PG_URL_ENV, PgUnavailable, create_database, drop_database, start_cluster  # noqa: E402
from _raycluster import RayCluster, RayUnavailable, start_ray_cluster  # noqa: E402
from _s3servers import S3Server, S3Unavailable, start_moto, start_seaweedfs  # noqa: E402


def _unavailable(message: str) -> NoReturn:
    """Skip a test whose server cannot run here; under CI (``CI`` set), fail it instead."""
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so this is an error, not a skip)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL (``postgresql://``) of a PostgreSQL server for this test session."""
    external = os.environ.get(PG_URL_ENV)
    if external:
        yield external
        return
    try:
        cluster = start_cluster()
    except PgUnavailable as exc:
        _unavailable(
            f"PostgreSQL tests need a server: {exc}; install PostgreSQL or set {PG_URL_ENV}"
        )
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """URL of a new, empty, uniquely named database; dropped after the test."""
    url = create_database(pg_url)
    try:
        yield url
    finally:
        drop_database(pg_url, url)


def _s3_server(
    start: Callable[[Path], S3Server], factory: pytest.TempPathFactory, name: str
) -> Iterator[S3Server]:
    try:
        server = start(factory.mktemp(f"s3-{name}"))
    except S3Unavailable as exc:
        _unavailable(f"S3 tests need {name}: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A moto S3 server for this test session (objects in memory; any credentials pass)."""
    yield from _s3_server(start_moto, tmp_path_factory, "moto")


@pytest.fixture(scope="session")
def seaweedfs_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 server for this test session (objects on disk; credentials checked)."""
    yield from _s3_server(start_seaweedfs, tmp_path_factory, "seaweedfs")


@pytest.fixture(params=["moto", "seaweedfs"], ids=["moto", "seaweedfs"])
def s3_server(request: pytest.FixtureRequest) -> S3Server:
    """Each session S3 server in turn: a test using it runs once per server."""
    server: S3Server = request.getfixturevalue(f"{request.param}_s3")
    if server.pid is None:  # a test stopped it (fault tests): bring it back for the next one
        server.restart()
    return server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> tuple[S3Server, str]:
    """``(server, bucket)``: a new, empty, uniquely named bucket on each S3 server in turn."""
    return s3_server, s3_server.make_bucket()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A fresh project directory; the test process's cwd and env point at it too."""
    from flowrun import Project

    for name in [k for k in os.environ if k.startswith("KETCH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("USER", "tester")
    monkeypatch.chdir(tmp_path)
    yield Project(tmp_path)


def _ray_cluster(workdir: Path) -> Iterator[RayCluster]:
    try:
        cluster = start_ray_cluster(workdir, nodes=2)
    except RayUnavailable as exc:
        _unavailable(f"Ray tests need a local Ray cluster: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    """A 2-node Ray cluster (head + ``node2``) for this test session; do not kill its nodes."""
    yield from _ray_cluster(tmp_path_factory.mktemp("ray-cluster"))


@pytest.fixture
def fresh_ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    """A private 2-node Ray cluster for one test, which may kill its nodes; stopped after it."""
    yield from _ray_cluster(tmp_path_factory.mktemp("fresh-ray-cluster"))
