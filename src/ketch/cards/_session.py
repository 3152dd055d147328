"""The task side of cards: install ``current.card`` before the step, render after it.

Rendering happens in the task process once the step has finished (successfully or not). Each
card is rendered in a helper thread that is given the card's ``timeout``; a card that raises
or runs out of time is replaced by an error card. Nothing here can fail the task.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..datastore import BlobStore, load_artifact, open_storage
from ._collector import CardCollector, CardHandle, LiveWriter, install
from ._records import CardRecord
from ._render import (
    NOT_LOADED,
    PREVIEW_BYTES,
    ArtifactInfo,
    TaskView,
    artifact_info,
    error_card,
    render_card,
)

if TYPE_CHECKING:
    from ..metadata._records import ArtifactRecord
    from ..runtime._spec import TaskResult, TaskSpec


class CardSession:
    """The cards of one task attempt. ``open`` before the step runs, ``finish`` after."""

    def __init__(self, spec: TaskSpec, blobs: BlobStore, parameter_names: Sequence[str]) -> None:
        self.spec = spec
        self.blobs = blobs
        self.view = TaskView(
            flow_name=spec.flow_name,
            run_id=str(spec.run_id),
            step_name=spec.step_name,
            task_id=str(spec.task_id),
            attempt=spec.attempt,
            graph=dict(spec.graph_info),
            parameters=self._parameters(parameter_names),
        )
        self.parameter_names = set(parameter_names)
        storage = open_storage(spec.datastore_url, flush=False)
        self.live = LiveWriter(storage, spec.run_id, spec.task_id, self._live_html)
        self.handles = [CardHandle(card, i, self.live) for i, card in enumerate(spec.cards)]
        install(CardCollector(self.handles))

    @classmethod
    def open(
        cls, spec: TaskSpec, blobs: BlobStore, parameter_names: Sequence[str]
    ) -> CardSession | None:
        """A session when the step has ``@card``s (``current.card`` is then set), else None."""
        if not spec.cards:
            return None
        try:
            return cls(spec, blobs, parameter_names)
        except Exception as exc:  # cards are an add-on: a setup failure must not fail the task
            print(f"ketch: cards are disabled for this task: {exc!r}", file=sys.stderr)
            return None

    def _parameters(self, names: Sequence[str]) -> list[tuple[str, Any]]:
        out = []
        for name in names:
            record = self.spec.parameters.get(name)
            if record is None:
                continue
            try:
                out.append((name, load_artifact(self.blobs, record.key)))
            except Exception:
                out.append((name, f"<{record.type_name}: could not be loaded>"))
        return out

    def _live_html(self, handle: CardHandle) -> str:
        return render_card(handle.spec, self.view, handle.snapshot())

    def finish(self, result: TaskResult, flow: Any, *, render: bool = True) -> TaskResult:
        """Render and store every card; returns ``result`` with its card records."""
        install(None)
        self.live.close()
        if not render:
            return result
        self.view.status = "completed" if result.ok else "failed"
        self.view.exception = result.exception
        self.view.started_at = result.started_at or None
        self.view.finished_at = result.finished_at or None
        try:
            self.view.artifacts = self._artifacts(result.artifacts, flow)
        except Exception as exc:
            print(f"ketch: card artifacts could not be listed: {exc!r}", file=sys.stderr)
            self.view.artifacts = []
        records = []
        for handle in self.handles:
            record = self._store(handle)
            if record is not None:
                records.append(record)
        return replace(result, cards=tuple(records))

    def _artifacts(self, records: dict[str, ArtifactRecord], flow: Any) -> list[ArtifactInfo]:
        values = vars(flow) if flow is not None else {}
        out = []
        for name, record in records.items():
            if name.startswith("_") or name == "name" or name in self.parameter_names:
                continue
            value: Any = values.get(name, NOT_LOADED)
            if value is NOT_LOADED and record.size <= PREVIEW_BYTES:
                try:
                    value = load_artifact(self.blobs, record.key)
                except Exception:
                    value = NOT_LOADED
            out.append(artifact_info(name, record.type_name, record.size, value))
        return out

    def _store(self, handle: CardHandle) -> CardRecord | None:
        spec = handle.spec
        components = handle.snapshot()
        html, error, details = bounded(
            lambda: render_card(spec, self.view, components), spec.timeout
        )
        if html is None:
            if not spec.save_errors:
                return None
            html = error_card(spec, self.view, error or "unknown error", details)
        try:
            key = self.blobs.put_bytes(html.encode("utf-8"), pack=False)  # a file to open
            if self.live.written(handle.position):
                self.live.put(handle.position, html)  # live viewers see the final card too
        except OSError as exc:
            print(f"ketch: card {handle!r} could not be stored: {exc}", file=sys.stderr)
            return None
        return CardRecord(spec.type, spec.id, key, handle.position, error)


def bounded(render: Callable[[], str], timeout: float) -> tuple[str | None, str | None, str]:
    """Run ``render`` for at most ``timeout`` seconds: (html, None, "") or (None, error, trace).

    The work runs in a daemon thread, so a card stuck in user code cannot hold the task.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["html"] = render()
        except BaseException as exc:
            box["error"] = f"{type(exc).__name__}: {exc}"
            box["trace"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    thread = threading.Thread(target=target, name="ketch-card-render", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return None, f"Rendering timed out after {timeout:g} seconds (@card timeout).", ""
    if "html" in box:
        return box["html"], None, ""
    return None, box.get("error", "unknown error"), box.get("trace", "")
