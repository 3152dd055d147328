"""The Vega bundle a card carries when it has a chart, and the policy that lets it run.

The minified builds of vega, vega-lite, vega-embed and vega-interpreter are vendored in
``ketch/ui/static/vendor`` (``scripts/vendor_vega.py`` updates them; licenses beside them). A
card with a `VegaChart` inlines them once, with a small script that draws every chart of the
page, so the card stays one file that works offline. Expressions run through
vega-interpreter (``ast: true``), so no ``eval`` is needed. Each inline script is allowed by
its SHA-256 in the card's Content-Security-Policy: no other script can run, even in a card.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "ui" / "static" / "vendor"
BUNDLE = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "vega-interpreter.js")
# The attribute that marks a chart in a card's HTML: a card containing it gets the bundle.
MARKER = "data-ketch-vega"

# Draws each chart of the card, then tells the page framing the card its height (the UI
# frames a card with scripts in a sandbox of its own origin, so it cannot measure it itself).
_DRAW = """(function () {
  var base = {renderer: "svg", ast: true, expr: vegaInterpreter.expressionInterpreter};
  var tools = {export: true, source: true, compiled: true, editor: false};
  function tell() {
    if (window.parent === window) return;
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    window.parent.postMessage({ketchCardHeight: height}, "*");
  }
  var drawn = Array.prototype.map.call(document.querySelectorAll("[data-ketch-vega]"),
    function (chart) {
      var view = chart.querySelector(".vega-view");
      var spec = JSON.parse(chart.querySelector("script[type='application/json']").textContent);
      var options = Object.assign({}, base, {mode: chart.getAttribute("data-ketch-vega"),
        actions: chart.hasAttribute("data-controls") ? tools : false});
      return vegaEmbed(view, spec, options).catch(function (error) {
        view.className += " error";
        view.textContent = "This chart could not be drawn: " + error.message;
      });
    });
  Promise.all(drawn).then(tell);
  window.addEventListener("load", tell);
  window.addEventListener("resize", tell);
})();
"""


@functools.cache
def _scripts() -> tuple[str, ...]:
    texts = [(VENDOR / name).read_text(encoding="utf-8") for name in BUNDLE]
    return (*texts, _DRAW)


def script_hashes() -> tuple[str, ...]:
    """The CSP sources (``'sha256-...'``) of the scripts `head` inlines."""
    return tuple(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
        for s in _scripts()
    )


def head() -> str:
    """The ``<script>`` elements of the bundle, and the one that draws the charts (at the end
    of the body: it runs once the charts are in the document)."""
    return "".join(f"<script>{s}</script>" for s in _scripts())


def has_chart(html: str) -> bool:
    return f'{MARKER}="' in html
