"""What the ``S3`` helper takes and gives back: ``S3GetObject``, ``S3PutObject``, ``RangeInfo``
and ``S3Object``, with Metaflow's fields and defaults."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import IO, NamedTuple

PutValue = str | bytes | IO[bytes]


class S3GetObject(NamedTuple):
    """A ranged download: ``length`` bytes from ``offset``; ``length=None`` reads to the end
    and a negative ``length`` reads the last ``-length`` bytes (``offset`` ignored)."""

    key: str
    offset: int | None
    length: int | None


class S3PutObject(NamedTuple):
    """An upload with its details: ``value`` (for ``put_many``) or ``path`` (``put_files``)."""

    key: str
    value: PutValue | None = None
    path: str | None = None
    content_type: str | None = None
    encryption: str | None = None
    metadata: Mapping[str, object] | None = None


class RangeInfo(NamedTuple):
    """What part of an object a download holds: the object's size, the first byte read and
    how many bytes were read."""

    total_size: int
    request_offset: int = 0
    request_length: int = -1


USER_ATTRIBUTES = "metaflow-user-attributes"  # the S3 metadata header Metaflow keeps it in


class S3Object:
    """An object (or, from ``list_paths``, a prefix) in S3, with its local copy if downloaded.

    ``key`` is the URL relative to the prefix it was asked under (the whole URL when the
    helper has no root); ``exists`` is False for a prefix or a missing object. The local copy,
    ``path``, lives until the ``S3`` helper that made it is closed.
    """

    def __init__(
        self,
        prefix: str | None,
        url: str,
        path: str | None = None,
        size: int | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        range_info: RangeInfo | None = None,
        last_modified: float | None = None,
        encryption: str | None = None,
    ) -> None:
        self._url = url
        self._path = path
        self._size = os.stat(path).st_size if path else size
        self._content_type = content_type
        self._metadata: dict[str, object] | None = None
        if metadata is not None and USER_ATTRIBUTES in metadata:
            self._metadata = json.loads(metadata[USER_ATTRIBUTES])
        self._range_info = range_info
        self._last_modified = last_modified
        self._encryption = encryption
        if prefix is None or prefix == url:
            self._key, self._prefix = url, None
        else:
            self._key = url[len(prefix.rstrip("/")) + 1 :].rstrip("/")
            self._prefix = prefix

    @property
    def exists(self) -> bool:
        """True when this is an object in S3 (not a prefix, not a missing key)."""
        return self._size is not None

    @property
    def downloaded(self) -> bool:
        """True when the contents are in a local file (``path``, ``blob``, ``text``)."""
        return bool(self._path)

    @property
    def url(self) -> str:
        return self._url

    @property
    def prefix(self) -> str | None:
        """The prefix (a URL) this object was found under."""
        return self._prefix

    @property
    def key(self) -> str:
        return self._key

    @property
    def path(self) -> str | None:
        """The local file holding the downloaded contents; deleted when the helper closes."""
        return self._path

    @property
    def blob(self) -> bytes | None:
        """The downloaded contents, read from ``path``; None when not downloaded."""
        if not self._path:
            return None
        with open(self._path, "rb") as file:
            return file.read()

    @property
    def text(self) -> str | None:
        """The downloaded contents decoded as UTF-8 (bad bytes replaced)."""
        blob = self.blob
        return None if blob is None else blob.decode("utf-8", errors="replace")

    @property
    def size(self) -> int | None:
        """The size in bytes (of the part downloaded, for a range); None when absent."""
        return self._size

    @property
    def has_info(self) -> bool:
        """True when the content type, metadata, range or encryption are known."""
        return any(
            value is not None
            for value in (self._content_type, self._metadata, self._range_info, self._encryption)
        )

    @property
    def metadata(self) -> dict[str, object] | None:
        """The ``metadata`` given to ``put``; None when there was none."""
        return self._metadata

    @property
    def content_type(self) -> str | None:
        return self._content_type

    @property
    def encryption(self) -> str | None:
        return self._encryption

    @property
    def range_info(self) -> RangeInfo | None:
        return self._range_info

    @property
    def last_modified(self) -> float | None:
        """When the object was last written, as a Unix timestamp."""
        return self._last_modified

    def __str__(self) -> str:
        if self._path:
            return f"<S3Object {self._url} ({self._size} bytes, local)>"
        if self._size:
            return f"<S3Object {self._url} ({self._size} bytes, in S3)>"
        return f"<S3Object {self._url} (object does not exist)>"

    __repr__ = __str__
