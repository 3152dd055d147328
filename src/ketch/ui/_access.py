"""Who may read the UI: the host names a request may address it by, and its token.

A browser lets any web page send requests to ``127.0.0.1``; what keeps a page of another site
from reading the answers is the same-origin policy. DNS rebinding gets around that policy: a
name the attacker controls (``attacker.example``) first points at the attacker's server, then
at ``127.0.0.1``, and the attacker's page, still "same origin", reads the UI. Such requests
carry the attacker's name in their ``Host`` header, so the UI answers only requests that name
it by a host it knows: a loopback name, the host it was bound to, or one allowed explicitly.

The token is for a UI bound beyond loopback, where anyone on the network can connect.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from ..exceptions import UserError

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
TOKEN_PARAM = "token"  # the query parameter that carries the token


def host_name(header: str) -> str | None:
    """The host of a ``Host`` header, lower-case, without port, brackets or a final dot:
    ``"[::1]:8324"`` -> ``"::1"``. None when it is not a host."""
    text = header.strip().lower()
    if text.startswith("["):
        name, sep, rest = text[1:].partition("]")
        if not sep or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
    else:
        name, _sep, port = text.partition(":")
        if port and not port.isdigit():
            return None
    name = name.rstrip(".")
    if is_ip(name):
        return str(ipaddress.ip_address(name))
    if not name or any(c.isspace() or c in "/@?#[]:%" for c in name):
        return None
    return name


def is_ip(name: str) -> bool:
    """Whether ``name`` is an IPv4 or IPv6 address (IPv6 without brackets)."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_loopback(address: str) -> bool:
    """Whether ``address`` (an IP address a socket is bound to) reaches this machine only."""
    try:
        return ipaddress.ip_address(address.partition("%")[0]).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """What a request needs to be answered.

    ``hosts`` are the names a ``Host`` header may carry (any port); with ``any_ip`` any IP
    address may be used too (a wildcard bind: an address cannot be rebound, a name can).
    ``token``, when set, must come with every request.
    """

    hosts: frozenset[str]
    any_ip: bool = False
    token: str | None = None

    def allows_host(self, header: str) -> bool:
        name = host_name(header)
        if name is None:
            return False
        return name in self.hosts or (self.any_ip and is_ip(name))


def allowed_host(value: str) -> str:
    """An ``--allow-host`` value as it is matched (``UI.Example:443`` -> ``ui.example``)."""
    text = value.strip()
    name = host_name(f"[{text}]" if is_ip(text) else text)
    if name is None or "://" in value:
        raise UserError(
            f"'{value}' is not a host name.",
            headline="Bad --allow-host",
            hint="Give the name the browser uses, without scheme or path: --allow-host "
            "ui.example.com.",
        )
    return name


def access_for(
    bind_host: str, *, allow_hosts: Iterable[str] = (), token: str | None = None
) -> Access:
    """The access rule of a UI bound to ``bind_host``: the loopback names, ``bind_host`` (for
    a wildcard bind, this machine's name and any IP address) and ``allow_hosts``."""
    hosts = {*LOOPBACK_NAMES, *(allowed_host(h) for h in allow_hosts)}
    wildcard = bind_host.strip() in WILDCARD_HOSTS
    if wildcard:
        hosts.add(socket.gethostname().lower())
    else:
        hosts.add(allowed_host(bind_host))
    return Access(frozenset(hosts), any_ip=wildcard, token=token or None)
