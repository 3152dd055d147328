"""``current.card``: the cards of the running step and the components appended to them.

The collector lives in a context variable that the task process sets when its step has at
least one ``@card``; outside such a step ``current.card`` raises a clear error. ``refresh()``
renders a card's current HTML and writes it to a mutable storage key (see ``_live``), at most
once per ``LIVE_INTERVAL`` seconds per card unless forced; a refresh that comes too early is
written when the interval has passed, so the last state always reaches the store.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from ..datastore import Storage
from ..exceptions import UserError
from ._records import CardSpec, live_key

LIVE_INTERVAL = 0.5

_collector: ContextVar[CardCollector | None] = ContextVar("ketch_card_collector", default=None)


class CardHandle:
    """One card of the running step: ``current.card["id"]`` (or the default card).

    Examples
    --------
    >>> current.card["summary"].append(Markdown("# Done"))  # doctest: +SKIP
    """

    def __init__(self, spec: CardSpec, position: int, live: LiveWriter | None = None) -> None:
        self.spec = spec
        self.position = position
        self._live = live
        self._items: list[Any] = []
        self._by_id: dict[str, Any] = {}

    @property
    def type(self) -> str:
        return self.spec.type

    @property
    def id(self) -> str | None:
        return self.spec.id

    def append(self, component: Any, id: str | None = None) -> None:
        """Add a component; with ``id`` it can be found again in ``components[id]``."""
        if id is not None:
            try:
                component.component_id = id
            except AttributeError:
                pass
            self._by_id[id] = component
        self._items.append(component)

    def extend(self, components: Iterable[Any]) -> None:
        for component in components:
            self.append(component)

    def clear(self) -> None:
        self._items.clear()
        self._by_id.clear()

    def refresh(self, data: Any = None, force: bool = False) -> None:
        """Write this card's current HTML for live viewers (rate-limited unless ``force``)."""
        if self._live is not None:
            self._live.request(self, force=force)

    @property
    def components(self) -> Mapping[str, Any]:
        """The components appended with an ``id``, by id."""
        return MappingProxyType(self._by_id)

    def snapshot(self) -> list[Any]:
        return list(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        name = f" id={self.id!r}" if self.id else ""
        return f"<card {self.type}{name}: {len(self)} components>"


class CardCollector:
    """What ``current.card`` is in a step with ``@card``.

    ``append``, ``extend``, ``clear`` and ``components`` act on the default card: the one with
    ``customize=True``, else the first card without an id, else the first card.
    ``current.card["id"]`` is the card whose decorator has that id.
    """

    def __init__(self, handles: list[CardHandle]) -> None:
        self.handles = handles

    @property
    def default(self) -> CardHandle:
        for handle in self.handles:
            if handle.spec.customize:
                return handle
        return next((h for h in self.handles if h.id is None), self.handles[0])

    def append(self, component: Any, id: str | None = None) -> None:
        self.default.append(component, id=id)

    def extend(self, components: Iterable[Any]) -> None:
        self.default.extend(components)

    def clear(self) -> None:
        self.default.clear()

    @property
    def components(self) -> Mapping[str, Any]:
        return self.default.components

    def refresh(self, data: Any = None, force: bool = False) -> None:
        """Write every card's current HTML for live viewers (see ``CardHandle.refresh``)."""
        for handle in self.handles:
            handle.refresh(data, force=force)

    def __getitem__(self, card_id: str) -> CardHandle:
        for handle in self.handles:
            if handle.id == card_id:
                return handle
        ids = [h.id for h in self.handles if h.id]
        raise UserError(
            f"This step has no @card with id '{card_id}'.",
            hint=f"Card ids of this step: {', '.join(ids)}."
            if ids
            else "Give the card an id: @card(id='...').",
        )

    def __setitem__(self, card_id: str, components: Iterable[Any]) -> None:
        handle = self[card_id]
        handle.clear()
        handle.extend(components)

    def __repr__(self) -> str:
        return f"<current.card: {', '.join(repr(h) for h in self.handles)}>"


class LiveWriter:
    """Writes cards' HTML to their live key, at most once per ``interval`` per card."""

    def __init__(
        self,
        storage: Storage,
        run_id: int | str,
        task_id: int | str,
        render: Callable[[CardHandle], str],
        interval: float = LIVE_INTERVAL,
    ) -> None:
        self.storage = storage
        self.run_id, self.task_id = run_id, task_id
        self.render = render
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[int, float] = {}
        self._timers: dict[int, threading.Timer] = {}
        self._closed = False
        self._warned = False

    def request(self, handle: CardHandle, *, force: bool = False) -> None:
        with self._lock:
            if self._closed:
                return
            wait = self._last.get(handle.position, -1e9) + self.interval - time.monotonic()
            if force or wait <= 0:
                self._write(handle)
            elif handle.position not in self._timers:
                timer = threading.Timer(wait, self._deferred, args=(handle,))
                timer.daemon = True
                self._timers[handle.position] = timer
                timer.start()

    def _deferred(self, handle: CardHandle) -> None:
        with self._lock:
            self._timers.pop(handle.position, None)
            if not self._closed:
                self._write(handle)

    def _write(self, handle: CardHandle) -> None:
        pending = self._timers.pop(handle.position, None)
        if pending is not None:
            pending.cancel()
        self._last[handle.position] = time.monotonic()
        try:
            html = self.render(handle)
            self.put(handle.position, html)
        except Exception as exc:  # a live view must never fail the step
            if not self._warned:
                self._warned = True
                print(f"ketch: a live card update failed: {exc!r}", file=sys.stderr)

    def put(self, position: int, html: str) -> None:
        key = live_key(self.run_id, self.task_id, position)
        self.storage.put(key, [html.encode("utf-8")])

    def written(self, position: int) -> bool:
        return position in self._last

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()


def install(collector: CardCollector | None) -> None:
    _collector.set(collector)


def current_card() -> CardCollector:
    """The running step's cards; a clear error outside a step with ``@card``."""
    collector = _collector.get()
    if collector is None:
        raise UserError(
            "current.card is only available in a step decorated with @card.",
            hint="Add @card to the step (or run with --with card).",
        )
    return collector
