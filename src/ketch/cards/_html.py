"""HTML building blocks shared by components and card pages: escaping and the page shell.

Every card is one self-contained document: inline CSS, images as ``data:`` URIs and nothing
fetched from the network, so it opens the same from a file, the UI or an email. A card with a
chart also inlines the Vega bundle, and only those scripts may run (`ketch.cards._bundle`).
"""

from __future__ import annotations

import html
from typing import Any

from . import _bundle

_CSS = """
:root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;--accent:#0969da;
--ok:#1a7f37;--bad:#cf222e;--warn:#9a6700}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px}
header.card-head{border-bottom:1px solid var(--line);margin-bottom:16px;padding-bottom:8px}
header.card-head h1{font-size:20px;margin:0 0 4px}
.meta{color:var(--muted);font-size:12px}
section{margin:20px 0}
h2{font-size:16px;margin:0 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:14px;margin:12px 0 6px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
table.kv td:first-child{width:160px;color:var(--muted)}
td code{white-space:pre-wrap;background:none;padding:0}
.nowrap{white-space:nowrap}
th{background:var(--soft);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
pre,code{font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:8px;
overflow:auto;max-height:480px;margin:4px 0;white-space:pre-wrap;word-break:break-word}
code{background:var(--soft);border-radius:4px;padding:1px 4px}
pre code{background:none;padding:0}
.component{margin:12px 0}
.status-ok{color:var(--ok);font-weight:600}.status-bad{color:var(--bad);font-weight:600}
.badge{display:inline-block;border:1px solid var(--line);border-radius:10px;padding:0 8px;
font-size:12px;color:var(--muted)}
figure{margin:8px 0}figure img{max-width:100%;height:auto;border:1px solid var(--line)}
figcaption{color:var(--muted);font-size:12px}
.progress{margin:8px 0}.progress .label{display:flex;justify-content:space-between;font-size:13px}
.progress .track{height:10px;background:var(--soft);border:1px solid var(--line);
border-radius:5px;overflow:hidden}
.progress .fill{height:100%;background:var(--accent)}
.valuebox{display:inline-block;min-width:160px;border:1px solid var(--line);border-radius:8px;
padding:10px 14px;margin:4px 8px 4px 0;vertical-align:top}
.valuebox .title{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.valuebox .value{font-size:24px;font-weight:600}
.valuebox .sub{color:var(--muted);font-size:12px}
.valuebox.success{border-color:var(--ok)}.valuebox.warning{border-color:var(--warn)}
.valuebox.danger{border-color:var(--bad)}
.error{border:1px solid var(--bad);border-left-width:4px;border-radius:6px;padding:8px 12px;
background:#fff8f8}
.error .title{color:var(--bad);font-weight:600}
.note{color:var(--muted);font-style:italic}
details summary{cursor:pointer;color:var(--muted);font-size:12px}
svg text{font-family:inherit}
.dag .node rect{fill:var(--soft);stroke:#8c959f}
.dag .node.current rect{fill:var(--accent);stroke:var(--accent)}
.dag .node.current text{fill:#fff;font-weight:600}
.dag .edge{fill:none;stroke:#8c959f;stroke-width:1.2}
.dag .edge.foreach{stroke-dasharray:4 3}
.vega .vega-view{width:100%}.vega .vega-view.error{color:var(--bad)}
"""


def esc(value: Any) -> str:
    """Escape any value's text for use in HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str, *, subtitle: str = "") -> str:
    """A complete, self-contained HTML document (with the Vega bundle if it has a chart)."""
    sub = f'<div class="meta">{esc(subtitle)}</div>' if subtitle else ""
    chart = _bundle.has_chart(body)
    # No network, and no script but the Vega bundle's: a card is safe to open from anywhere.
    scripts = f"; script-src {' '.join(_bundle.script_hashes())}" if chart else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        f"img-src data:; style-src 'unsafe-inline'{scripts}\">"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>"
        f'<body><main><header class="card-head"><h1>{esc(title)}</h1>{sub}</header>'
        f"{body}</main>{_bundle.head() if chart else ''}</body></html>\n"
    )


def section(title: str, body: str) -> str:
    return f"<section><h2>{esc(title)}</h2>{body}</section>"


def table(headers: list[str], rows: list[list[str]], *, raw: bool = False, cls: str = "") -> str:
    """A table; cells are escaped unless ``raw`` (then they are HTML already)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if raw else esc(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    thead = f"<thead><tr>{head}</tr></thead>" if headers else ""
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<table{attr}>{thead}<tbody>{body}</tbody></table>"
