"""docs/ui.md documents every page, every JSON endpoint and every option of ``ketch ui``
(and the environment variable of each)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

pytest.importorskip("starlette")

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ui.md").read_text()


def _documented(path: str) -> str:
    """``/{flow}/{run_id}`` -> ``/<Flow>/<run>``, the spelling the docs use."""
    names = {
        "flow": "<Flow>",
        "run_id": "<run>",
        "step": "<step>",
        "task_id": "<task>",
        "position": "<position>",
    }
    return re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], path)


def test_every_page_and_its_json_endpoint_is_documented() -> None:
    from ketch.ui._app import PAGES

    for path, _template, _builder in PAGES:
        shown = _documented(path)
        if shown == "/":
            assert "| `/` |" in DOC and "`GET /api`" in DOC
        elif shown == "/compare":
            assert "`/compare?runs=" in DOC and "`GET /api/compare?runs=" in DOC
        else:
            assert f"| `{shown}`" in DOC, shown
            assert f"`GET /api{shown}`" in DOC, shown
    assert "`GET /api/-/live/<Flow>/<run>`" in DOC and "`?task=<id>`" in DOC


def test_the_card_route_is_documented() -> None:
    from ketch.ui._app import CARD_ROUTE

    assert f"`{_documented(CARD_ROUTE)}`" in DOC
    assert "sandbox allow-same-origin" in DOC


def test_every_option_of_the_ui_command_is_documented() -> None:
    from ketch.ui import ui_command

    for param in ui_command().params:
        for flag in param.opts:
            assert f"`{flag}`" in DOC, flag
        if isinstance(param, click.Option) and param.envvar:
            assert f"`{param.envvar}`" in DOC, param.envvar
