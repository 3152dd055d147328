"""Start the UI server: check the project and the dependencies, bind, then serve."""

from __future__ import annotations

import socket
from collections.abc import Callable

from ..exceptions import UserError
from ..settings import Settings, require_home, resolve
from ._deps import require_ui_deps

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8324


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a `UserError` saying why there is none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UserError(
            f"Cannot listen on '{host}': {exc.strerror}.",
            headline="Cannot start the web UI",
            hint="Pass --host 127.0.0.1.",
        ) from None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UserError(
            f"Cannot listen on {host}:{port}: {exc.strerror}.",
            headline="Cannot start the web UI",
            hint="Another program may use the port; pick another with --port (0: any free port).",
        ) from None
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket, host: str, path: str) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}"


def serve(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    settings: Settings | None = None,
    flow: str | None = None,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve the UI of the project in ``settings`` (default: found from the working directory)
    until interrupted. ``flow`` makes the printed address that flow's page.

    Raises
    ------
    ketch.exceptions.StoreNotFoundError
        There is no ``.ketch`` store yet (run a flow first).
    ketch.exceptions.UserError
        The UI's dependencies are missing, or the address cannot be bound.
    """
    settings = resolve() if settings is None else settings
    require_home(settings)
    require_ui_deps()
    import uvicorn

    from ._app import create_app
    from ._source import open_source

    src = open_source(settings)
    try:
        sock = bind(host, port)
    except BaseException:
        src.close()
        raise
    path = "/" if flow is None else f"/{flow}"
    echo(f"ketch UI for {src.home}\n    {_url(sock, host, path)}   (Ctrl-C to stop)")
    config = uvicorn.Config(create_app(src), log_level="warning", lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully on Ctrl-C, then raises it again: it is how one stops
        # the UI, not an error.
        echo("ketch UI stopped.")
    finally:
        sock.close()
