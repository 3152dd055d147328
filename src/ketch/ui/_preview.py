"""Short, JSON-able previews of artifact values.

A preview is a dict with a ``kind`` (``scalar``, ``string``, ``bytes``, ``sequence``,
``mapping``, ``array``, ``dataframe``, ``series`` or ``object``) and the fields that kind needs;
it never holds the whole value. numpy and pandas are recognised by the value's type, never
imported here: if an artifact is an array, unpickling it has imported numpy already.
"""

from __future__ import annotations

import reprlib
import sys
from typing import Any

from ..datastore import BlobStore, load_artifact
from ..exceptions import DataIntegrityError
from ..metadata import ArtifactRecord

MAX_PREVIEW_BYTES = 256 << 20  # larger artifacts are listed but not loaded
MAX_TEXT = 2000
MAX_ITEMS = 20
HEAD_ROWS = 10
MAX_CELL = 80

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxfrozenset = MAX_ITEMS
_repr.maxdict = MAX_ITEMS
_repr.maxlevel = 3


def short(value: object, limit: int = MAX_TEXT) -> str:
    """A bounded ``repr`` of ``value``."""
    text = _repr.repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def artifact_entry(blobs: BlobStore, record: ArtifactRecord) -> dict[str, Any]:
    """One artifact with its preview, or with the error that kept it from loading.

    A corrupt or missing blob, or a value that cannot be unpickled here, is reported on this
    artifact alone, so the rest of the page still shows.
    """
    entry: dict[str, Any] = {
        "name": record.name,
        "type": record.type_name,
        "size": record.size,
        "key": record.key,
        "preview": None,
        "error": None,
    }
    if record.size > MAX_PREVIEW_BYTES:
        entry["error"] = _error(
            "Too large to preview",
            f"{record.size:,} bytes",
            "Load it with the Client API: Task(pathspec).data.<name>.",
        )
        return entry
    try:
        value = load_artifact(blobs, record.key)
    except DataIntegrityError as exc:
        entry["error"] = _error(exc.headline, exc.detail, exc.hint)
        return entry
    except Exception as exc:  # unpickling runs the value's own code, which may raise anything
        entry["error"] = _error(
            "This artifact cannot be loaded here",
            f"{type(exc).__name__}: {exc}",
            "Its class may only be importable where the flow runs; load it with the Client "
            "API there.",
        )
        return entry
    entry["preview"] = preview(value)
    return entry


def _error(headline: str, message: str, hint: str) -> dict[str, str]:
    return {"headline": headline, "message": message, "hint": hint}


def preview(value: object) -> dict[str, Any]:
    """The preview of one value (see the module docstring for the kinds)."""
    try:
        return _preview(value)
    except Exception as exc:  # a user type's __repr__ or __len__ may raise anything
        return {"kind": "object", "text": f"<{type(value).__name__}: preview failed: {exc!r}>"}


def _preview(value: object) -> dict[str, Any]:
    module = type(value).__module__.split(".", 1)[0]
    if module == "numpy":
        return _numpy(value)
    if module == "pandas":
        return _pandas(value)
    if value is None or isinstance(value, bool | int | float | complex):
        return {"kind": "scalar", "text": repr(value)}
    if isinstance(value, str):
        return {
            "kind": "string",
            "length": len(value),
            "text": value[:MAX_TEXT],
            "truncated": len(value) > MAX_TEXT,
        }
    if isinstance(value, bytes | bytearray):
        return {"kind": "bytes", "length": len(value), "text": short(bytes(value[:200]))}
    if isinstance(value, dict):
        items = [[short(k, MAX_CELL), short(v, 400)] for k, v in list(value.items())[:MAX_ITEMS]]
        return {
            "kind": "mapping",
            "length": len(value),
            "items": items,
            "truncated": len(value) > MAX_ITEMS,
        }
    if isinstance(value, list | tuple | set | frozenset):
        return {"kind": "sequence", "length": len(value), "text": short(value)}
    return {"kind": "object", "text": short(value, 1000)}


def _numpy(value: Any) -> dict[str, Any]:
    np = sys.modules["numpy"]
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=20, edgeitems=3, max_line_width=100)
        return {
            "kind": "array",
            "shape": list(value.shape),
            "dtype": str(value.dtype),
            "text": text[:MAX_TEXT],
        }
    if isinstance(value, np.generic):
        return {"kind": "scalar", "text": repr(value.item())}
    return {"kind": "object", "text": short(value, 1000)}


def _pandas(value: Any) -> dict[str, Any]:
    pd = sys.modules["pandas"]
    if isinstance(value, pd.DataFrame):
        head = value.head(HEAD_ROWS)
        return {
            "kind": "dataframe",
            "shape": list(value.shape),
            "columns": [
                {"name": str(name), "dtype": str(dtype)} for name, dtype in value.dtypes.items()
            ],
            "index": [_cell(i) for i in head.index],
            "rows": [[_cell(v) for v in row] for row in head.itertuples(index=False)],
        }
    if isinstance(value, pd.Series):
        return {
            "kind": "series",
            "length": len(value),
            "dtype": str(value.dtype),
            "text": value.head(HEAD_ROWS).to_string()[:MAX_TEXT],
        }
    return {"kind": "object", "text": short(value, 1000)}


def _cell(value: object) -> str:
    text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"
