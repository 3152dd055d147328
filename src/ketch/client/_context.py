"""Where the client reads from, and the namespace it sees."""

from __future__ import annotations

import atexit
import os
from contextvars import ContextVar
from dataclasses import dataclass, fields

from ..datastore import BlobStore, LocalStorage
from ..metadata import MetadataStore, open_store
from ..metadata._sqlite_store import SqliteStore  # noqa: F401  (every local project opens one)
from ..settings import Settings, env_name, require_home, resolve

_UNSET = object()
_namespace: ContextVar[object] = ContextVar("ketch_namespace", default=_UNSET)


@dataclass(frozen=True)
class Backend:
    store: MetadataStore
    blobs: BlobStore


_backends: dict[tuple[str, str], Backend] = {}
# The variables that can change what the client reads (see ketch.settings).
_ENV = tuple(env_name(f.name) for f in fields(Settings)) + (
    "METAFLOW_USER",
    "SUDO_USER",
    "USERNAME",
    "USER",
)
_resolved: dict[tuple[str, tuple[tuple[str, str], ...]], Settings] = {}


def _settings() -> Settings:
    """Settings for the current directory and ``KETCH_*`` environment, resolved once each."""
    key = (os.getcwd(), tuple((name, os.environ.get(name, "")) for name in _ENV))
    found = _resolved.get(key)
    if found is None:
        found = _resolved[key] = resolve()
    return found


def backend() -> Backend:
    """The metadata store and blob store of the current project (opened once per process)."""
    settings = _settings()
    require_home(settings)
    key = (settings.resolved_metadata_url, settings.home)
    found = _backends.get(key)
    if found is None:
        store = open_store(settings.resolved_metadata_url)
        atexit.register(store.close)
        found = Backend(store, BlobStore(LocalStorage(settings.home_path)))
        _backends[key] = found
    return found


def default_namespace() -> str:
    """The namespace the client starts in: ``user:<name>``.

    Examples
    --------
    >>> from ketch import default_namespace
    >>> default_namespace().startswith("user:")
    True
    """
    return f"user:{_settings().user}"


def namespace(ns: str | None) -> str | None:
    """Switch the client's namespace; ``None`` sees every run.

    Examples
    --------
    >>> from ketch import namespace
    >>> namespace(None)  # the global namespace
    """
    _namespace.set(ns)
    return ns


def get_namespace() -> str | None:
    """The current namespace (``None`` means global)."""
    value = _namespace.get()
    if value is _UNSET:
        return default_namespace()
    return value  # type: ignore[return-value]
