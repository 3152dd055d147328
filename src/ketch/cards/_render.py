"""Card pages: the ``default`` card (task, parameters, artifacts, DAG, components), the
``blank`` card (components only) and the error card stored when rendering fails.

Options a card understands (``@card(options={...})``): ``title`` (the page heading) and, for
the default card, ``artifacts`` (a list of the artifact names to show; default: all public).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ._components import render_component
from ._dag import dag_svg
from ._html import esc, page, section, table
from ._preview import human_size, memory_size, shape_of, short_repr, type_label
from ._records import CardSpec

PREVIEW_BYTES = 1 << 20  # artifacts larger than this are summarised, not previewed
_CELL_CHARS = 300
NOT_LOADED = object()


@dataclass(frozen=True)
class ArtifactInfo:
    """One artifact as the default card shows it; ``value`` is NOT_LOADED when too large."""

    name: str
    type_name: str
    size: int
    value: Any = NOT_LOADED


@dataclass
class TaskView:
    """What a card shows about its task. ``artifacts`` is None while the task still runs."""

    flow_name: str
    run_id: str
    step_name: str
    task_id: str
    attempt: int = 0
    graph: dict[str, Any] = field(default_factory=dict)
    parameters: list[tuple[str, Any]] = field(default_factory=list)
    artifacts: list[ArtifactInfo] | None = None
    status: str = "running"
    exception: str | None = None
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def pathspec(self) -> str:
        return f"{self.flow_name}/{self.run_id}/{self.step_name}/{self.task_id}"


def render_card(spec: CardSpec, view: TaskView, components: Sequence[Any]) -> str:
    """The HTML document of one card (raises if a component fails to render)."""
    user = "".join(render_component(c) for c in components)
    subtitle = f"{view.pathspec} · {spec.type} card" + (f" '{spec.id}'" if spec.id else "")
    if spec.type == "blank":
        title = str(spec.options.get("title") or spec.id or view.step_name)
        body = user or '<div class="note">No components were added to this card.</div>'
        return page(title, body, subtitle=subtitle)
    title = str(spec.options.get("title") or f"{view.flow_name} · {view.step_name}")
    parts = [
        section("Task", _task_table(view)),
        section("Parameters", _parameters(view)),
        section("Artifacts", _artifacts(view, spec.options.get("artifacts"))),
        section("Flow", f'<div class="dag-wrap">{dag_svg(view.graph, view.step_name)}</div>'),
    ]
    if user:
        parts.append(section("Components", user))
    return page(title, "".join(parts), subtitle=subtitle)


def error_card(spec: CardSpec, view: TaskView, message: str, details: str = "") -> str:
    """The card stored instead of one that could not be rendered."""
    trace = f"<pre>{esc(details)}</pre>" if details else ""
    body = (
        f'<div class="error"><div class="title">This {esc(spec.type)} card could not be '
        f"rendered</div><div>{esc(message)}</div>{trace}</div>"
        '<p class="note">The task itself is not affected by a card error.</p>'
    )
    return page("Card error", body, subtitle=f"{view.pathspec} · {spec.type} card")


def _time(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _task_table(view: TaskView) -> str:
    status_cls = {"completed": "status-ok", "failed": "status-bad"}.get(view.status, "")
    rows = [
        ["Flow", esc(view.flow_name)],
        ["Run", esc(view.run_id)],
        ["Step", esc(view.step_name)],
        ["Task", esc(view.task_id)],
        ["Attempt", esc(view.attempt)],
        ["Status", f'<span class="{status_cls}">{esc(view.status)}</span>'],
    ]
    if view.started_at:
        rows.append(["Started", esc(_time(view.started_at))])
    if view.started_at and view.finished_at:
        rows.append(["Duration", esc(f"{view.finished_at - view.started_at:.2f} s")])
    if view.exception:
        rows.append(["Exception", f"<pre>{esc(view.exception)}</pre>"])
    return table([], rows, raw=True, cls="kv")


def _parameters(view: TaskView) -> str:
    if not view.parameters:
        return '<div class="note">This flow has no parameters.</div>'
    rows = [[name, short_repr(value, _CELL_CHARS)] for name, value in view.parameters]
    return table(["Name", "Value"], rows)


def _artifacts(view: TaskView, include: Any) -> str:
    if view.artifacts is None:
        return '<div class="note">Artifacts are shown when the task finishes.</div>'
    wanted = set(include) if isinstance(include, (list, tuple, set)) else None
    shown = [a for a in view.artifacts if wanted is None or a.name in wanted]
    if not shown:
        return '<div class="note">This task has no artifacts.</div>'
    rows = [
        [
            esc(a.name),
            esc(a.type_name),
            f'<span class="nowrap">{esc(human_size(a.size))}</span>',
            _artifact_preview(a),
        ]
        for a in sorted(shown, key=lambda a: a.name)
    ]
    return table(["Name", "Type", "Stored", "Value"], rows, raw=True)


def _artifact_preview(info: ArtifactInfo) -> str:
    loaded = info.value is not NOT_LOADED
    in_memory = memory_size(info.value) if loaded else 0
    if not loaded or max(info.size, in_memory) > PREVIEW_BYTES:
        shape = shape_of(info.value) if loaded else ""
        size = f"{human_size(in_memory)} in memory" if in_memory else ""
        summary = ", ".join(p for p in (shape, size) if p)
        return f'<span class="note">{esc(summary + "; " if summary else "")}not previewed</span>'
    text = short_repr(info.value, _CELL_CHARS)
    shape = shape_of(info.value)
    extra = f'<div class="meta">{esc(shape)}</div>' if shape and shape != "scalar" else ""
    return f"<code>{esc(text)}</code>{extra}"


def artifact_info(name: str, type_name: str, size: int, value: Any = NOT_LOADED) -> ArtifactInfo:
    """An ``ArtifactInfo``; the type of an in-memory value wins over the stored type name."""
    if value is not NOT_LOADED:
        type_name = type_label(value)
    return ArtifactInfo(name, type_name, size, value)
