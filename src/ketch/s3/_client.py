"""``S3``: Metaflow's helper for a flow's own data in S3, on ketch's object store client.

Downloads land in temporary files under ``tmproot`` that live until :meth:`S3.close` (or the
end of the ``with`` block); many keys are fetched ``WORKERS`` at a time, and each large
object in parallel ranges. Keys are relative to the helper's root (``run``, ``s3root``) or,
with no root, full ``s3://`` URLs: the same rules, answers and errors as Metaflow's ``S3``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar, cast
from urllib.parse import urlparse

from ..datastore._objectstore import WORKERS
from ..exceptions import UserError
from ._bucket import Bucket, Info
from ._errors import MetaflowS3InvalidObject, MetaflowS3NotFound, MetaflowS3URLException
from ._object import USER_ATTRIBUTES, PutValue, S3GetObject, S3Object, S3PutObject
from ._root import run_root

T = TypeVar("T")
R = TypeVar("R")
Key = str | S3GetObject | None


class S3:
    """Read and write a flow's own data in S3 (Metaflow's ``S3``).

    Parameters
    ----------
    tmproot : str
        Where the temporary directory for downloads is made (default: the working directory).
    bucket, prefix : str, optional
        With ``run``: replace the bucket or the path of the datatools root.
    run : FlowSpec or Run, optional
        Root keys at ``<datatools root>/<FlowName>/<run_id>``: ``run=self`` in a step, or a
        Client ``Run``. The datatools root is ``KETCH_DATATOOLS_S3ROOT`` (or
        ``METAFLOW_DATATOOLS_S3ROOT``), else ``<datastore URL>/data`` for a datastore on S3.
    s3root : str, optional
        Root keys at this ``s3://`` URL instead.
    encryption : str, optional
        Server-side encryption asked for on uploads (``AES256``, ``aws:kms``).

    Examples
    --------
    >>> with S3(s3root="s3://bucket/scratch") as s3:  # doctest: +SKIP
    ...     s3.put("greeting", "hello")
    ...     s3.get("greeting").text
    'hello'
    """

    def __init__(
        self,
        tmproot: str = ".",
        bucket: str | None = None,
        prefix: str | None = None,
        run: Any = None,
        s3root: str | None = None,
        encryption: str | None = None,
        **kwargs: Any,
    ) -> None:
        _require_obstore()
        if kwargs:
            raise UserError(
                f"S3() got {', '.join(sorted(kwargs))}, which ketch's S3 does not take.",
                hint="ketch reaches S3 with the credentials boto3 would use (AWS_* variables, "
                "AWS_PROFILE, ~/.aws/config): name a profile with role_arn instead of role=.",
                headline="Unsupported S3 argument",
            )
        if run:
            self._s3root: str | None = run_root(run, bucket, prefix)
        elif s3root:
            if urlparse(s3root).scheme != "s3":
                raise MetaflowS3URLException(
                    "s3root needs to be an S3 URL prefixed with s3://.",
                    hint=f"{s3root!r} is not one: write s3://BUCKET/PREFIX.",
                )
            self._s3root = s3root.rstrip("/")
        else:
            self._s3root = None
        self._encryption = encryption
        self._tmpdir: str | None = tempfile.mkdtemp(dir=tmproot, prefix="ketch.s3.")
        self._buckets: dict[str, Bucket] = {}
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> S3:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete every file downloaded by this helper, and stop its threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for bucket in self._buckets.values():
            bucket.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    # -- listing --------------------------------------------------------------------------
    def list_paths(self, keys: Iterable[str | None] | None = None) -> list[S3Object]:
        """The objects and the folders (``exists`` False) one level under each key."""

        def level(key: str | None) -> list[S3Object]:
            prefix_url = self._url(key).rstrip("/") + "/"
            bucket, path = self._split(prefix_url)
            objects, folders = bucket.listing(path, recursive=False)
            found = [S3Object(prefix_url, bucket.url(k), None, size) for k, size in objects]
            return found + [S3Object(prefix_url, bucket.url(f)) for f in folders]

        return self._each(level, [None] if keys is None else list(keys))

    def list_recursive(self, keys: Iterable[str | None] | None = None) -> list[S3Object]:
        """Every object under each key (a folder: ``a`` lists ``a/...``)."""

        def tree(key: str | None) -> list[S3Object]:
            prefix_url = self._url(key)
            bucket, path = self._split(prefix_url)
            objects, _ = bucket.listing(path, recursive=True)
            return [S3Object(prefix_url, bucket.url(k), None, size) for k, size in objects]

        return self._each(tree, [None] if keys is None else list(keys))

    # -- metadata -------------------------------------------------------------------------
    def info(self, key: str | None = None, return_missing: bool = False) -> S3Object:
        """Size, content type, metadata and time of one object (one HEAD request)."""
        url = self._url(key)
        bucket, path = self._split(url)
        try:
            found = bucket.info(path)
        except MetaflowS3NotFound:
            if return_missing:
                return S3Object(self._s3root, url)
            raise
        return self._described(url, None, found, ranged=False)

    def info_many(self, keys: Iterable[str], return_missing: bool = False) -> list[S3Object]:
        """``info`` of many objects, in parallel."""
        return self._map(lambda key: self.info(key, return_missing), list(keys))

    # -- downloads ------------------------------------------------------------------------
    def get(
        self, key: Key = None, return_missing: bool = False, return_info: bool = True
    ) -> S3Object:
        """Download one object (or an ``S3GetObject`` range of it) to a temporary file."""
        url = self._url(key)
        bucket, path = self._split(url)
        local = self._temp_path()
        try:
            found = bucket.download(path, local, _range_of(key))
        except MetaflowS3NotFound:
            os.unlink(local)
            if return_missing:
                return S3Object(self._s3root, url)
            raise
        if not return_info:
            return S3Object(self._s3root, url, local)
        return self._described(url, local, found, ranged=True)

    def get_many(
        self, keys: Iterable[Key], return_missing: bool = False, return_info: bool = True
    ) -> list[S3Object]:
        """``get`` of many objects, in parallel, in the order given."""
        return self._map(lambda key: self.get(key, return_missing, return_info), list(keys))

    def get_recursive(
        self, keys: Iterable[str | None], return_info: bool = False
    ) -> list[S3Object]:
        """Download every object under each key (a folder: ``a`` is ``a/...``)."""
        listed = [(o.prefix, o.url) for o in self.list_recursive(list(keys))]

        def one(item: tuple[str | None, str]) -> S3Object:
            prefix, url = item
            bucket, path = self._split(url)
            local = self._temp_path()
            found = bucket.download(path, local)
            if return_info:  # Metaflow gives these keys relative to the root, not the prefix
                return self._described(url, local, found, ranged=True)
            return S3Object(prefix, url, local)

        return self._map(one, listed)

    def get_all(self, return_info: bool = False) -> list[S3Object]:
        """Download every object under the root (needs ``run`` or ``s3root``)."""
        if self._s3root is None:
            raise MetaflowS3URLException(
                "Can't get_all() when S3 is initialized without a prefix",
                hint="Make the helper with S3(run=self) or S3(s3root='s3://BUCKET/PREFIX').",
            )
        return self.get_recursive([None], return_info)

    # -- uploads --------------------------------------------------------------------------
    def put(
        self,
        key: str | S3PutObject,
        obj: PutValue,
        overwrite: bool = True,
        content_type: str | None = None,
        metadata: dict[str, object] | None = None,
    ) -> str:
        """Upload text (as UTF-8), bytes or a readable, seekable binary file; its URL. With
        ``overwrite=False`` an existing object is left as it is."""
        name = getattr(key, "key", key)
        source = _source(name, obj)
        url = self._url(name)
        bucket, path = self._split(url)
        bucket.upload(
            path, source, attributes=_attributes(content_type, metadata), overwrite=overwrite
        )
        return url

    def put_many(
        self, key_objs: Iterable[tuple[str, PutValue] | S3PutObject], overwrite: bool = True
    ) -> list[tuple[str, str]]:
        """Upload many values in parallel; ``(key, url)`` of each one uploaded."""
        items = []
        for item in key_objs:
            if isinstance(item, S3PutObject):
                value: Any = item.value
                items.append((item.key, _source(item.key, value), item.content_type, item.metadata))
            else:
                items.append((item[0], _source(item[0], item[1]), None, None))
        return self._upload_all(items, overwrite)

    def put_files(
        self, key_paths: Iterable[tuple[str, str] | S3PutObject], overwrite: bool = True
    ) -> list[tuple[str, str]]:
        """Upload many local files in parallel (large ones in parts); ``(key, url)`` of each
        one uploaded."""
        items = []
        for item in key_paths:
            if isinstance(item, S3PutObject):
                key, path, ctype, meta = item.key, item.path, item.content_type, item.metadata
            else:
                key, path, ctype, meta = item[0], item[1], None, None
            if path is None or not os.path.exists(path):
                raise MetaflowS3NotFound(
                    f"Local file not found: {path}",
                    hint=f"Give put_files an existing file for the key {key!r}.",
                )
            items.append((key, Path(path), ctype, meta))
        return self._upload_all(items, overwrite)

    def _upload_all(
        self, items: list[tuple[Any, Any, Any, Any]], overwrite: bool
    ) -> list[tuple[str, str]]:
        def one(item: tuple[str, Any, str | None, Any]) -> tuple[str, str] | None:
            key, source, content_type, metadata = item
            url = self._url(key)
            bucket, path = self._split(url)
            attributes = _attributes(content_type, metadata)
            stored = bucket.upload(path, source, attributes=attributes, overwrite=overwrite)
            return (key, url) if stored else None

        return [done for done in self._map(one, items) if done is not None]

    # -- helpers --------------------------------------------------------------------------
    def _url(self, key: Any) -> str:
        """The full URL of ``key`` (a key, a URL, an ``S3GetObject``...), as Metaflow's rules
        allow it: relative keys need a root, full URLs need none."""
        key = getattr(key, "key", key)
        if self._s3root is None:
            parsed = urlparse(key or "", allow_fragments=False)
            if parsed.scheme == "s3" and parsed.path:
                return str(key)
            from ..flow import current

            if current.is_running_flow:
                raise MetaflowS3URLException(
                    "Specify S3(run=self) when you use S3 inside a running flow. Otherwise "
                    "you have to use S3 with full s3:// urls.",
                    hint=f"{key!r} is not a full s3://BUCKET/KEY URL.",
                )
            raise MetaflowS3URLException(
                "Initialize S3 with an 's3root' or 'run' if you don't want to specify full "
                "s3:// urls.",
                hint=f"{key!r} is not a full s3://BUCKET/KEY URL.",
            )
        if key:
            if key.startswith("s3://"):
                raise MetaflowS3URLException(
                    "Don't use absolute S3 URLs when the S3 client is initialized with a "
                    f"prefix. URL: {key}",
                    hint=f"Give keys relative to {self._s3root}, or use an S3() without root.",
                )
            return f"{self._s3root}/{key.lstrip('/')}"
        return self._s3root

    def _split(self, url: str) -> tuple[Bucket, str]:
        """The bucket (one client each, kept) and the key of ``url``."""
        parsed = urlparse(url, allow_fragments=False)
        if not parsed.netloc:
            raise MetaflowS3URLException(
                f"{url!r} names no bucket.", hint="Write S3 URLs as s3://BUCKET/KEY."
            )
        key = parsed.path.lstrip("/")
        if "//" in key.rstrip("/"):
            raise MetaflowS3URLException(
                f"{url!r} has an empty path segment ('//'), which the object store client "
                "cannot address.",
                hint="Remove the doubled slash from the key.",
            )
        bucket = self._buckets.get(parsed.netloc)
        if bucket is None:
            bucket = self._buckets.setdefault(
                parsed.netloc, Bucket(parsed.netloc, encryption=self._encryption)
            )
        return bucket, key

    def _temp_path(self) -> str:
        if self._tmpdir is None:
            raise UserError(
                "This S3 helper was closed: its downloads were deleted with it.",
                hint="Download inside the 'with S3(...)' block, or make a new S3().",
                headline="S3 helper closed",
            )
        fd, path = tempfile.mkstemp(dir=self._tmpdir, prefix="ketch.s3.get.")
        os.close(fd)
        return path

    def _described(self, url: str, local: str | None, found: Info, *, ranged: bool) -> S3Object:
        return S3Object(
            self._s3root,
            url,
            local,
            found.size,
            content_type=found.content_type,
            metadata=found.metadata,
            range_info=found.range_info if ranged else None,
            last_modified=found.last_modified,
        )

    def _map(self, work: Callable[[T], R], items: Sequence[T]) -> list[R]:
        if len(items) <= 1:
            return [work(item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="ketch-s3")
        return list(self._pool.map(work, items))

    def _each(self, work: Callable[[Any], list[S3Object]], keys: list[Any]) -> list[S3Object]:
        return [found for listed in self._map(work, keys) for found in listed]


def _require_obstore() -> None:
    try:
        import obstore  # noqa: F401
    except ImportError:
        raise UserError(
            "S3 needs the library ketch reaches object stores with (obstore), which is not "
            "installed.",
            hint="Install it with: pip install 'ketch[s3]'",
            headline="Object storage support is not installed",
        ) from None


def _range_of(key: Key) -> Any:
    """obstore's range option for an ``S3GetObject``; None for a whole object."""
    offset, length = getattr(key, "offset", None), getattr(key, "length", None)
    if offset is None and length is None:
        return None
    start = offset or 0
    if length is None:
        return {"offset": start}
    if length < 0:
        return {"suffix": -length}
    return (start, start + length)


