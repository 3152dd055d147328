"""The :class:`Storage` backend for object stores (S3 and S3-compatible servers, GCS, Azure).

Fast by construction rather than by tuning:

- one request for a small object (a GET of its first ``FIRST_BYTES`` also tells the size);
  a large one comes in ``CHUNK_BYTES`` ranges fetched by ``WORKERS`` threads at once, each
  written straight into its place in the result (a buffer or a cache file), so an object is
  never held twice;
- a large upload is a multipart upload fed from the caller's buffers piece by piece, with
  ``WORKERS`` parts in flight;
- no request asks whether an object exists before it is written: keys name their content, so
  writing again is harmless (see ``BlobStore`` for what it skips).

Failures: a request that fails for a reason that may pass (the server unreachable or
overloaded, a timeout, a 5xx) is retried ``ATTEMPTS`` times with doubling pauses, each retry
announced on stderr; then :class:`~ketch.exceptions.StoreUnreachableError` names the endpoint
and the object. Refused credentials and a missing bucket fail at once.
"""

from __future__ import annotations

import io
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from ..exceptions import (
    DataIntegrityError,
    InternalError,
    KetchException,
    StoreAccessError,
    StoreUnreachableError,
)
from ._cloud import Location, connect

if TYPE_CHECKING:
    from obstore.store import ObjectStore

    from ._storage import Buffer

T = TypeVar("T")
Entries = list[tuple[str, int, int]]  # (name, last modified in ns, size)

FIRST_BYTES = 8 << 20  # one GET reads objects up to this size whole
CHUNK_BYTES = 16 << 20  # the size of each range fetched, and of each uploaded part
SINGLE_PUT_MAX = 16 << 20  # larger objects are uploaded in parts
WORKERS = 8
ATTEMPTS = 5
FIRST_PAUSE = 0.25  # seconds before the first retry; doubles after each

_TRANSIENT = (
    "error sending request",
    "connection",
    "timed out",
    "timeout",
    "status code: 5",
    "slowdown",
    "broken pipe",
    "reset by peer",
    "incomplete",
    "error decoding response body",
)


_used_in: int | None = None  # the process whose requests started obstore's threads
_forked_from: int | None = None  # set in a child forked from such a process


def _after_fork_in_child() -> None:
    global _forked_from
    if _used_in is not None and _forked_from is None:
        _forked_from = _used_in


os.register_at_fork(after_in_child=_after_fork_in_child)


def _check_not_forked() -> None:
    """obstore's threads do not survive a fork: a request from a child forked after its
    parent used them would wait forever. Fail clearly instead."""
    if _forked_from is not None:
        raise InternalError(
            f"This process was forked from process {_forked_from} after that process had "
            "used the object store client, which does not survive a fork: it cannot read or "
            "write the datastore.",
            hint="Start worker processes with multiprocessing's 'spawn' or 'forkserver' "
            "method, or read the artifacts they need before forking.",
        )


