"""Start the UI server: check the project and the dependencies, bind, then serve."""

from __future__ import annotations

import errno
import secrets
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from urllib.parse import urlencode

from ..exceptions import UserError
from ..settings import Settings, require_home, resolve
from ._access import TOKEN_PARAM, WILDCARD_HOSTS, access_for, is_loopback
from ._deps import require_ui_deps

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8324


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


_BIND_HINTS = {
    errno.EADDRINUSE: "Another program uses port {port}: stop it, or pick another port with "
    "--port (0: any free port).",
    errno.EACCES: "Ports below 1024 need privileges: pick another with --port (0: any free port).",
    errno.EADDRNOTAVAIL: "That is not an address of this machine: pass --host 127.0.0.1.",
}


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
            hint=_BIND_HINTS.get(exc.errno or 0, _BIND_HINTS[errno.EADDRINUSE]).format(port=port),
        ) from None
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket, host: str, path: str, token: str | None) -> str:
    port = sock.getsockname()[1]
    if host.strip() in WILDCARD_HOSTS:  # print an address that this machine can open
        host = "::1" if host.strip() == "::" else "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    query = "" if token is None else "?" + urlencode({TOKEN_PARAM: token})
    return f"http://{shown}:{port}{path}{query}"


def _check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise UserError(
            f"Port {port} does not exist: ports go from 1 to 65535.",
            headline="Cannot start the web UI",
            hint="Pass --port 8324, or --port 0 for any free port.",
        )


def choose_token(
    sock: socket.socket, host: str, token: str | None, no_token: bool, warn: Callable[[str], None]
) -> str | None:
    """The UI's token: ``token`` when given; a new random one when the UI can be reached from
    other machines, unless ``no_token``. Warns about a UI bound beyond loopback."""
    address, port = sock.getsockname()[:2]
    if is_loopback(address):
        return token or None
    where = f"{host or '0.0.0.0'}:{port}"
    if no_token:
        warn(
            f"WARNING: the UI listens on {where} WITHOUT A TOKEN (--no-token). Anyone who can "
            "reach this port can read every run's parameters, artifacts, logs and cards.\n"
            "    Bind to 127.0.0.1 and use an SSH tunnel, or keep the token; see docs/security.md."
        )
        return None
    token = token or secrets.token_urlsafe(24)
    other = f"http://{socket.gethostname()}:{port}/?{urlencode({TOKEN_PARAM: token})}"
    warn(
        f"Warning: the UI listens on {where}, which other machines may reach: whoever has "
        "the token can read every run's parameters, artifacts, logs and cards, over plain HTTP.\n"
        f"    From another machine: {other} (or this machine's address).\n"
        f"    Safer: keep --host 127.0.0.1 and use an SSH tunnel (ssh -L {port}:127.0.0.1:{port} "
        "THIS_HOST), or a reverse proxy with TLS; see docs/security.md."
    )
    return token


def serve(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    settings: Settings | None = None,
    flow: str | None = None,
    allow_hosts: Sequence[str] = (),
    token: str | None = None,
    no_token: bool = False,
    echo: Callable[[str], None] = print,
    warn: Callable[[str], None] = _stderr,
) -> None:
    """Serve the UI of the project in ``settings`` (default: found from the working directory)
    until interrupted. ``flow`` makes the printed address that flow's page.

    Requests must name the UI by a loopback name, by ``host`` or by one of ``allow_hosts``
    (see `ketch.ui._access`). With a ``token`` every request must carry it; bound beyond
    loopback without one, the UI makes one up and prints it, unless ``no_token``.

    Raises
    ------
    ketch.exceptions.StoreNotFoundError
        There is no ``.ketch`` store yet (run a flow first).
    ketch.exceptions.UserError
        The UI's dependencies are missing, the port does not exist, the address cannot be
        bound, or an allowed host is not a host name.
    """
    _check_port(port)
    if token and no_token:
        raise UserError(
            "--token and --no-token contradict each other.",
            headline="Cannot start the web UI",
            hint="Drop one of them.",
        )
    access = access_for(host, allow_hosts=allow_hosts)  # checks the names before any work
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
    token = choose_token(sock, host, token, no_token, warn)
    path = "/" if flow is None else f"/{flow}"
    echo(f"ketch UI for {src.home}\n    {_url(sock, host, path, token)}   (Ctrl-C to stop)")
    app = create_app(src, replace(access, token=token))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn shuts down gracefully on Ctrl-C, then raises it again: it is how one stops
        # the UI, not an error.
        echo("ketch UI stopped.")
    finally:
        sock.close()
