"""One bucket, reached through the datastore's object store client (obstore, in-process).

The ``S3`` helper keeps one :class:`Bucket` per bucket it touches: it reuses the datastore's
retries, its parallel ranged downloads and multipart uploads, and its fork guard, and words the
errors as Metaflow's S3 errors, naming the URL and the fix.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..datastore._cloud import connect, parse
from ..datastore._objectstore import (
    CHUNK_BYTES,
    SINGLE_PUT_MAX,
    WORKERS,
    ObjectStorage,
    short_reason,
)
from ..exceptions import KetchException
from ._errors import (
    MetaflowS3AccessDenied,
    MetaflowS3Exception,
    MetaflowS3InsufficientDiskSpace,
    MetaflowS3InvalidRange,
    MetaflowS3NotFound,
)
from ._object import RangeInfo

if TYPE_CHECKING:
    from obstore.store import ObjectStore

    from ..datastore._storage import Buffer

_CREDENTIALS_HINT = (
    "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE (boto3 reads them as "
    "usual), AWS_ENDPOINT_URL for a store that is not AWS, and that they may use the bucket."
)

_STANDARD_ATTRIBUTES = frozenset(
    {
        "Content-Type",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Cache-Control",
        "Storage-Class",
    }
)


@dataclass(frozen=True)
class Info:
    """What S3 says about an object besides its bytes."""

    size: int
    content_type: str | None
    metadata: dict[str, str]
    last_modified: float
    range_info: RangeInfo


class Bucket(ObjectStorage):
    """The objects of one bucket, keys relative to its root."""

    def __init__(self, bucket: str, *, encryption: str | None = None) -> None:
        super().__init__(parse(f"s3://{bucket}"))
        self.encryption = encryption

    def _connect(self) -> ObjectStore:
        return connect(self.where, encryption=self.encryption)

    # -- the errors, in Metaflow's classes ------------------------------------------------
    def _no_bucket(self) -> KetchException:
        return MetaflowS3NotFound(
            f"The bucket {self.where.bucket!r} does not exist at {self.where.endpoint or 'AWS'}.",
            hint="Create it (aws s3 mb s3://BUCKET) or fix the URL; for a store that is not "
            "AWS, check AWS_ENDPOINT_URL.",
        )

    def _refused(self, reason: str) -> KetchException:
        return MetaflowS3AccessDenied(
            f"The object store refused access to {self.where.describe()}: {reason}",
            hint=_CREDENTIALS_HINT,
        )

    def _unreachable(self, verb: str, key: str, reason: str, attempts: int) -> KetchException:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return MetaflowS3Exception(
            f"{verb} {self._name(key)} failed{tries}: the object store at "
            f"{self.where.endpoint or 'AWS'} {reason}.",
            hint="Check that the server is up and reachable (AWS_ENDPOINT_URL for a server "
            "that is not AWS), then try again.",
        )

    def url(self, key: str) -> str:
        return f"s3://{self.where.bucket}/{key}"

    # -- requests -------------------------------------------------------------------------
    def download(self, key: str, path: str, request_range: Any = None) -> Info:
        """Write object ``key`` (or ``request_range`` of it, obstore's range option) to the
        file ``path``. A whole object comes in parallel ranges (``fetch``)."""
        try:
            if request_range is None:
                return self._download_whole(key, path)
            return self._download_range(key, path, request_range)
        except KeyError:
            raise MetaflowS3NotFound(self.url(key)) from None
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise MetaflowS3InsufficientDiskSpace(
                    f"The disk filled up while {self.url(key)} was written to {path}.",
                    hint="Free space there, or give S3(tmproot=...) a disk with room.",
                ) from None
            raise

    def _download_whole(self, key: str, path: str) -> Info:
        seen: list[Any] = []
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:

            def sink(size: int) -> Callable[[int, Buffer], None]:
                os.ftruncate(fd, size)
                return lambda offset, data: _write_at(fd, data, offset)

            size = self.fetch(key, sink, first=seen.append)
        finally:
            os.close(fd)
        info = self._info_of(seen[0]) if seen else self.info(key)
        return Info(size, info.content_type, info.metadata, info.last_modified, info.range_info)

    def _download_range(self, key: str, path: str, request_range: Any) -> Info:
        import obstore

        def request() -> Any:
            try:
                result = obstore.get(self.store, key, options={"range": request_range})
                return result, result.bytes()
            except Exception as exc:
                if short_reason(exc).startswith("answered 416"):
                    raise MetaflowS3InvalidRange(
                        f"The range {_describe(request_range)} is outside {self.url(key)}.",
                        hint="Ask for an offset below the object's size (S3.info gives it).",
                    ) from None
                raise

        result, data = self._call("GET ranged", key, request)
        with open(path, "wb") as file:
            file.write(memoryview(data))
        info = self._info_of(result)
        start, end = result.range
        ranged = RangeInfo(info.size, start, end - start)
        return Info(end - start, info.content_type, info.metadata, info.last_modified, ranged)

    def info(self, key: str) -> Info:
        """The object's size, content type, metadata and time (a HEAD request)."""
        import obstore

        def request() -> Any:
            return obstore.get(self.store, key, options={"head": True})

        try:
            return self._info_of(self._call("HEAD", key, request))
        except KeyError:
            raise MetaflowS3NotFound(self.url(key)) from None

    @staticmethod
    def _info_of(result: Any) -> Info:
        """The ``Info`` in obstore's answer to a GET or HEAD: the user metadata are the
        attributes that are not standard headers."""
        attributes = dict(result.attributes)
        metadata = {k: v for k, v in attributes.items() if k not in _STANDARD_ATTRIBUTES}
        size = int(result.meta["size"])
        modified = result.meta["last_modified"].timestamp()
        content_type = attributes.get("Content-Type")
        return Info(size, content_type, metadata, modified, RangeInfo(size, 0, size))

    def listing(self, prefix: str, *, recursive: bool) -> tuple[list[tuple[str, int]], list[str]]:
        """The objects (key, size) under the folder ``prefix`` and, unless ``recursive``, the
        folders one level down (keys ending in ``/``). Folders end at ``/``: ``a`` lists
        ``a/...``, never ``ab``."""
        import obstore

        def everything() -> tuple[list[tuple[str, int]], list[str]]:
            if recursive:
                chunks = obstore.list(self.store, prefix or None)
                found = [(m["path"], int(m["size"])) for chunk in chunks for m in chunk]
                return sorted(found), []
            level = obstore.list_with_delimiter(self.store, prefix or None)
            found = [(m["path"], int(m["size"])) for m in level["objects"]]
            return sorted(found), sorted(f"{p}/" for p in level["common_prefixes"])

        try:
            return self._call("LIST", prefix or "/", everything)
        except KeyError:
            return [], []

    def upload(
        self,
        key: str,
        source: bytes | Path | IO[bytes],
        *,
        attributes: dict[str, str],
        overwrite: bool,
    ) -> bool:
        """Store ``source`` at ``key``; False when ``overwrite`` is off and it exists. A
        large file goes up in parts, ``WORKERS`` at a time."""
        import obstore

        if not overwrite and self._exists(key):
            return False

        def request() -> None:
            if not isinstance(source, (bytes, Path)):
                source.seek(0)  # a retry sends the file again from its start
            obstore.put(
                self.store,
                key,
                source,
                attributes=attributes or None,
                use_multipart=_size_of(source) > SINGLE_PUT_MAX,
                chunk_size=CHUNK_BYTES,
                max_concurrency=WORKERS,
            )

        self._call("PUT", key, request)
        return True

    def _exists(self, key: str) -> bool:
        try:
            self.info(key)
        except MetaflowS3NotFound:
            return False
        return True


def _write_at(fd: int, data: Buffer, offset: int) -> None:
    view = memoryview(data).cast("B")
    while view.nbytes:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _size_of(source: bytes | Path | IO[bytes]) -> int:
    if isinstance(source, bytes):
        return len(source)
    if isinstance(source, Path):
        return source.stat().st_size
    here = source.tell()
    end = source.seek(0, os.SEEK_END)
    source.seek(here)
    return end


def _describe(request_range: Any) -> str:
    if isinstance(request_range, dict):
        if "suffix" in request_range:
            return f"(the last {request_range['suffix']} bytes)"
        return f"(from byte {request_range['offset']})"
    start, end = request_range
    return f"bytes {start}-{end - 1}"