def _source(key: object, obj: object) -> bytes | IO[bytes]:
    """What to upload for ``obj``: text as UTF-8, bytes, or a readable, seekable file."""
    if isinstance(obj, (io.RawIOBase, io.BufferedIOBase)):  # a text file is not one
        if not obj.readable() or not obj.seekable():
            raise MetaflowS3InvalidObject(
                f"Object corresponding to the key '{key}' is not readable or seekable",
                hint="Pass bytes, text or a file opened with open(path, 'rb').",
            )
        return cast(IO[bytes], obj)
    if isinstance(obj, str):
        return obj.encode("utf-8")
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj)
    raise MetaflowS3InvalidObject(
        f"Object corresponding to the key '{key}' is not a string or a bytes object.",
        hint=f"Got {type(obj).__name__}: convert it (str(), pickle.dumps(), json.dumps()).",
    )


def _attributes(content_type: str | None, metadata: object) -> dict[str, str]:
    """The object's attributes: its content type, and ``metadata`` as JSON in the header
    where Metaflow keeps it (so either side reads what the other wrote)."""
    attributes: dict[str, str] = {}
    if content_type:
        attributes["Content-Type"] = content_type
    if metadata:
        attributes[USER_ATTRIBUTES] = json.dumps(metadata)
    return attributes
