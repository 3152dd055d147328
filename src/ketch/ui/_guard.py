"""The ASGI layer in front of every route: the Host check, the token, the security headers.

Each request is checked in this order, before any route sees it:

1. its ``Host`` header names the UI by a host it knows (see `Access`), else 400;
2. when the UI has a token: ``?token=`` in the address (a right one sets a cookie and
   redirects to the address without it; a wrong one is 403), ``Authorization: Bearer``
   (wrong: 403) or the cookie; with none of them, 401.

Every response, refusals included, gets the headers of `SECURITY_HEADERS` that its route did
not set itself (a card sets its own policy, which lets the UI's own pages frame it).
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, quote, urlencode

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._access import TOKEN_PARAM, Access

# Pages load their script, style and icons from the UI itself, and only its own pages may
# frame anything (cards). Nothing may frame a page: clickjacking, and reading it by framing.
PAGE_CSP = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": PAGE_CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}
MAX_SHOWN = 100  # characters of a refused Host header echoed back


def cookie_name(scope: Scope) -> str:
    """One cookie per port: two UIs on one machine do not overwrite each other's token."""
    server = scope.get("server")
    return f"ketch_ui_token_{server[1]}" if server and server[1] else "ketch_ui_token"


def _same(given: str, token: str) -> bool:
    return secrets.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def _without_token(scope: Scope) -> str:
    """The request's path and query, less its ``token`` parameter (where a right one goes)."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(scope["path"])
    query = scope.get("query_string", b"").decode("latin-1")
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != TOKEN_PARAM]
    return path + (f"?{urlencode(kept)}" if kept else "")


def _refusal(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(text + "\n", status_code=status, headers=headers)


def host_refused(host: str) -> Response:
    shown = host if len(host) <= MAX_SHOWN else host[:MAX_SHOWN] + "..."
    return _refusal(
        400,
        f"Refused: this ketch UI does not answer to the host '{shown}'.\n"
        "If you reached it by that name on purpose, restart it with --allow-host NAME "
        "(or KETCH_UI_ALLOWED_HOSTS).",
    )


def check_token(scope: Scope, headers: Headers, token: str) -> Response | None:
    """None when the request carries ``token``, else the answer to give instead."""
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    given = query.get(TOKEN_PARAM)
    if given is not None:
        if not _same(given, token):
            return _refusal(403, "Forbidden: the token in the address is wrong.")
        response = RedirectResponse(_without_token(scope), status_code=303)
        response.set_cookie(cookie_name(scope), token, httponly=True, samesite="lax")
        return response
    scheme, _sep, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        if _same(credentials.strip(), token):
            return None
        return _refusal(403, "Forbidden: the bearer token is wrong.")
    cookie = _cookie(headers, cookie_name(scope))
    if cookie is not None and _same(cookie, token):
        return None
    return _refusal(
        401,
        "This ketch UI needs its token: open the address it printed (it ends in ?token=...), "
        "or send the header 'Authorization: Bearer TOKEN'.",
        {"WWW-Authenticate": 'Bearer realm="ketch UI"'},
    )


def _cookie(headers: Headers, name: str) -> str | None:
    for header in headers.getlist("cookie"):
        for part in header.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value
    return None


def _with_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _value in message.get("headers", [])}
            extra = [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in SECURITY_HEADERS.items()
                if name.encode("latin-1") not in present
            ]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


class Guard:
    """ASGI middleware: answers only requests that `Access` lets in, with security headers."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan; the UI has no websocket routes
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if not self.access.allows_host(host):
            return host_refused(host)
        if self.access.token is None:
            return None
        return check_token(scope, headers, self.access.token)
