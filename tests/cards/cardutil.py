"""Helpers shared by the card tests: a tiny PNG and the self-containment check."""

from __future__ import annotations

import re
import struct
import zlib

NETWORK_REF = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def png_bytes(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid RGB PNG, built with zlib and struct only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def assert_self_contained(html: str) -> None:
    """No script but the vendored Vega bundle (with charts: once, allowed by hash) and the
    charts' JSON, and nothing a browser would fetch from the network."""
    from ketch.cards import _bundle

    assert html.startswith("<!DOCTYPE html>")
    if _bundle.has_chart(html):
        assert html.count(_bundle.head()) == 1
        html = html.replace(_bundle.head(), "").replace('<script type="application/json">', "")
    assert "<script" not in html.lower()
    assert not NETWORK_REF.search(html), NETWORK_REF.search(html)
    assert "url(http" not in html and "@import" not in html
