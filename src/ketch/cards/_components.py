"""Card components: the pieces a step appends to ``current.card``.

Each component renders itself to escaped, self-contained HTML (``render()``). Heavy libraries
are never imported here: ``Image.from_matplotlib`` only calls the figure's own ``savefig``,
``Table.from_dataframe`` only reads the frame it is given.
"""

from __future__ import annotations

import base64
import io
import json
import traceback
from collections.abc import Sequence
from typing import Any, ClassVar

from ..exceptions import UserError
from ._html import esc
from ._markdown import render_markdown
from ._preview import FULL_CHARS, PREVIEW_CHARS, short_repr, type_label

MAX_TABLE_ROWS = 1000


class CardComponent:
    """Base class of components; subclasses implement ``render() -> str`` (HTML).

    Examples
    --------
    >>> class Shout(CardComponent):
    ...     def __init__(self, text):
    ...         self.text = text
    ...     def render(self):
    ...         return f"<strong>{esc(self.text.upper())}</strong>"
    """

    REALTIME_UPDATABLE: ClassVar[bool] = False
    component_id: str | None = None

    def render(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} does not implement render()")

    def update(self, *args: Any, **kwargs: Any) -> None:
        raise UserError(
            f"{type(self).__name__} cannot be updated.",
            hint="Components with an update() method: Markdown, Image, VegaChart, "
            "ProgressBar, ValueBox.",
        )


# Metaflow's name for the base class, so custom components keep their import line.
MetaflowCardComponent = CardComponent


def render_component(component: Any) -> str:
    """One component's HTML inside its wrapper; a non-component value is shown as an Artifact."""
    if not isinstance(component, CardComponent):
        component = Artifact(component)
    html = component.render()
    if not isinstance(html, str):  # e.g. a Metaflow-style component returning a dict
        html = f"<pre>{esc(json.dumps(html, indent=2, default=str))}</pre>"
    cid = f' data-component-id="{esc(component.component_id)}"' if component.component_id else ""
    return f'<div class="component"{cid}>{html}</div>'


class Markdown(CardComponent):
    """Markdown text (headings, emphasis, code, lists, links); raw HTML is escaped."""

    REALTIME_UPDATABLE = True

    def __init__(self, text: str = "") -> None:
        self.text = text

    def update(self, text: str) -> None:
        self.text = text

    def render(self) -> str:
        return f'<div class="markdown">{render_markdown(str(self.text))}</div>'


class Table(CardComponent):
    """Rows of cells under optional headers; a cell may itself be a component.

    Examples
    --------
    >>> Table([[1, "a"], [2, "b"]], headers=["n", "letter"]).render()[:7]
    '<table>'
    """

    def __init__(
        self, data: Sequence[Sequence[Any]] | None = None, headers: Sequence[Any] | None = None
    ) -> None:
        self.data = [list(row) for row in (data or [])]
        self.headers = [str(h) for h in (headers or [])]
        self.total_rows: int | None = None

    @classmethod
    def from_dataframe(cls, dataframe: Any, truncate: bool = True) -> Table:
        """A table of a pandas DataFrame (its first 1000 rows when ``truncate``)."""
        frame = dataframe.head(MAX_TABLE_ROWS) if truncate else dataframe
        headers = [str(c) for c in frame.columns]
        rows = [list(r) for r in frame.itertuples(index=False, name=None)]
        if type(frame.index).__name__ != "RangeIndex":
            headers.insert(0, str(frame.index.name or ""))
            rows = [[idx, *row] for idx, row in zip(frame.index, rows, strict=False)]
        table = cls(rows, headers)
        table.total_rows = len(dataframe)
        return table

    def render(self) -> str:
        head = "".join(f"<th>{esc(h)}</th>" for h in self.headers)
        rows = "".join(
            "<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in self.data[:MAX_TABLE_ROWS]
        )
        shown = min(len(self.data), MAX_TABLE_ROWS)
        total = self.total_rows if self.total_rows is not None else len(self.data)
        more = f'<div class="note">{shown} of {total} rows shown</div>' if total > shown else ""
        thead = f"<thead><tr>{head}</tr></thead>" if head else ""
        return f"<table>{thead}<tbody>{rows}</tbody></table>{more}"


def _cell(value: Any) -> str:
    if isinstance(value, CardComponent):
        return f"<td>{render_component(value)}</td>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="num">{esc(value)}</td>'
    return f"<td>{esc(value if isinstance(value, str) else short_repr(value, 200))}</td>"


_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_mime(data: bytes) -> str | None:
    """The MIME type of PNG, JPEG, GIF or WebP bytes, else None."""
    for magic, mime in _IMAGE_TYPES:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class Image(CardComponent):
    """An image from PNG, JPEG, GIF or WebP bytes, embedded as a ``data:`` URI.

    Examples
    --------
    >>> Image(png_bytes, label="loss")  # doctest: +SKIP
    >>> Image.from_matplotlib(fig)  # doctest: +SKIP
    """

    REALTIME_UPDATABLE = True

    def __init__(self, src: bytes | bytearray | memoryview | Any, label: str | None = None) -> None:
        self.label = label
        self.src = _image_bytes(src)

    @classmethod
    def from_matplotlib(cls, figure: Any, label: str | None = None) -> Image:
        """A PNG of a matplotlib Figure (or of the figure an Axes belongs to)."""
        return cls(_figure_png(figure), label)

    @classmethod
    def from_pil_image(cls, image: Any, label: str | None = None) -> Image:
        """A PNG of a PIL image."""
        return cls(_pil_png(image), label)

    def update(self, src: bytes | Any, label: str | None = None) -> None:
        self.src = _image_bytes(src)
        if label is not None:
            self.label = label

    def render(self) -> str:
        mime = image_mime(self.src)
        caption = f"<figcaption>{esc(self.label)}</figcaption>" if self.label else ""
        if mime is None:
            return (
                '<div class="error"><span class="title">Image</span> '
                "could not be shown: the bytes are not PNG, JPEG, GIF or WebP.</div>"
            )
        data = base64.b64encode(self.src).decode("ascii")
        alt = esc(self.label or "image")
        return f'<figure><img alt="{alt}" src="data:{mime};base64,{data}">{caption}</figure>'


