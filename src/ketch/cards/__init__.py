"""Cards: HTML reports attached to tasks with ``@card``.

In a step decorated with ``@card``, append components to ``current.card``; after the step, the
task renders each card to one self-contained HTML file (inline CSS, images as ``data:`` URIs, no
script, no network) and stores it in the datastore. Read cards back with :func:`get_cards`, or
``python flow.py card view RUN/STEP/TASK``.

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
from ._records import CARD_TYPES, CardRecord, CardSpec
from ._vega import VegaChart

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
