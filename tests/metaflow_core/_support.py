"""Copied into the harness's directory as ``ketch_core_shim.py`` for ketch runs.

It gives the rewritten imports two things: a placeholder for each Metaflow name that ketch
does not have, and ``is_stringish``, a helper the harness's checkers import from Metaflow's
utilities. It imports nothing from ketch or Metaflow.
"""

from __future__ import annotations

from typing import Any, NoReturn


def missing(qualname: str) -> type[Exception]:
    """A stand-in for Metaflow's ``qualname``: creating or calling it (as a decorator, a
    function or an exception) raises ``NotImplementedError`` naming it. ``isinstance`` and
    ``except`` clauses with it are allowed and simply never match."""

    def _refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise NotImplementedError(f"ketch has no {qualname}")

    name = qualname.rsplit(".", 1)[-1]
    return type(name, (Exception,), {"__new__": _refuse, "__qualname__": name})


def is_stringish(value: object) -> bool:
    """Whether ``value`` is text or bytes."""
    return isinstance(value, (str, bytes, bytearray))
