"""Card components render escaped, self-contained HTML."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import pytest
from cardutil import NETWORK_REF, assert_self_contained, png_bytes

from ketch.cards import (
    Artifact,
    CardComponent,
    Error,
    Image,
    Markdown,
    ProgressBar,
    Table,
    ValueBox,
    VegaChart,
)
from ketch.cards._components import render_component
from ketch.cards._html import page
from ketch.exceptions import UserError

EVIL = "<script>alert('x')</script>"


def test_markdown_renders_and_escapes_raw_html() -> None:
    html = Markdown(f"# Title {EVIL}\n\nSome **bold**, *em* and `<code>`.\n\n- a\n- b").render()
    assert "<h1>Title &lt;script&gt;" in html
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert "<code>&lt;code&gt;</code>" in html
    assert "<ul><li>a</li><li>b</li></ul>" in html
    assert "<script" not in html


def test_markdown_code_fences_and_safe_links() -> None:
    text = "```python\nx = '<b>'\n```\n\n[ok](https://example.org) [bad](javascript:alert(1))"
    html = Markdown(text).render()
    assert '<pre><code class="language-python">x = &#x27;&lt;b&gt;&#x27;</code></pre>' in html
    assert '<a href="https://example.org">ok</a>' in html
    assert "javascript" not in html


def test_markdown_update() -> None:
    md = Markdown("one")
    md.update("two")
    assert "two" in md.render() and "one" not in md.render()


def test_table_escapes_cells_and_headers_and_nests_components() -> None:
    html = Table([[1, EVIL], [2.5, Markdown("**x**")]], headers=["n", "<h>"]).render()
    assert "<th>&lt;h&gt;</th>" in html
    assert "&lt;script&gt;" in html and "<script" not in html
    assert '<td class="num">2.5</td>' in html
    assert "<strong>x</strong>" in html


def test_table_from_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1, 2], "b": ["<x>", "y"]})
    html = Table.from_dataframe(frame).render()
    assert "<th>a</th><th>b</th>" in html and "&lt;x&gt;" in html
    indexed = Table.from_dataframe(frame.set_index("b")).render()
    assert "<th>b</th><th>a</th>" in indexed
    big = Table.from_dataframe(pd.DataFrame({"a": range(1500)})).render()
    assert "1000 of 1500 rows shown" in big


def _img_src(html: str) -> bytes:
    match = re.search(r'src="data:image/png;base64,([^"]+)"', html)
    assert match, html
    return base64.b64decode(match.group(1))


def test_image_embeds_png_bytes_as_data_uri() -> None:
    data = png_bytes()
    html = Image(data, label="<red>").render()
    assert _img_src(html) == data
    assert "<figcaption>&lt;red&gt;</figcaption>" in html
    assert_self_contained(page("t", html))


def test_image_rejects_bytes_that_are_not_an_image() -> None:
    assert "could not be shown" in Image(b"not an image").render()
    with pytest.raises(UserError, match="not image bytes"):
        Image(12)  # type: ignore[arg-type]


class _FakeFigure:
    def savefig(self, buffer: io.BytesIO, format: str, **kwargs: Any) -> None:
        assert format == "png"
        buffer.write(png_bytes(2, 2))


class _FakePil:
    mode = "RGB"

    def save(self, buffer: io.BytesIO, format: str) -> None:
        assert format == "PNG"
        buffer.write(png_bytes(3, 3))


def test_image_from_figure_like_and_pil_like_objects() -> None:
    assert _img_src(Image.from_matplotlib(_FakeFigure()).render()) == png_bytes(2, 2)

    class Axes:
        figure = _FakeFigure()

    assert _img_src(Image.from_matplotlib(Axes()).render()) == png_bytes(2, 2)
    assert _img_src(Image.from_pil_image(_FakePil()).render()) == png_bytes(3, 3)
    assert _img_src(Image(_FakePil()).render()) == png_bytes(3, 3)


def test_image_from_real_matplotlib() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    assert _img_src(Image.from_matplotlib(fig).render()).startswith(b"\x89PNG")
    plt.close(fig)


def test_image_from_real_pil() -> None:
    pil = pytest.importorskip("PIL.Image")
    assert _img_src(Image.from_pil_image(pil.new("RGB", (4, 4))).render()).startswith(b"\x89PNG")


def test_artifact_previews_bounded_and_survives_broken_repr() -> None:
    html = Artifact({"k": EVIL}, name="<n>").render()
    assert "<h3>&lt;n&gt;</h3>" in html and "&lt;script&gt;" in html and "<script" not in html
    assert len(Artifact(list(range(100_000))).render()) < 2000

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert "Broken" in Artifact(Broken()).render()  # reprlib names the object instead


def test_progress_bar_and_value_box_update() -> None:
    bar = ProgressBar(max=8, label="<epochs>", value=2)
    assert "25%" in bar.render() and "&lt;epochs&gt;" in bar.render()
    bar.update(8, metadata="done")
    assert "100%" in bar.render() and "done" in bar.render()
    assert "0%" in ProgressBar(max=0).render()
    box = ValueBox(title="acc", value=EVIL, theme="success")
    assert "&lt;script&gt;" in box.render() and "valuebox success" in box.render()
    box.update(0.93)
    assert ">0.93<" in box.render()


def test_error_component_shows_type_message_and_traceback() -> None:
    try:
        raise ValueError(EVIL)
    except ValueError as exc:
        html = Error(exc, title="Failed <step>").render()
    assert "Failed &lt;step&gt;" in html
    assert "ValueError: &lt;script&gt;" in html and "Traceback" in html
    assert "<script" not in html
    assert "plain message" in Error("plain message").render()


def test_components_that_cannot_update_say_so() -> None:
    with pytest.raises(UserError, match="cannot be updated"):
        Artifact(1).update(2)


def test_custom_components_and_plain_values() -> None:
    class Shout(CardComponent):
        def render(self) -> str:
            return "<b>HI</b>"

    class DictStyle(CardComponent):  # a Metaflow-style component returning data
        def render(self) -> Any:
            return {"type": "text", "text": EVIL}

    assert "<b>HI</b>" in render_component(Shout())
    assert "&lt;script&gt;" in render_component(DictStyle())
    assert "[1, 2]" in render_component([1, 2])


BAR = {
    "title": "Scores <b>",
    "mark": "bar",
    "data": {"values": [{"k": "a<", "v": 3}, {"k": "b", "v": 5}]},
    "encoding": {
        "x": {"field": "k", "type": "nominal"},
        "y": {"field": "v", "type": "quantitative"},
    },
}


def test_vega_chart_carries_its_spec_as_json() -> None:
    html = VegaChart(BAR).render()
    assert 'data-ketch-vega="vega-lite"' in html and "<svg" not in html
    spec = json.loads(re.search(r'<script type="application/json">(.*?)</script>', html)[1])
    assert spec["data"] == BAR["data"] and spec["width"] == "container"
    assert "a\\u003c" in html  # no "<" inside the element: nothing can close it early
    assert "data-controls" not in html and "data-controls" in VegaChart(BAR, True).render()


def test_vega_chart_modes_and_update() -> None:
    vega = {"$schema": "https://vega.github.io/schema/vega/v6.json", "marks": []}
    assert 'data-ketch-vega="vega"' in VegaChart(vega).render()
    assert 'data-ketch-vega="vega"' in VegaChart({"marks": [], "signals": []}).render()
    chart = VegaChart(BAR)
    chart.update(None)
    assert chart.spec is BAR

    class Altair:
        def to_dict(self) -> dict[str, object]:
            return {"mark": "point"}

    chart.update(Altair())
    assert chart.spec == {"mark": "point"}
    assert VegaChart.from_altair_chart(Altair()).spec == {"mark": "point"}


def test_a_page_inlines_the_bundle_once_only_with_a_chart() -> None:
    plain = page("t", "<p>no chart</p>")
    assert_self_contained(plain)
    charts = page("t", VegaChart(BAR).render() + VegaChart(BAR).render())
    assert charts.count("<script>") == 5 and charts.count("vegaEmbed=") == 1
    policy = re.search(r'Content-Security-Policy" content="([^"]*)"', charts)[1]
    assert policy.count("'sha256-") == 5
    assert "'unsafe-eval'" not in policy and "'unsafe-inline'" not in policy.split("script-src")[1]
    assert not NETWORK_REF.search(charts.replace("http://www.w3.org", ""))
    # text that merely names the marker does not pull the bundle in
    assert "<script>" not in page("t", Markdown("data-ketch-vega=x").render())


def test_the_vendored_vega_bundle_ships_with_its_licenses() -> None:
    from pathlib import Path

    from ketch.cards import _bundle

    for name in _bundle.BUNDLE:
        assert (_bundle.VENDOR / name).stat().st_size > 1000, name
    for package in ("vega", "vega-lite", "vega-embed", "vega-interpreter"):
        text = (_bundle.VENDOR / f"LICENSE-{package}.txt").read_text()
        assert "Redistribution and use in source and binary forms" in text, package
    versions = (_bundle.VENDOR / "VERSIONS.txt").read_text()
    assert "vega 6." in versions and "vega-lite 6." in versions and "vega-embed 7." in versions
    root = Path(__file__).resolve().parents[2]
    assert '"ui/static/vendor/*"' in (root / "pyproject.toml").read_text()  # a wheel ships them
