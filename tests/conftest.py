"""Fixtures shared by the whole test suite.

PostgreSQL: ``pg_url`` (session) is the URL of a running server's ``postgres`` database: the
server named by ``KETCH_TEST_PG_URL`` when set, else a private throw-away cluster started once per
session (see ``tests/_pg.py``). ``pg_database`` (function) is a fresh, empty database on it.
Without PostgreSQL binaries the PG tests skip, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

if importlib.util.find_spec("ketch") is None:  # not installed: test the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _pg import PG_URL_ENV, PgUnavailable, create_database, drop_database, start_cluster  # noqa: E402


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
        message = f"PostgreSQL tests need a server: {exc}; install PostgreSQL or set {PG_URL_ENV}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set, so this is an error, not a skip)")
        pytest.skip(message)
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


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A fresh project directory; the test process's cwd and env point at it too."""
    from flowrun import Project

    for name in [k for k in os.environ if k.startswith("KETCH_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("USER", "tester")
    monkeypatch.chdir(tmp_path)
    yield Project(tmp_path)
