"""Reading cards back: ``get_cards`` for people, ``list_cards`` and friends for the UI.

A task's cards are listed in its private ``_cards`` artifact (a list of dicts, one per card:
type, id, key, position, error); each card's HTML is a blob under that key. While a task runs,
``live_card_html`` returns the latest HTML the task wrote with ``current.card.refresh()``; the
UI polls it and switches to the stored card once the task has finished.
"""

from __future__ import annotations

import html
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from ..exceptions import NotFoundError
from ._records import CARDS_ARTIFACT, CardRecord, live_key

if TYPE_CHECKING:
    from ..client import Task
    from ..datastore import BlobStore
    from ..metadata._records import ArtifactRecord


class Card:
    """One stored card of a task.

    Examples
    --------
    >>> card = get_cards("TrainFlow/12/train/3")[0]  # doctest: +SKIP
    >>> card.type, card.id, card.get()[:15]  # doctest: +SKIP
    ('default', None, '<!DOCTYPE html>')
    """

    def __init__(self, record: CardRecord, pathspec: str, blobs: BlobStore) -> None:
        self._record = record
        self._blobs = blobs
        self.pathspec = pathspec

    @property
    def type(self) -> str:
        return self._record.type

    @property
    def id(self) -> str | None:
        return self._record.id

    @property
    def hash(self) -> str:
        """The hash of the card's HTML (its blob's content hash)."""
        from ..datastore import content_hash

        return content_hash(self._record.key)

    @property
    def position(self) -> int:
        return self._record.position

    @property
    def error(self) -> str | None:
        """Why rendering failed (the stored HTML is then an error card), else None."""
        return self._record.error

    @property
    def path(self) -> str | None:
        """The local file holding the card's HTML (None for a non-local datastore)."""
        storage: Any = self._blobs.storage
        if not hasattr(storage, "path"):
            return None
        return str(storage.path(self._blobs._path(self.hash)))

    def get(self) -> str:
        """The card's HTML."""
        return read_card_html(self._blobs, self.hash)

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the HTML to ``path`` (default: a file in the temp directory); returns it."""
        if path is None:
            name = self.pathspec.replace("/", "_") + f"_{self.position}.html"
            path = Path(tempfile.gettempdir()) / "ketch-cards" / name
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.get(), encoding="utf-8")
        return target

    def view(self) -> str:
        """Save the card to a temp file and open it in a browser, or print its path."""
        target = self.save()
        if not open_in_browser(target):
            print(target)
        return str(target)

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.get(), quote=True)}" '
            'style="width:100%;height:600px;border:1px solid #d0d7de"></iframe>'
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Card) and (other.pathspec, other._record) == (
            self.pathspec,
            self._record,
        )

    def __hash__(self) -> int:
        return hash((self.pathspec, self.hash, self.position))

    def __repr__(self) -> str:
        card_id = f" id={self.id!r}" if self.id else ""
        return f"<Card {self.pathspec} {self.type}{card_id} {self.hash[:12]}>"


class CardContainer(Sequence[Card]):
    """The cards of a task, in the order of their decorators (a read-only list)."""

    def __init__(self, cards: Iterable[Card]) -> None:
        self._cards = list(cards)

    @overload
    def __getitem__(self, index: int) -> Card: ...

    @overload
    def __getitem__(self, index: slice) -> CardContainer: ...

    def __getitem__(self, index: int | slice) -> Card | CardContainer:
        if isinstance(index, slice):
            return CardContainer(self._cards[index])
        return self._cards[index]

    def __len__(self) -> int:
        return len(self._cards)

    def __iter__(self) -> Iterator[Card]:
        return iter(self._cards)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (CardContainer, list, tuple)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking container, like list

    def _repr_html_(self) -> str:
        return "".join(card._repr_html_() for card in self._cards)

    def __repr__(self) -> str:
        return f"CardContainer({self._cards!r})"


def _task(task: Task | str) -> Task:
    from ..client import Task

    return Task(task) if isinstance(task, str) else task


def list_cards(task: Task | str) -> list[CardRecord]:
    """The card records of a task (a client ``Task`` or a task pathspec), in order."""
    task = _task(task)
    if CARDS_ARTIFACT not in task:
        return []
    return records_from_value(task[CARDS_ARTIFACT].data)


def get_cards(
    task: Task | str, id: str | None = None, type: str | None = None, follow_resumed: bool = True
) -> CardContainer:
    """The cards of a task, optionally only those with ``id`` or of ``type``.

    A task cloned by ``resume`` shows its origin's cards (``follow_resumed`` is accepted for
    Metaflow compatibility: the clone records them itself).

    Examples
    --------
    >>> from ketch.cards import get_cards
    >>> cards = get_cards("TrainFlow/12/train/3", id="summary")  # doctest: +SKIP
    >>> cards[0].view()  # doctest: +SKIP
    """
    task = _task(task)
    blobs = task._run._blobs  # where this run stored its bytes, not the reader's own store
    return CardContainer(
        Card(record, task.pathspec, blobs)
        for record in list_cards(task)
        if (id is None or record.id == id) and (type is None or record.type == type)
    )


def records_from_value(value: Any) -> list[CardRecord]:
    """Card records from the value of a ``_cards`` artifact."""
    if not isinstance(value, list):
        return []
    return sorted(
        (CardRecord.from_dict(item) for item in value if isinstance(item, dict)),
        key=lambda r: r.position,
    )


def read_card_records(blobs: BlobStore, artifacts: Iterable[ArtifactRecord]) -> list[CardRecord]:
    """Card records from a task attempt's artifact records (for readers without the client)."""
    from ..datastore import load_artifact

    for record in artifacts:
        if record.name == CARDS_ARTIFACT:
            return records_from_value(load_artifact(blobs, record.key))
    return []


def read_card_html(blobs: BlobStore, key: str) -> str:
    """The HTML of a stored card, by its blob key."""
    return bytes(blobs.get(key)).decode("utf-8", errors="replace")


def live_card_html(
    datastore_url: str | os.PathLike[str], run_id: int | str, task_id: int | str, position: int
) -> str | None:
    """The latest HTML a running task wrote for its card at ``position``, or None.

    ``datastore_url`` is the datastore's URL or directory (by default the ``.ketch``
    directory). The value changes while the task runs (each ``current.card.refresh()``, at
    most every 0.5 s) and ends as the final card.
    """
    from ..datastore import open_storage

    storage = open_storage(os.fspath(datastore_url), read_only=True)
    try:
        data = storage.get(live_key(run_id, task_id, position))
    except KeyError:
        return None
    return bytes(data).decode("utf-8", errors="replace")


def open_in_browser(path: Path) -> bool:
    """Open ``path`` in a web browser if one is usable here (never under CI); True if opened."""
    if os.environ.get("CI"):
        return False
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False  # a text browser would take over the terminal
    import webbrowser

    try:
        return webbrowser.open(path.resolve().as_uri())
    except webbrowser.Error:
        return False


def require_cards(task: Task, cards: Sequence[Card], id: str | None, type: str | None) -> None:
    """Raise a clear error when a task has no (matching) card."""
    if cards:
        return
    which = " ".join(p for p in (f"id={id}" if id else "", f"type={type}" if type else "") if p)
    raise NotFoundError(
        f"Task '{task.pathspec}' has no card{' with ' + which if which else ''}.",
        hint="Add @card to the step (or run with --with card); list cards with 'card list'.",
    )
