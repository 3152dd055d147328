"""The local web UI: a read-only view of the project's runs, and the same data as JSON.

``ketch ui`` (or ``python flow.py ui``) serves it; ``create_app`` builds the ASGI app for
tests or for another server. The web stack (starlette, uvicorn, jinja2) is the optional
``ketch[ui]`` extra, imported only when the UI starts; ``docs/ui.md`` lists every route.

Examples
--------
>>> from ketch.ui import create_app  # doctest: +SKIP
>>> from starlette.testclient import TestClient  # doctest: +SKIP
>>> TestClient(create_app()).get("/api").json()["flows"]  # doctest: +SKIP
[{'name': 'HelloFlow', 'runs': [...]}]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._cli import ui_command
from ._server import DEFAULT_HOST, DEFAULT_PORT, serve

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..settings import Settings

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "create_app", "serve", "ui_command"]


def create_app(settings: Settings | None = None) -> Starlette:
    """The UI's ASGI app over the project in ``settings`` (default: found from the cwd).

    Raises
    ------
    ketch.exceptions.StoreNotFoundError
        There is no ``.ketch`` store yet.
    ketch.exceptions.UserError
        starlette or jinja2 is missing (``pip install 'ketch[ui]'``).
    """
    from ..settings import resolve
    from ._deps import require_ui_deps

    require_ui_deps()
    from ._app import create_app as _create_app
    from ._source import open_source

    return _create_app(open_source(resolve() if settings is None else settings))