class ObjectStorage:
    """Objects in a bucket under a prefix. Safe to share between threads.

    The errors a request ends in are made by ``_no_bucket``, ``_refused`` and ``_unreachable``:
    a subclass that serves another API (the ``S3`` helper) words them for its users.
    """

    remote = True

    def __init__(self, where: Location, *, read_only: bool = False) -> None:
        self.where = where
        self.read_only = read_only
        self._store: ObjectStore | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> ObjectStore:
        """The client, made on first use (no thread or connection exists before)."""
        global _used_in
        _check_not_forked()
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._connect()
        _used_in = _used_in or os.getpid()
        return self._store

    def _connect(self) -> ObjectStore:
        return connect(self.where)

    def _workers(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="ketch-store")
        return self._pool

    def close(self) -> None:
        """Stop the worker threads (a later request starts them again)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    # -- writing ---------------------------------------------------------------------------
    def put(self, key: str, parts: Iterable[Buffer], *, pack: bool = False) -> None:
        import obstore

        if self.read_only:
            raise InternalError(
                f"The datastore {self.where.url} was opened read-only, yet ketch tried to "
                f"store {key!r}.",
                hint="Readers (the Client, the UI) open the datastore read-only.",
            )
        if not isinstance(parts, Sequence):  # a stream, read once: no retry can replay it
            source = _Source(parts)
            try:
                self._call(
                    "PUT", key, lambda: obstore.put(self.store, key, source, **_parts()), attempts=1
                )
            except KetchException:
                if source.error is not None:  # the stream failed, not the store: say so
                    raise source.error from None
                raise
            return
        views = [memoryview(p).cast("B") for p in parts]
        if sum(v.nbytes for v in views) <= SINGLE_PUT_MAX:
            body: Buffer = views[0] if len(views) == 1 else b"".join(views)
            self._call("PUT", key, lambda: obstore.put(self.store, key, body, use_multipart=False))
        else:
            self._call("PUT", key, lambda: obstore.put(self.store, key, _pieces(views), **_parts()))

    # -- reading ---------------------------------------------------------------------------
    def get(self, key: str) -> memoryview:
        buffers: list[memoryview] = []

        def sink(size: int) -> Callable[[int, Buffer], None]:
            view, write = memory_sink(size)
            buffers.append(view)
            return write

        self.fetch(key, sink)
        return buffers[0]

    def fetch(
        self,
        key: str,
        sink: Callable[[int], Callable[[int, Buffer], None]],
        *,
        first: Callable[[Any], None] | None = None,
    ) -> int:
        """Read object ``key`` into ``sink(size)``, a function that writes bytes at an offset
        (called from several threads, for disjoint ranges); its size. ``KeyError`` if absent.
        ``first``, if given, sees obstore's result of the first request (its ``meta`` and
        ``attributes``); an empty object has none.
        """
        import obstore

        def head_of_object() -> tuple[Any, Any]:
            result = obstore.get(self.store, key, options={"range": (0, FIRST_BYTES)})
            return result, result.bytes()

        head = self._call("GET", key, head_of_object)
        if head is None:  # an empty object has no range to ask for
            write = sink(0)
            return 0
        result, data = head
        if first is not None:
            first(result)
        size = int(result.meta["size"])
        write = sink(size)
        write(0, data)
        starts = range(len(memoryview(data)), size, CHUNK_BYTES)

        def fetch_range(start: int) -> None:
            end = min(start + CHUNK_BYTES, size)
            got = self._call(
                "GET", key, lambda: obstore.get_range(self.store, key, start=start, end=end)
            )
            view = memoryview(got)
            if len(view) != end - start:
                raise DataIntegrityError(
                    f"{self._name(key)} is shorter than its size said ({size} bytes): it was "
                    "truncated or replaced while it was read."
                )
            write(start, view)

        for _ in self._workers().map(fetch_range, starts):
            pass
        return size

    def open(self, key: str) -> BinaryIO:
        size = self.size(key)
        if size is None:
            raise KeyError(key)
        return io.BufferedReader(_RangeReader(self, key, size), buffer_size=CHUNK_BYTES // 2)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        import obstore

        def request() -> Any:
            return obstore.get_range(self.store, key, start=start, end=end)

        return bytes(self._call("GET", key, request))

    def size(self, key: str) -> int | None:
        import obstore

        try:
            meta = self._call("HEAD", key, lambda: obstore.head(self.store, key))
        except KeyError:
            return None
        return int(meta["size"])

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def missing(self, keys: Iterable[str]) -> set[str]:
        """A HEAD per key, ``WORKERS`` at a time (resume's check of what it clones)."""
        wanted = sorted(set(keys))
        sizes = self._workers().map(self.size, wanted)
        return {key for key, size in zip(wanted, sizes, strict=True) if size is None}

    def list(self, prefix: str = "") -> Iterator[str]:
        import obstore

        def listing() -> list[str]:
            chunks = obstore.list(self.store, prefix or None)
            return [meta["path"] for chunk in chunks for meta in chunk]

        yield from sorted(self._call("LIST", prefix or "/", listing))

    def entries(self, prefix: str) -> Entries:
        """(name under ``prefix``, last modified in ns, size) of each object under it."""
        import obstore

        def listing() -> Entries:
            return [
                (
                    str(meta["path"])[len(prefix) :],
                    int(meta["last_modified"].timestamp() * 1e9),
                    int(meta["size"]),
                )
                for chunk in obstore.list(self.store, prefix)
                for meta in chunk
            ]

        return self._call("LIST", prefix, listing)

    def check(self) -> None:
        """One request that proves the bucket exists and the credentials are accepted."""
        import obstore

        self._call(
            "LIST", "/", lambda: next(iter(obstore.list(self.store, None, chunk_size=1)), None)
        )

    # -- one request, retried --------------------------------------------------------------
    def _call(
        self, verb: str, key: str, request: Callable[[], T], *, attempts: int = ATTEMPTS
    ) -> T:
        """Run ``request``; KeyError for a missing object; retries what may pass. A ketch
        error that ``request`` raises itself is passed on as it is."""
        pause = FIRST_PAUSE
        for attempt in range(1, attempts + 1):
            try:
                return request()
            except KetchException:
                raise
            except FileNotFoundError as exc:
                if "NoSuchBucket" in str(exc):
                    raise self._no_bucket() from None
                raise KeyError(key) from None
            except Exception as exc:
                if "NoSuchBucket" in str(exc):
                    raise self._no_bucket() from None
                reason = short_reason(exc)
                if _is_empty_range(verb, reason):
                    return None  # type: ignore[return-value]
                if _is_refused(exc, reason):
                    raise self._refused(reason) from None
                if not _is_transient(exc, reason) or attempt == attempts:
                    raise self._unreachable(verb, key, reason, attempt) from None
                at = self.where.endpoint or "the store"
                print(
                    f"ketch: {verb} {self._name(key)} failed at {at} ({reason}); "
                    f"retrying in {pause:g} s (attempt {attempt + 1} of {attempts})",
                    file=sys.stderr,
                    flush=True,
                )
                time.sleep(pause)
                pause *= 2
        raise AssertionError("unreachable")

    def _name(self, key: str) -> str:
        return self.where.url if key == "/" else f"{self.where.url}/{key}"

    def _no_bucket(self) -> KetchException:
        return StoreAccessError(
            f"The bucket {self.where.bucket!r} of the datastore {self.where.describe()} "
            "does not exist.",
            hint="Create it (aws s3 mb s3://BUCKET), or fix datastore_url / KETCH_DATASTORE_URL "
            "(and AWS_ENDPOINT_URL if the store is not AWS).",
            headline="The datastore's bucket does not exist",
        )

    def _refused(self, reason: str) -> KetchException:
        return StoreAccessError(
            f"The object store refused the credentials for {self.where.describe()}: {reason}",
            hint="Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE (boto3 reads "
            "them as usual), and that they may read and write the bucket.",
            headline="The datastore refused the credentials",
        )

    def _unreachable(self, verb: str, key: str, reason: str, attempts: int) -> KetchException:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return StoreUnreachableError(
            f"{verb} {self._name(key)} failed{tries}: the object store at "
            f"{self.where.endpoint or self.where.url} {reason}.",
            hint="Check that the server is up and reachable (AWS_ENDPOINT_URL for a server "
            "that is not AWS); once it is back, 'resume' the run: finished tasks are kept.",
        )


def _parts() -> dict[str, Any]:
    return {"chunk_size": CHUNK_BYTES, "max_concurrency": WORKERS}


def memory_sink(size: int) -> tuple[memoryview, Callable[[int, Buffer], None]]:
    """A writable buffer of ``size`` bytes (arrays unpickled from it must be writable), and
    a function that writes bytes into it at an offset (a `fetch` sink's writer)."""
    view = memoryview(bytearray(size))

    def write(offset: int, data: Buffer) -> None:
        chunk = memoryview(data).cast("B")
        view[offset : offset + chunk.nbytes] = chunk

    return view, write


class _Source:
    """A caller's stream of parts, as obstore reads it; keeps the error the stream raised."""

    def __init__(self, parts: Iterable[Buffer]) -> None:
        self._parts = iter(parts)
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[memoryview]:
        return self

    def __next__(self) -> memoryview:
        try:
            return memoryview(next(self._parts)).cast("B")
        except StopIteration:
            raise
        except BaseException as exc:
            self.error = exc
            raise


def _pieces(views: Sequence[memoryview]) -> Iterator[memoryview]:
    """The buffers in pieces of at most ``CHUNK_BYTES`` (obstore copies one piece at a time)."""
    for view in views:
        for start in range(0, view.nbytes, CHUNK_BYTES):
            yield view[start : start + CHUNK_BYTES]


def short_reason(exc: BaseException) -> str:
    """What went wrong, short, from obstore's long message (which holds the URL, the
    server's XML and a debug dump): ``answered 503 Service Unavailable (SlowDown)``."""
    text = str(exc).split("\n\nDebug source", 1)[0]
    status = re.search(r"status code: (\d{3}[^:<]*)", text)
    if status:
        code = re.search(r"<Code>([^<]+)</Code>", text)
        return f"answered {status.group(1).strip()}" + (f" ({code.group(1)})" if code else "")
    lowered = text.lower()
    if "error sending request" in lowered or "connect" in lowered:
        return "could not be reached (the connection failed)"
    if "timed out" in lowered or "timeout" in lowered:
        return "did not answer in time"
    lines = [line for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]


def _is_transient(exc: BaseException, reason: str) -> bool:
    if reason.startswith("answered "):
        return reason.startswith(("answered 5", "answered 429")) or "SlowDown" in reason
    lowered = f"{reason} {str(exc)[:2000]}".lower()
    return any(marker in lowered for marker in _TRANSIENT)


def _is_refused(exc: BaseException, reason: str) -> bool:
    import obstore.exceptions as errors

    if isinstance(exc, (errors.PermissionDeniedError, errors.UnauthenticatedError)):
        return True
    lowered = reason.lower()
    return any(
        marker in lowered
        for marker in ("403 forbidden", "invalidaccesskeyid", "signaturedoesnotmatch", "401")
    )


def _is_empty_range(verb: str, reason: str) -> bool:
    return verb == "GET" and reason.startswith("answered 416")


class _RangeReader(io.RawIOBase):
    """An object read from its start in ranges (each request retried as any other)."""

    def __init__(self, storage: ObjectStorage, key: str, size: int) -> None:
        self._storage, self._key, self._size, self._pos = storage, key, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        end = min(self._pos + view.nbytes, self._size)
        if end <= self._pos:
            return 0
        data = self._storage.read_range(self._key, self._pos, end)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)
