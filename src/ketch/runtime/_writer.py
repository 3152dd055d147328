"""The scheduler's one metadata writer.

Records are applied on a thread of their own, as many per transaction as have queued up, so
the scheduling loop never waits on the database. The thread also opens the store: importing
the SQL layer and creating the run record overlap with the first tasks instead of delaying
them (the run id is chosen up front, see ``ketch.metadata.new_run_id``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from ..metadata import MetadataStore

Write = Callable[[MetadataStore], None]
_MAX_BATCH = 5000


class RecordWriter:
    """Queue metadata writes; ``flush()`` waits until all queued writes are committed and
    raises the first error the writer met."""

    def __init__(self, open_store: Callable[[], MetadataStore]) -> None:
        self._open = open_store
        self._queue: queue.Queue[Write | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="ketch-metadata", daemon=True)
        self._thread.start()

    def put(self, write: Write) -> None:
        self._raise()
        self._queue.put(write)

    def flush(self) -> None:
        self._queue.join()
        self._raise()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        store: MetadataStore | None = None
        try:
            store = self._open()
        except BaseException as exc:  # reported to the scheduler on its next put/flush
            self._error = exc
        try:
            while self._drain(store):
                pass
        finally:
            if store is not None:
                store.close()

    def _drain(self, store: MetadataStore | None) -> bool:
        items = [self._queue.get()]
        while len(items) < _MAX_BATCH:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        writes = [w for w in items if w is not None]
        try:
            if writes and store is not None and self._error is None:
                with store.batch():
                    for write in writes:
                        write(store)
        except BaseException as exc:
            self._error = exc
        finally:
            for _ in items:
                self._queue.task_done()
        return len(writes) == len(items)
