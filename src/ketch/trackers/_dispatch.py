"""The dispatcher: forwards a run's records to its trackers from one background thread.

The scheduler's record writer hands every sending of records to :meth:`Dispatcher.observe`
(one queue put: the scheduler never waits on a tracker); the dispatcher's thread turns the
records into tracker calls (``_events``) and makes them, one tracker after the other. A tracker
that cannot be loaded or raises is disabled for the rest of the run with ONE warning that names
it, the error and how to fix it; the run and its metrics in ketch are not affected. The links
the trackers give back (:class:`ExternalLink`) go back to the writer through
:meth:`Dispatcher.writes`. :meth:`Dispatcher.close` waits a bounded time for the trackers to
finish the run.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..metadata._records import RunLinkRecord
from ._api import ExternalLink, RunInfo, Tracker
from ._events import Event, Translator
from ._registry import BUILTINS, check_name, load_tracker, tracker_hint, tracker_names

if TYPE_CHECKING:
    from ..runtime._writer import Op

Warn = Callable[[str], None]
# How long the end of a run waits for its trackers to send what they still hold.
CLOSE_SECONDS = 60.0


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Sink:
    """One tracker, disabled after its first error."""

    def __init__(self, name: str, warn: Warn) -> None:
        self.name = name
        self.warn = warn
        self.tracker: Tracker | None = None
        self.failed = False

    def load(self) -> None:
        try:
            self.tracker = load_tracker(self.name)
        except Exception as exc:
            self._fail("could not be started", exc)

    def call(self, method: str, *args: Any) -> Any:
        if self.tracker is None or self.failed:
            return None
        try:
            return getattr(self.tracker, method)(*args)
        except Exception as exc:
            self._fail(f"failed in {method}", exc)
            return None

    def _fail(self, what: str, exc: BaseException) -> None:
        self.failed = True
        hint = tracker_hint(self.name, self.tracker)
        self.warn(
            f"ketch: warning: tracker {self.name!r} {what} ({type(exc).__name__}: {exc}); "
            f"it is off for the rest of this run, whose metrics stay in ketch. {hint}."
        )


class Dispatcher:
    """Sends a run's events to its trackers, in one background thread."""

    def __init__(self, names: Sequence[str], warn: Warn = _warn) -> None:
        self.names = list(names)
        self._warn = warn
        self._queue: queue.SimpleQueue[list[Op] | None] = queue.SimpleQueue()
        self._links: list[RunLinkRecord] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="ketch-trackers", daemon=True)
        self._thread.start()

    def observe(self, ops: list[Op]) -> None:
        """Records the writer is sending (called by `RecordWriter.send`)."""
        self._queue.put(ops)

    def writes(self) -> list[Op]:
        """Records to write for the links the trackers gave since the last call."""
        with self._lock:
            links, self._links = self._links, []
        return [("add_run_link", (link,), {}) for link in links]  # `RecordWriter.add_run_link`

    def close(self, timeout: float = CLOSE_SECONDS) -> None:
        """Let the trackers finish (at most ``timeout`` seconds)."""
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._warn(
                f"ketch: warning: the trackers ({', '.join(self.names)}) did not finish "
                f"within {timeout:g} s; what they had not sent is only in ketch."
            )

    def _work(self) -> None:
        sinks = [_Sink(name, self._warn) for name in self.names]
        for sink in sinks:
            sink.load()
        translator = Translator()
        while True:
            ops = self._queue.get()
            events = translator.finish() if ops is None else translator.events(ops)
            for event in events:
                self._dispatch(sinks, event)
            if ops is None:
                return

    def _dispatch(self, sinks: list[_Sink], event: Event) -> None:
        method, args = event
        for sink in sinks:
            result = sink.call(method, *args)
            if method == "start_run" and isinstance(result, ExternalLink):
                self._keep_link(args[0], sink.name, result)

    def _keep_link(self, run: RunInfo, name: str, link: ExternalLink) -> None:
        record = RunLinkRecord(run.run_id, name, link.external_id, link.url, time.time())
        with self._lock:
            self._links.append(replace(record, tracker=link.tracker or name))


def checked_names(setting: str) -> list[str]:
    """The trackers the ``trackers`` setting names; an unknown name is refused (call it before
    the run starts)."""
    names = tracker_names(setting)
    for name in names:
        check_name(name)
    return names


__all__ = ["BUILTINS", "Dispatcher", "checked_names"]
