"""A small, safe Markdown renderer for the ``Markdown`` component (no dependency).

It covers what cards use: headings, paragraphs, emphasis, inline code, fenced code, lists,
block quotes, rules and links. Raw HTML is escaped, never passed through; links only keep
``http``, ``https``, ``mailto``, relative and ``#`` targets.
"""

from __future__ import annotations

import re

from ._html import esc

_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)|(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?!\w)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ULIST = re.compile(r"^\s*[-*+]\s+(.*)$")
_OLIST = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_SAFE_URL = re.compile(r"^(https?:|mailto:|#|/|\./|\.\./|[\w\-./]+$)", re.IGNORECASE)


def render_markdown(text: str) -> str:
    """Markdown ``text`` as escaped HTML."""
    out: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        i = _block(lines, i, out)
    return "".join(out)


def _block(lines: list[str], i: int, out: list[str]) -> int:
    line = lines[i]
    if not line.strip():
        return i + 1
    if line.lstrip().startswith("```"):
        return _fence(lines, i, out)
    heading = _HEADING.match(line)
    if heading:
        level = len(heading.group(1))
        out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        return i + 1
    if _RULE.match(line):
        out.append("<hr>")
        return i + 1
    if line.lstrip().startswith(">"):
        j = i
        while j < len(lines) and lines[j].lstrip().startswith(">"):
            j += 1
        quoted = "\n".join(item.lstrip()[1:].lstrip() for item in lines[i:j])
        out.append(f"<blockquote>{render_markdown(quoted)}</blockquote>")
        return j
    for pattern, tag in ((_ULIST, "ul"), (_OLIST, "ol")):
        if pattern.match(line):
            items = []
            while i < len(lines) and (found := pattern.match(lines[i])):
                items.append(f"<li>{inline(found.group(1))}</li>")
                i += 1
            out.append(f"<{tag}>{''.join(items)}</{tag}>")
            return i
    j = i
    while j < len(lines) and lines[j].strip() and not _starts_block(lines[j]):
        j += 1
    j = max(j, i + 1)
    out.append(f"<p>{inline(' '.join(s.strip() for s in lines[i:j]))}</p>")
    return j


def _starts_block(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("```", ">", "#")) or bool(
        _ULIST.match(line) or _OLIST.match(line) or _RULE.match(line)
    )


def _fence(lines: list[str], i: int, out: list[str]) -> int:
    language = lines[i].strip()[3:].strip()
    j = i + 1
    while j < len(lines) and not lines[j].lstrip().startswith("```"):
        j += 1
    cls = f' class="language-{esc(language)}"' if language else ""
    out.append(f"<pre><code{cls}>{esc(chr(10).join(lines[i + 1 : j]))}</code></pre>")
    return j + 1


def inline(text: str) -> str:
    """Inline Markdown of one line or paragraph, escaped."""
    codes: list[str] = []

    def keep_code(match: re.Match[str]) -> str:
        codes.append(f"<code>{esc(match.group(1))}</code>")
        return f"\x00{len(codes) - 1}\x00"

    text = esc(_CODE.sub(keep_code, text.replace("\x00", "")))
    text = _LINK.sub(_link, text)
    text = _BOLD.sub(lambda m: f"<strong>{m.group(1) or m.group(2)}</strong>", text)
    text = _ITALIC.sub(lambda m: f"<em>{m.group(1) or m.group(2)}</em>", text)
    return re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], text)


def _link(match: re.Match[str]) -> str:
    label, url = match.group(1), match.group(2)
    if not _SAFE_URL.match(url):
        return label
    return f'<a href="{url}">{label}</a>'
