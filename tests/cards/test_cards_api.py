"""The public names of cards, the weight of importing them, and their documentation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import ketch
import ketch.cards
from ketch.cards._cli import card_group
from ketch.flow import parse_with
from ketch.flow._decorators import CardDecorator

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cards.md").read_text()


def test_card_decorator_and_components_are_exported() -> None:
    assert "card" in ketch.__all__ and ketch.card.__name__ == "card"
    expected = {
        "Markdown",
        "Table",
        "Image",
        "Artifact",
        "VegaChart",
        "ProgressBar",
        "ValueBox",
        "Error",
        "CardComponent",
        "MetaflowCardComponent",
        "get_cards",
        "list_cards",
        "live_card_html",
        "Card",
        "CardContainer",
    }
    assert expected <= set(ketch.cards.__all__)
    for name in ketch.cards.__all__:
        assert getattr(ketch.cards, name) is not None


def test_import_ketch_cards_loads_no_heavy_library() -> None:
    code = "import sys, json, ketch.cards; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in json.loads(out.stdout)}
    heavy = {"matplotlib", "PIL", "pandas", "numpy", "sqlalchemy", "click", "starlette"}
    assert not heavy & loaded


def test_with_card_parses_to_a_card_decorator() -> None:
    deco = parse_with('card:type=blank,id=notes,options={"title": "T"}')
    assert isinstance(deco, CardDecorator) and deco.origin == "--with"
    assert deco.attributes["type"] == "blank" and deco.attributes["id"] == "notes"
    assert deco.attributes["options"] == {"title": "T"} and deco.attributes["timeout"] == 45
    deco.validate("start")


def test_every_card_command_and_option_is_documented() -> None:
    group = card_group("Flow")
    for name, command in group.commands.items():
        assert f"python flow.py card {name}" in DOC, name
        for param in command.params:
            if param.param_type_name == "option":
                assert f"{param.opts[0]}" in DOC, param.opts
    for argument in CardDecorator.defaults:
        assert f"| `{argument}` |" in DOC, argument
