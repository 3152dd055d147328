"""The storage contract suite's backends: each one built directly, and each URL scheme of
``open_storage`` (every test that takes ``storage`` runs on all of them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_urls import SCHEMES, storage_url

from ketch.datastore import LocalStorage, MemoryStorage, Storage, open_storage

BACKENDS = ["local", "memory", *(f"url:{kind}" for kind in SCHEMES), "s3:moto", "s3:seaweedfs"]


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    kind: str = request.param
    if kind.startswith("s3:"):
        yield open_storage(s3_url(request, kind.removeprefix("s3:"), tmp_path))
    elif kind == "local":
        yield LocalStorage(tmp_path / "store")
    elif kind == "memory":
        yield MemoryStorage()
    else:
        yield open_storage(storage_url(kind.removeprefix("url:"), tmp_path))


def s3_url(request: pytest.FixtureRequest, server_name: str, tmp_path: Path) -> str:
    """``s3://<a fresh bucket>/prefix`` on the session's ``server_name`` server, with this
    test's environment pointing at it and a cache of its own."""
    from _s3servers import ENV_TO_UNSET

    server = request.getfixturevalue(f"{'moto' if server_name == 'moto' else 'seaweedfs'}_s3")
    monkeypatch = request.getfixturevalue("monkeypatch")
    for name in ENV_TO_UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KETCH_CACHE_DIR", str(tmp_path / "cache"))
    return f"s3://{server.make_bucket()}/prefix"
