"""The local web UI: a read-only view of the project's runs, and the same data as JSON.

``ketch ui`` (or ``python flow.py ui``) serves it; ``create_app`` builds the ASGI app for
tests or for another server. The web stack (starlette, uvicorn, jinja2) is part of the
base install and imported only when the UI starts; ``docs/ui.md`` lists every route.

Examples
--------
>>> from ketch.ui import create_app  # doctest: +SKIP
>>> from starlette.testclient import TestClient  # doctest: +SKIP
>>> client = TestClient(create_app(), base_url="http://127.0.0.1")  # doctest: +SKIP
>>> client.get("/api").json()["flows"]  # doctest: +SKIP
[{'name': 'HelloFlow', 'runs': [...]}]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._cli import ui_command
from ._server import DEFAULT_HOST, DEFAULT_PORT, serve

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..settings import Settings

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "create_app", "serve", "ui_command"]


def create_app(
    settings: Settings | None = None,
    *,
    allow_hosts: Sequence[str] = (),
    token: str | None = None,
) -> Starlette:
    """The UI's ASGI app over the project in ``settings`` (default: found from the cwd).

    It answers requests addressed to a loopback name (``127.0.0.1``, ``localhost``, ``[::1]``)
    or to one of ``allow_hosts``, and with a ``token``, only those that carry it
    (see ``docs/security.md``).

    Raises
    ------
    ketch.exceptions.StoreNotFoundError
        There is no ``.ketch`` store yet.
    ketch.exceptions.UserError
        starlette or jinja2 is missing (removed from the environment by hand), or an allowed host is
        not a host name.
    """
    from ..settings import resolve
    from ._access import access_for
    from ._deps import require_ui_deps

    access = access_for(DEFAULT_HOST, allow_hosts=allow_hosts, token=token)
    require_ui_deps()
    from ._app import create_app as _create_app
    from ._source import open_source

    return _create_app(open_source(resolve() if settings is None else settings), access)
