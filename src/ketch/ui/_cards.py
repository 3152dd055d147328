"""The cards of a task: listed on its page, served as documents, watched while it runs.

A finished task lists its cards in its private ``_cards`` artifact (see `ketch.cards`), and each
card's HTML is a blob. A running task has no such artifact yet: its cards are the files it
writes on each ``current.card.refresh()`` (``cards/live/<run>/<task>/<position>.html`` in the
store), and a live card's version is that file's modification time and size, so a page polling
``/api/-/live/...?task=`` sees it change. A stored card's version is its blob key; once the
task has stored its cards they replace the live ones.

A card is served by ``/-/card/...`` with `card_csp`: nothing fetched, a sandbox, and no script;
a card with a chart may run the Vega bundle it inlines (allowed by hash, nothing else), in a
sandbox without the UI's origin, so that even then no script of a card can read the UI.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cards import CardRecord, live_card_html, read_card_html, read_card_records
from ..cards._bundle import has_chart, script_hashes
from ..cards._records import live_key
from ..datastore import content_hash, local_path, open_storage, scheme_of
from ..exceptions import DataIntegrityError, NotFoundError
from ..metadata import ArtifactRecord, AttemptRecord, RunRecord, TaskRecord
from ._common import choose_attempt, find_run, find_task, path_of
from ._source import Source

# Cards without a chart carry no script and load nothing: the browser is told to allow neither.
_NOTHING = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_NOWHERE = "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
CARD_CSP = f"{_NOTHING}; {_NOWHERE}; sandbox allow-same-origin"


def card_csp(html: str) -> str:
    """`CARD_CSP`, or for a card with a chart: its Vega scripts, in an origin of its own."""
    if not has_chart(html):
        return CARD_CSP
    scripts = " ".join(script_hashes())
    return f"{_NOTHING}; script-src {scripts}; {_NOWHERE}; sandbox allow-scripts"


_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TITLE_SPAN = 4096  # ketch writes the <title> before the styles


@dataclass(frozen=True)
class Slot:
    """One card of a task attempt: stored (``record``) or, while none is stored, live."""

    position: int
    record: CardRecord | None = None
    live: LiveFile | None = None

    @property
    def version(self) -> str:
        if self.record is not None:
            return self.record.key
        assert self.live is not None
        return f"live:{self.live.mtime_ns}:{self.live.size}"


@dataclass(frozen=True)
class LiveFile:
    """When a live card was last written, and its size: its version."""

    mtime_ns: int
    size: int


def find_slots(
    src: Source,
    run: RunRecord,
    task: TaskRecord,
    attempt: AttemptRecord | None,
    artifacts: list[ArtifactRecord],
) -> tuple[list[Slot], dict[str, str] | None]:
    """The cards of one attempt of ``task``, and why its ``_cards`` record cannot be read.

    ``artifacts`` are the attempt's artifact records. Live cards count only for the task's
    latest attempt, and only files written since that attempt started (the key is per task).
    """
    try:
        records = read_card_records(src.blobs_for(run), artifacts)
    except DataIntegrityError as exc:
        return [], _error(exc.headline, exc.detail, exc.hint)
    except Exception as exc:  # an unreadable pickle: report it, keep the page
        return [], _error(
            "The list of cards cannot be read",
            f"{type(exc).__name__}: {exc}",
            "Read the cards with the Client API where the flow runs: get_cards(pathspec).",
        )
    if records:
        return [Slot(r.position, record=r) for r in records], None
    if attempt is None or attempt.attempt != task.attempt:
        return [], None
    files = _live_files(src.datastore_of(run), run.run_id, task.task_id, attempt.started_at)
    return [Slot(position, live=live) for position, live in sorted(files.items())], None


def card_entries(
    src: Source,
    run: RunRecord,
    task: TaskRecord,
    attempt: AttemptRecord | None,
    artifacts: list[ArtifactRecord],
) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
    """The task page's ``cards`` (type, id, position, hash, url, ...) and ``cards_error``.

    Each stored card's blob is read (and so checked): a corrupt one gets an ``error`` and no
    frame, the other cards still show.
    """
    slots, error = find_slots(src, run, task, attempt, artifacts)
    query = (
        "" if attempt is None or attempt.attempt == task.attempt else f"?attempt={attempt.attempt}"
    )
    base = path_of("-", "card", run.flow_name, run.run_id, task.step_name, task.task_id)
    return [_entry(src, run, task, slot, f"{base}/{slot.position}{query}") for slot in slots], error


def _entry(src: Source, run: RunRecord, task: TaskRecord, slot: Slot, url: str) -> dict[str, Any]:
    record = slot.record
    entry: dict[str, Any] = {
        "type": None if record is None else record.type,
        "id": None if record is None else record.id,
        "position": slot.position,
        "hash": None if record is None else content_hash(record.key),
        "url": url,
        "live": record is None,
        "version": slot.version,
        "title": None,
        "chart": False,
        "render_error": None if record is None else record.error,
        "error": None,
    }
    try:
        if record is not None:
            text: str | None = read_card_html(src.blobs_for(run), record.key)
        else:
            text = live_card_html(src.datastore_of(run), run.run_id, task.task_id, slot.position)
    except DataIntegrityError as exc:
        entry["error"] = _error(exc.headline, exc.detail, exc.hint)
        return entry
    entry["title"] = _title(text or "")
    entry["chart"] = has_chart(text or "")
    return entry


def card_versions(src: Source, run: RunRecord, task_id: str) -> list[dict[str, Any]]:
    """The position and version of each card of a task's latest attempt (for polling)."""
    task = find_task(src, run, None, task_id)
    attempts = src.store.list_attempts(run.run_id, task.task_id)
    latest = next((a for a in attempts if a.attempt == task.attempt), None)
    artifacts = src.store.list_artifacts(run.run_id, task.task_id, task.attempt)
    slots, _error = find_slots(src, run, task, latest, artifacts)
    return [{"position": s.position, "version": s.version} for s in slots]


