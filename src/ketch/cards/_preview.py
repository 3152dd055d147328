"""Short, safe text previews of arbitrary values (a broken ``__repr__`` never fails a card)."""

from __future__ import annotations

import reprlib
from typing import Any

PREVIEW_CHARS = 1000
FULL_CHARS = 20_000


def type_label(value: Any) -> str:
    cls = type(value)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def short_repr(value: Any, limit: int = PREVIEW_CHARS) -> str:
    """``repr`` of ``value``, bounded in size even for huge containers."""
    shortener = reprlib.Repr()
    shortener.maxstring = limit
    shortener.maxother = limit
    shortener.maxlist = shortener.maxtuple = shortener.maxset = 50
    shortener.maxfrozenset = shortener.maxdeque = shortener.maxarray = 50
    shortener.maxdict = 30
    try:
        text = _repr(value, shortener)
    except Exception as exc:  # a user type's __repr__ may raise anything
        text = f"<{type_label(value)}: repr() failed: {type(exc).__name__}>"
    return text if len(text) <= limit else text[:limit] + "…"


def _repr(value: Any, shortener: reprlib.Repr) -> str:
    if type(value).__module__.startswith(("numpy", "pandas")):
        # Their own repr already elides the middle of large arrays and frames.
        return repr(value)
    return shortener.repr(value)


def shape_of(value: Any) -> str:
    """``shape`` for arrays and frames, ``len`` for sized containers, else empty."""
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(n, int) for n in shape):
        return " × ".join(str(n) for n in shape) or "scalar"
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        return f"len {len(value)}"
    return ""


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def memory_size(value: Any) -> int:
    """A cheap estimate of a value's size in memory (0 when unknown)."""
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(value, (str, bytes, bytearray)):
        return len(value)
    return 0