def _image_bytes(src: Any) -> bytes:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    if hasattr(src, "savefig") or hasattr(getattr(src, "figure", None), "savefig"):
        return _figure_png(src)
    if hasattr(src, "save") and hasattr(src, "mode"):
        return _pil_png(src)
    raise UserError(
        f"Image() got a {type_label(src)}, not image bytes.",
        hint="Pass PNG/JPEG bytes, or use Image.from_matplotlib(fig) / Image.from_pil_image(img).",
    )


def _figure_png(figure: Any) -> bytes:
    if not hasattr(figure, "savefig"):
        figure = getattr(figure, "figure", figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _pil_png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Artifact(CardComponent):
    """A value shown as a short preview (its type and a bounded ``repr``)."""

    def __init__(self, artifact: Any, name: str | None = None, compressed: bool = True) -> None:
        self.artifact = artifact
        self.name = name
        self.compressed = compressed

    def render(self) -> str:
        limit = PREVIEW_CHARS if self.compressed else FULL_CHARS
        title = f"<h3>{esc(self.name)}</h3>" if self.name else ""
        kind = f'<span class="badge">{esc(type_label(self.artifact))}</span>'
        return f"{title}{kind}<pre>{esc(short_repr(self.artifact, limit))}</pre>"


class ProgressBar(CardComponent):
    """A progress bar; call ``update(value)`` then ``current.card.refresh()`` to show progress."""

    REALTIME_UPDATABLE = True

    def __init__(
        self,
        max: float = 100,
        label: str | None = None,
        value: float = 0,
        unit: str | None = None,
        metadata: str | None = None,
    ) -> None:
        self.max = max
        self.label = label
        self.value = value
        self.unit = unit
        self.metadata = metadata

    def update(self, new_value: float, metadata: str | None = None) -> None:
        self.value = new_value
        if metadata is not None:
            self.metadata = metadata

    def render(self) -> str:
        try:
            share = max(0.0, min(1.0, float(self.value) / float(self.max)))
        except (TypeError, ValueError, ZeroDivisionError):
            share = 0.0
        unit = f" {esc(self.unit)}" if self.unit else ""
        count = f"{esc(self.value)} / {esc(self.max)}{unit} ({share:.0%})"
        meta = f'<div class="meta">{esc(self.metadata)}</div>' if self.metadata else ""
        return (
            f'<div class="progress" role="progressbar" aria-valuenow="{esc(self.value)}" '
            f'aria-valuemax="{esc(self.max)}"><div class="label"><span>{esc(self.label or "")}'
            f'</span><span>{count}</span></div><div class="track"><div class="fill" '
            f'style="width:{share * 100:.1f}%"></div></div>{meta}</div>'
        )


class ValueBox(CardComponent):
    """A headline number with a title; ``update(value)`` changes it."""

    REALTIME_UPDATABLE = True
    THEMES = ("default", "success", "warning", "danger")

    def __init__(
        self,
        title: str | None = None,
        value: Any = "",
        subtitle: str | None = None,
        theme: str | None = None,
        change_indicator: str | None = None,
    ) -> None:
        self.title = title
        self.value = value
        self.subtitle = subtitle
        self.theme = theme if theme in self.THEMES else "default"
        self.change_indicator = change_indicator

    def update(self, value: Any = None, **changes: Any) -> None:
        if value is not None:
            self.value = value
        for key in ("title", "subtitle", "change_indicator"):
            if key in changes:
                setattr(self, key, changes[key])

    def render(self) -> str:
        change = f" {esc(self.change_indicator)}" if self.change_indicator else ""
        sub = f'<div class="sub">{esc(self.subtitle or "")}{change}</div>'
        return (
            f'<div class="valuebox {esc(self.theme)}"><div class="title">{esc(self.title or "")}'
            f'</div><div class="value">{esc(self.value)}</div>{sub}</div>'
        )


class Error(CardComponent):
    """An exception (or message), with its traceback when it has one."""

    def __init__(self, exception: BaseException | str, title: str | None = None) -> None:
        self.exception = exception
        self.title = title

    def render(self) -> str:
        exc = self.exception
        text, trace = str(exc), ""
        if isinstance(exc, BaseException):
            text = f"{type(exc).__name__}: {exc}"
            if exc.__traceback__ is not None:
                stack = traceback.format_exception(type(exc), exc, exc.__traceback__)
                trace = f"<pre>{esc(''.join(stack))}</pre>"
        return (
            f'<div class="error"><div class="title">{esc(self.title or "Error")}</div>'
            f"<div>{esc(text)}</div>{trace}</div>"
        )
