"""HTML rendering: the Jinja2 environment, its filters, and what every page template gets.

A template receives ``data`` (the page's dict, exactly what ``/api`` sends) plus presentation
only: breadcrumbs, the JSON link, the runs to poll while they run, and for the run page the
graph and timeline layouts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import _dag, _timeline
from ._common import path_of, shorten
from ._format import ago_text, duration_text, size_text, time_text
from ._pages import DEFAULT_RUN_LIMIT
from ._paging import DEFAULT_TASK_LIMIT, page_links
from ._run_summary import STEP_BARS

MAX_CRUMBS = 8  # a pathspec has 4 parts, a card's address 7 segments
MAX_CRUMB_URL = 2048


def crumbs(path: str) -> list[dict[str, str]]:
    """Breadcrumbs of a page path: each segment, linked to its own page.

    Bounded, whatever the path: a page shows at most `MAX_CRUMBS` crumbs (the first ones) with
    short labels, so that an error page for a path of 10,000 segments stays small.
    """
    out, url = [], ""
    for segment in [s for s in path.split("/") if s][:MAX_CRUMBS]:
        url += "/" + segment
        if len(url) > MAX_CRUMB_URL:
            break
        out.append({"label": shorten(unquote(segment), 80), "url": url})
    return out


def live_urls(data: dict[str, Any]) -> list[str]:
    """The live endpoints of the runs on a page that are still running.

    On a task page the run's endpoint also watches the task's cards (``?task=``).
    """
    runs: list[dict[str, Any]] = []
    if isinstance(data.get("run"), dict):
        runs.append(data["run"])
    runs.extend(data.get("runs", []))
    for flow in data.get("flows", []):
        runs.extend(flow["runs"])
    urls = {"/api/-/live" + path_of(r["flow"], r["id"]) for r in runs if r["status"] == "running"}
    task = data.get("task")
    if isinstance(task, dict) and data["run"]["status"] == "running":
        url = "/api/-/live" + path_of(data["run"]["flow"], data["run"]["id"])
        urls.discard(url)
        urls.add(f"{url}?task={task['id']}")
    return sorted(urls)


def _run_extras(data: dict[str, Any]) -> dict[str, Any]:
    # Without the stored graph there are no edges to draw: the steps table still lists them.
    return {
        "dag": _dag.layout(data["steps"] if data["graph"] is not None else []),
        "timeline": _timeline.layout(
            data["steps"], data["tasks"], time.time(), data.get("timeline_aggregates", [])
        ),
        "step_bars": STEP_BARS,
    }


EXTRAS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"run.html": _run_extras}


class Renderer:
    """Renders page dicts with the package's templates."""

    def __init__(self, templates: Path, *, home: str) -> None:
        self.home = home
        self.env = Environment(
            loader=FileSystemLoader(str(templates)),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            duration=duration_text, time=time_text, ago=ago_text, size=size_text
        )
        self.env.globals.update(
            path_of=path_of,
            page_links=page_links,
            default_task_limit=DEFAULT_TASK_LIMIT,
            default_run_limit=DEFAULT_RUN_LIMIT,
        )

    def _context(self, path: str) -> dict[str, Any]:
        trail = crumbs(path)
        title = "/".join(c["label"] for c in trail) or "Flows"
        return {"home": self.home, "crumbs": trail, "title": title, "now": time.time()}

    def page(self, template: str, data: dict[str, Any], path: str, api_url: str) -> str:
        context = self._context(path)
        context.update(data=data, api_url=api_url, live=live_urls(data))
        extras = EXTRAS.get(template)
        if extras is not None:
            context.update(extras(data))
        return self.env.get_template(template).render(context)

    def error(self, error: dict[str, Any], path: str) -> str:
        context = self._context(path)
        context.update(error=error, api_url="", live=[], title=error["headline"])
        return self.env.get_template("error.html").render(context)
