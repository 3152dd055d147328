"""Flow sources for the card tests (written into a project and run in real processes)."""

from __future__ import annotations

PNG = """
import struct, zlib

def png_bytes():
    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc
    row = b"\\x00" + bytes([10, 200, 30]) * 4
    header = struct.pack(">IIBBBBB", 4, 3, 8, 2, 0, 0, 0)
    return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * 3)) + chunk(b"IEND", b""))
"""

REPORT = (
    PNG
    + """
from ketch import FlowSpec, Parameter, card, current, step
from ketch.cards import (Artifact, Error, Image, Markdown, ProgressBar, Table, ValueBox,
                         VegaChart)


class ReportFlow(FlowSpec):
    alpha = Parameter("alpha", default=0.5, help="Learning rate")

    @card
    @card(type="blank", id="summary", options={"title": "Summary"})
    @step
    def start(self):
        self.scores = [0.5, 0.75, 0.9]
        self.model_name = "forest<1>"
        self.big_blob = b"z" * (3 << 20)
        current.card.append(Markdown("# Report for <script>alert(1)</script>"))
        current.card.append(Table([["a", 1], ["b", 2]], headers=["letter", "count"]))
        current.card.append(Image(png_bytes(), label="green pixels"))
        current.card.append(Artifact(self.scores, name="scores preview"))
        current.card.append(VegaChart({
            "mark": "bar", "title": "score chart",
            "data": {"values": [{"k": "x", "v": 1}, {"k": "y", "v": 3}]},
            "encoding": {"x": {"field": "k", "type": "nominal"},
                         "y": {"field": "v", "type": "quantitative"}}}))
        bar = ProgressBar(max=4, label="epochs")
        current.card["summary"].append(bar, id="progress")
        current.card["summary"].append(ValueBox(title="accuracy", value=0.9))
        try:
            raise ValueError("shown, not raised")
        except ValueError as exc:
            current.card["summary"].append(Error(exc, title="A handled error"))
        for epoch in range(4):
            current.card["summary"].components["progress"].update(epoch + 1)
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(self.scores)


if __name__ == "__main__":
    ReportFlow()
"""
)

BROKEN = """
import time
from ketch import FlowSpec, card, current, step
from ketch.cards import CardComponent, Markdown


class Explodes(CardComponent):
    def render(self):
        raise RuntimeError("component exploded")


class Slow(CardComponent):
    def render(self):
        time.sleep(30)
        return "late"


class BrokenCardFlow(FlowSpec):
    @card
    @step
    def start(self):
        current.card.append(Markdown("fine"))
        current.card.append(Explodes())
        self.next(self.slow)

    @card(timeout=1)
    @step
    def slow(self):
        current.card.append(Slow())
        self.next(self.end)

    @card
    @step
    def end(self):
        current.card.append(Markdown("the end card"))


if __name__ == "__main__":
    BrokenCardFlow()
"""

PLAIN = """
import os
from ketch import FlowSpec, card, current, step
from ketch.cards import Markdown


class PlainFlow(FlowSpec):
    @step
    def start(self):
        self.x = 1
        if os.environ.get("USE_CARD"):
            current.card.append(Markdown("appended via --with card"))
        self.next(self.middle)

    @card(type="blank", id="own")
    @step
    def middle(self):
        if os.environ.get("FAIL_MIDDLE"):
            raise RuntimeError("middle failed on purpose")
        self.next(self.end)

    @step
    def end(self):
        if os.environ.get("TOUCH_CARD"):
            current.card.append(Markdown("no card here"))


if __name__ == "__main__":
    PlainFlow()
"""

LIVE = """
import time
from ketch import FlowSpec, card, current, step
from ketch.cards import ProgressBar


class LiveFlow(FlowSpec):
    @card(type="blank")
    @step
    def start(self):
        bar = ProgressBar(max=10, label="work")
        current.card.append(bar)
        for i in range(10):
            bar.update(i + 1)
            current.card.refresh()
            time.sleep(0.4)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LiveFlow()
"""

BAD_DECORATOR = """
from ketch import FlowSpec, card, step


class BadFlow(FlowSpec):
    {decorators}
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BadFlow()
"""
