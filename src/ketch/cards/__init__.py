"""Cards: HTML reports attached to tasks with ``@card``.

In a step decorated with ``@card``, append components to ``current.card``; after the step, the
task renders each card to one self-contained HTML file (inline CSS, images as ``data:`` URIs,
the Vega bundle only when it has a chart, no network) and stores it in the datastore. Read cards
back with :func:`get_cards`, or ``python flow.py card view RUN/STEP/TASK``.

Examples
--------
>>> from ketch import FlowSpec, card, current, step
>>> from ketch.cards import Markdown, ProgressBar
>>> class Report(FlowSpec):  # doctest: +SKIP
...     @card
...     @step
...     def start(self):
...         current.card.append(Markdown("# Training"))
...         self.next(self.end)
"""

from typing import TYPE_CHECKING, Any

from ._records import CARD_TYPES, CardRecord, CardSpec

if TYPE_CHECKING:
    from ._client import (
        Card,
        CardContainer,
        get_cards,
        list_cards,
        live_card_html,
        read_card_html,
        read_card_records,
    )
    from ._components import (
        Artifact,
        CardComponent,
        Error,
        Image,
        Markdown,
        MetaflowCardComponent,
        ProgressBar,
        Table,
        ValueBox,
    )
    from ._vega import VegaChart

# Loaded on first use, so that runs and tasks which make no card do not import them.
_LAZY = {
    **dict.fromkeys(
        [
            "Card",
            "CardContainer",
            "get_cards",
            "list_cards",
            "live_card_html",
            "read_card_html",
            "read_card_records",
        ],
        "_client",
    ),
    **dict.fromkeys(
        [
            "Artifact",
            "CardComponent",
            "Error",
            "Image",
            "Markdown",
            "MetaflowCardComponent",
            "ProgressBar",
            "Table",
            "ValueBox",
        ],
        "_components",
    ),
    "VegaChart": "_vega",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CARD_TYPES",
    "Artifact",
    "Card",
    "CardComponent",
    "CardContainer",
    "CardRecord",
    "CardSpec",
    "Error",
    "Image",
    "Markdown",
    "MetaflowCardComponent",
    "ProgressBar",
    "Table",
    "ValueBox",
    "VegaChart",
    "get_cards",
    "list_cards",
    "live_card_html",
    "read_card_html",
    "read_card_records",
]
