"""The Client's namespace as ambient state, apart from the Client itself.

The Client reads it (``ketch.namespace`` / ``get_namespace``); a task sets it for
``run --namespace`` without importing the Client, which the runtime must not.
"""

from __future__ import annotations

from contextvars import ContextVar

UNSET = object()
_namespace: ContextVar[object] = ContextVar("ketch_namespace", default=UNSET)


def set_namespace(ns: str | None) -> None:
    """Switch the namespace; ``None`` is the global one (every run)."""
    _namespace.set(ns)


def current_namespace() -> str | None | object:
    """The namespace set, or :data:`UNSET` when none was (the Client then starts in the
    user's own)."""
    return _namespace.get()