def card_document(
    src: Source,
    flow: str,
    run_id: str,
    step: str,
    task_id: str,
    position: str,
    *,
    attempt: str | None = None,
) -> str:
    """The HTML of one card of a task (of ``attempt``, default the latest): the stored card,
    or while there is none the latest live one.

    Raises `NotFoundError` for a card that does not exist and `DataIntegrityError` for a
    stored card whose blob is corrupt or missing.
    """
    run = find_run(src, flow, run_id)
    task = find_task(src, run, step, task_id)
    attempts = src.store.list_attempts(run.run_id, task.task_id)
    chosen = choose_attempt(task, attempts, attempt)
    shown = next((a for a in attempts if a.attempt == chosen), None)
    artifacts = src.store.list_artifacts(run.run_id, task.task_id, chosen)
    slots, _error = find_slots(src, run, task, shown, artifacts)
    slot = next((s for s in slots if str(s.position) == position), None)
    if slot is not None and slot.record is not None:
        return read_card_html(src.blobs_for(run), slot.record.key)
    text = None
    if slot is not None:
        text = live_card_html(src.datastore_of(run), run.run_id, task.task_id, slot.position)
    if text is None:
        where = f"{flow}/{run.run_id}/{step}/{task.task_id}"
        count = f"{len(slots)} card{'' if len(slots) == 1 else 's'}"
        raise NotFoundError(
            f"Task '{where}' has no card at position '{position}'.",
            hint=f"It has {count}, numbered from 0 in the order of its @card decorators; "
            "the task page lists them.",
        )
    return text


def _live_files(url: str, run_id: int, task_id: int, since: float) -> dict[int, LiveFile]:
    """position -> the live card files of a task written since ``since`` (a second of slack
    for file systems with coarse times: an earlier attempt's file stays until this one
    refreshes), in the datastore at ``url``."""
    folder = live_key(run_id, task_id, 0).rpartition("/")[0]
    found = {}
    for name, mtime_ns, size in _entries(url, folder):
        stem, _dot, ext = name.partition(".")
        if ext != "html" or not stem.isdigit():
            continue  # a write in progress (.tmp-...) or a stranger
        if mtime_ns / 1e9 >= since - 1:
            found[int(stem)] = LiveFile(mtime_ns, size)
    return found


def _entries(url: str, folder: str) -> list[tuple[str, int, int]]:
    """(name, mtime in ns, size) of the objects in ``folder`` of the datastore at ``url``."""
    if scheme_of(url) != "file":
        listing = getattr(open_storage(url, read_only=True), "entries", None)
        return [] if listing is None else listing(folder + "/")
    out = []
    try:
        items = list(os.scandir(Path(local_path(url)) / folder))
    except OSError:  # no card refreshed yet
        return []
    for item in items:
        with contextlib.suppress(OSError):
            stat = item.stat()
            out.append((item.name, stat.st_mtime_ns, stat.st_size))
    return out


def _title(text: str) -> str | None:
    match = _TITLE.search(text, 0, _TITLE_SPAN)
    return html.unescape(match.group(1)).strip() or None if match else None


def _error(headline: str, message: str, hint: str) -> dict[str, str]:
    return {"headline": headline, "message": message, "hint": hint}
