"""The run page draws a switch: a hexagon with its condition, its case keys on its edges."""

from __future__ import annotations

import pytest
from uiflows import LOCAL, run_flow, settings_for

pytestmark = pytest.mark.slow

LOOP = """
from ketch import FlowSpec, step


class LoopFlow(FlowSpec):
    @step
    def start(self):
        self.count = 0
        self.next(self.loop)

    @step
    def loop(self):
        self.count += 1
        self.state = "again" if self.count < 3 else "done"
        self.next({"again": self.loop, "done": self.end}, condition="state")

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LoopFlow()
"""


def test_run_page_draws_the_switch_and_its_loop(project) -> None:  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    project.write("loop.py", LOOP)
    run_id, code = run_flow(project, "loop.py")
    assert code == 0
    with TestClient(create_app(settings_for(project.root)), base_url=LOCAL) as client:
        page = client.get(f"/LoopFlow/{run_id}")
    assert page.status_code == 200
    svg = page.text[page.text.index('<svg class="dag"') :]
    assert '<polygon class="box switch"' in svg
    assert "switch: state · 3 tasks" in svg
    assert '<text class="case"' in svg and ">again</text>" in svg and ">done</text>" in svg
