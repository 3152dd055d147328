"""The storage contract suite's backends: each one built directly, and each URL scheme of
``open_storage`` (every test that takes ``storage`` runs on all of them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from storage_urls import SCHEMES, storage_url

from ketch.datastore import LocalStorage, MemoryStorage, Storage, open_storage

BACKENDS = ["local", "memory", *(f"url:{kind}" for kind in SCHEMES)]


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    kind: str = request.param
    if kind == "local":
        yield LocalStorage(tmp_path / "store")
    elif kind == "memory":
        yield MemoryStorage()
    else:
        yield open_storage(storage_url(kind.removeprefix("url:"), tmp_path))
