"""The Starlette application: every page is one dict, sent as JSON under ``/api`` or as HTML.

Routes (each page also at ``/api`` + the same path)::

    /                                   flows and their latest runs
    /compare?runs=F/1,F/2&metric=       runs side by side, a metric overlaid
    /{flow}?tag=&status=&limit=&after=  a page of the runs of a flow
            &sort=metric:NAME&agg=&order=&where=NAME>X   ... sorted, filtered by a metric
    /{flow}/{run}                       graph, step summaries, timeline, parameters
    /{flow}/{run}/{step}?status=&limit=&after=&task=   a page of the tasks of a step
    /{flow}/{run}/{step}/{task}?attempt=   cards, artifacts, logs, attempts
    /api/-/live/{flow}/{run}?task=      status and version of a run (and a task's cards)
    /api/-/metrics/{flow}/{run}?after=  the metric points logged after a cursor
    /-/card/{flow}/{run}/{step}/{task}/{position}?attempt=   one card's HTML, sandboxed
    /-/static/...                       CSS, JS and icons

Every request passes `Guard` first (the Host check, the token, the security headers).
Only ``starlette`` and ``jinja2`` are imported here, so ``import ketch`` never loads them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from ..exceptions import KetchException, NotFoundError, UserError
from ._access import LOOPBACK_NAMES, Access
from ._cards import card_csp, card_document
from ._common import shorten
from ._compare import compare_page
from ._faults import database_damage, exception_chain, internal_error
from ._guard import PAGE_CSP, Guard
from ._metrics import compare_charts, metrics_after, run_charts
from ._pages import DEFAULT_RUN_LIMIT, MAX_RUN_LIMIT, index_page, live_state, run_page
from ._paging import DEFAULT_TASK_LIMIT, MAX_TASK_LIMIT
from ._ranking import parse_ranking, ranked_flow_page
from ._render import Renderer
from ._source import Source
from ._task_pages import step_page, task_page

log = logging.getLogger("ketch.ui")

HERE = Path(__file__).resolve().parent
Builder = Callable[[Source, Request], dict[str, Any]]


def _int_param(request: Request, name: str, default: int, most: int) -> int:
    """A positive integer query parameter; a larger value than ``most`` counts as ``most``."""
    text = request.query_params.get(name, "").strip()
    if not text:
        return default
    digits = text.lstrip("0") if text.isascii() and text.isdigit() else ""
    if not digits:
        raise UserError(f"'{name}' must be a positive integer, got '{shorten(text)}'.")
    # Dozens of digits are beyond any limit (and beyond what SQLite binds).
    return min(int(digits), most) if len(digits) <= 18 else most


def _index(src: Source, request: Request) -> dict[str, Any]:
    return index_page(src)


def _flow(src: Source, request: Request) -> dict[str, Any]:
    query = request.query_params
    ranking = parse_ranking(*(query.get(k, "") for k in ("sort", "agg", "order", "where")))
    return ranked_flow_page(
        src,
        request.path_params["flow"],
        ranking,
        tags=[t for t in query.getlist("tag") if t],
        status=query.get("status") or None,
        limit=_int_param(request, "limit", DEFAULT_RUN_LIMIT, MAX_RUN_LIMIT),
        after=query.get("after") or None,
    )


def _run(src: Source, request: Request) -> dict[str, Any]:
    p = request.path_params
    data = run_page(src, p["flow"], p["run_id"])
    data["metrics"] = run_charts(src, data["run"])
    return data


def _step(src: Source, request: Request) -> dict[str, Any]:
    p, query = request.path_params, request.query_params
    return step_page(
        src,
        p["flow"],
        p["run_id"],
        p["step"],
        status=query.get("status") or None,
        limit=_int_param(request, "limit", DEFAULT_TASK_LIMIT, MAX_TASK_LIMIT),
        after=query.get("after") or None,
        from_task=query.get("task") or None,
    )


def _task(src: Source, request: Request) -> dict[str, Any]:
    p = request.path_params
    attempt = request.query_params.get("attempt") or None
    return task_page(src, p["flow"], p["run_id"], p["step"], p["task_id"], attempt=attempt)


def _compare(src: Source, request: Request) -> dict[str, Any]:
    data = compare_page(src, request.query_params.getlist("runs"))
    data["metrics"] = compare_charts(src, data["runs"], request.query_params.get("metric"))
    return data


def _live(src: Source, request: Request) -> dict[str, Any]:
    p = request.path_params
    task_id = request.query_params.get("task") or None
    return live_state(src, p["flow"], p["run_id"], task_id=task_id)


def _metric_points(src: Source, request: Request) -> dict[str, Any]:
    p = request.path_params
    return metrics_after(src, p["flow"], p["run_id"], request.query_params.get("after", ""))


PAGES: list[tuple[str, str, Builder]] = [
    ("/", "index.html", _index),
    ("/compare", "compare.html", _compare),
    ("/{flow}", "flow.html", _flow),
    ("/{flow}/{run_id}", "run.html", _run),
    ("/{flow}/{run_id}/{step}", "step.html", _step),
    ("/{flow}/{run_id}/{step}/{task_id}", "task.html", _task),
]


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by their names (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, ensure_ascii=False, allow_nan=False)
        except ValueError:
            text = json.dumps(_finite(content), ensure_ascii=False)
        return text.encode("utf-8")


_NO_STORE = {"Cache-Control": "no-store"}
# A card, or the error in its place, may be framed by the UI's own pages (and only by them).
_FRAMED = {"X-Frame-Options": "SAMEORIGIN"}
_CARD_HEADERS = {**_NO_STORE, **_FRAMED}
_CARD_ERROR_HEADERS = {
    **_FRAMED,
    "Content-Security-Policy": PAGE_CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'"),
}
CARD_ROUTE = "/-/card/{flow}/{run_id}/{step}/{task_id}/{position}"


class App:
    """The routes over one `Source`, and how each answer is rendered."""

    def __init__(self, src: Source) -> None:
        self.src = src
        self.renderer = Renderer(HERE / "templates", home=src.home)

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [
            Route("/api/-/live/{flow}/{run_id}", self._endpoint(_live, None)),
            Route("/api/-/metrics/{flow}/{run_id}", self._endpoint(_metric_points, None)),
            Route(CARD_ROUTE, self._guarded(self._card, _CARD_ERROR_HEADERS)),
            Mount("/-/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        ]
        for path, _template, builder in PAGES:
            routes.append(Route("/api" + path.rstrip("/"), self._endpoint(builder, None)))
        for path, template, builder in PAGES:
            routes.append(Route(path, self._endpoint(builder, template)))
        return routes

    def _endpoint(self, builder: Builder, template: str | None) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            data = builder(self.src, request)
            if template is None:
                return JSONResponse(data, headers=_NO_STORE)
            html = self.renderer.page(template, data, request.url.path, _api_url(request))
            return HTMLResponse(html, headers=_NO_STORE)

        return self._guarded(answer)

    def _card(self, request: Request) -> Response:
        """One card's own HTML, for its frame on the task page or to open on its own."""
        p = request.path_params
        html = card_document(
            self.src,
            p["flow"],
            p["run_id"],
            p["step"],
            p["task_id"],
            p["position"],
            attempt=request.query_params.get("attempt") or None,
        )
        headers = {**_CARD_HEADERS, "Content-Security-Policy": card_csp(html)}
        return HTMLResponse(html, headers=headers)

    def _guarded(
        self, answer: Callable[[Request], Response], error_headers: dict[str, str] | None = None
    ) -> Callable[[Request], Response]:
        """``answer``, with errors shown as error pages (or JSON errors under ``/api``)."""

        def endpoint(request: Request) -> Response:
            try:
                return answer(request)
            except Exception as exc:  # a page must answer, even when ketch has a bug
                error = self._explain(request, exc)
                return self.error(request, error, error_headers)

        return endpoint

    def _explain(self, request: Request, exc: Exception) -> KetchException:
        damage = database_damage(self.src.database_file, exc)
        if damage is not None:
            # The whole chain, SQL included, for whoever runs the UI; the page shows none of it.
            detail = " <- ".join(str(e) for e in exception_chain(exc))
            log.error("ketch UI: %s, on %s: %s", damage.headline, request.url.path, detail)
            return damage
        if isinstance(exc, KetchException):
            return exc
        log.exception("ketch UI failed on %s", request.url.path)
        return internal_error(exc)

    def error(
        self, request: Request, exc: KetchException, headers: dict[str, str] | None = None
    ) -> Response:
        status = _http_status(exc)
        error = {"status": status, "headline": exc.headline, "message": exc.detail or str(exc)}
        error["hint"] = exc.hint
        headers = {**_NO_STORE, **(headers or {})}
        if _is_api(request):
            return JSONResponse({"error": error}, status_code=status, headers=headers)
        html = self.renderer.error(error, request.url.path)
        return HTMLResponse(html, status_code=status, headers=headers)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        """Paths that match no route (too many segments, a missing static file)."""
        if isinstance(exc, HTTPException) and exc.status_code != 404:
            return Response(exc.detail, status_code=exc.status_code)
        return self.error(
            request,
            NotFoundError(
                f"Nothing lives at '{shorten(request.url.path)}'.",
                hint="Pages are addressed by pathspec: /Flow/run/step/task.",
            ),
        )


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path == "/api" or path.startswith("/api/")


def _api_url(request: Request) -> str:
    path = "/api" + (request.url.path if request.url.path != "/" else "")
    return path + (f"?{request.url.query}" if request.url.query else "")


def _http_status(exc: KetchException) -> int:
    """404 for what does not exist, 400 for other user errors, 500 for the rest."""
    if isinstance(exc, NotFoundError):
        return 404
    return 400 if isinstance(exc, UserError) else 500


class _UIApp(Starlette):
    """The Starlette app behind a `Guard`, which is outside even Starlette's own error
    handler: every response, a crash's 500 included, passes the guard and gets its headers."""

    def __init__(self, *, access: Access, **kwargs: Any) -> None:
        self.access = access
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        return Guard(super().build_middleware_stack(), self.access)


LOOPBACK_ONLY = Access(frozenset(LOOPBACK_NAMES))


def create_app(src: Source, access: Access = LOOPBACK_ONLY) -> Starlette:
    """The ASGI app over ``src``, answering the requests ``access`` lets in (by default those
    addressed to a loopback name); it closes ``src`` when the server shuts down."""
    app = App(src)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            src.close()

    return _UIApp(
        access=access,
        routes=app.routes(),
        exception_handlers={HTTPException: app.not_found},
        lifespan=lifespan,
    )
