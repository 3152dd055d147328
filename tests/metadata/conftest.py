"""Store fixtures for the metadata tests, parametrized over every backend.

``url``/``store``: ``sqlite`` (a file under tmp_path, `SqliteStore` on the standard library),
``sqlite-sqlalchemy`` (the same file through `SqlMetadataStore`), ``memory`` (``sqlite://``) and
``postgres`` (a fresh database on the session's server, see ``tests/conftest.py``).
``shared_url``: only the backends that several store objects and processes can share
(``sqlite``, ``postgres``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ketch.metadata import MetadataStore, open_store, sqlite_url

BACKENDS = ["sqlite", "sqlite-sqlalchemy", "memory", "postgres"]
FILE_BACKENDS = ["sqlite", "postgres"]  # shared by several store objects and processes


def _make_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend in ("sqlite", "sqlite-sqlalchemy"):
        return sqlite_url(tmp_path / ".ketch" / "metadata.db")
    if backend == "memory":
        return "sqlite://"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _make_url(backend, request, tmp_path)


@pytest.fixture(params=FILE_BACKENDS)
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _make_url(request.param, request, tmp_path)


@pytest.fixture
def store(backend: str, url: str) -> Iterator[MetadataStore]:
    opened = open_store(url, sqlalchemy=backend == "sqlite-sqlalchemy")
    yield opened
    opened.close()
