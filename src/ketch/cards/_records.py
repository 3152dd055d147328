"""The records that describe cards: what a step asks for, and what a task stored.

``CardSpec`` travels in the ``TaskSpec`` (from ``@card``); ``CardRecord`` comes back in the
``TaskResult`` and is recorded as the task's private ``_cards`` artifact (a list of dicts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..flow._decorators import CARD_TYPES

__all__ = ["CARD_TYPES", "CARDS_ARTIFACT", "CardRecord", "CardSpec", "live_key"]

CARDS_ARTIFACT = "_cards"
LIVE_PREFIX = "cards/live"


@dataclass(frozen=True)
class CardSpec:
    """One ``@card`` of a step, in the order the decorators were applied."""

    type: str = "default"
    id: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    timeout: float = 45.0
    customize: bool = False
    save_errors: bool = True

    @classmethod
    def from_attributes(cls, attributes: dict[str, Any]) -> CardSpec:
        return cls(
            type=str(attributes["type"]),
            id=attributes["id"],
            options=dict(attributes["options"] or {}),
            timeout=float(attributes["timeout"]),
            customize=bool(attributes["customize"]),
            save_errors=bool(attributes["save_errors"]),
        )


@dataclass(frozen=True)
class CardRecord:
    """A stored card: its type and id, the blob key of its HTML, and its place in the step.

    ``error`` is set when rendering failed and the stored HTML is an error card instead.
    """

    type: str
    id: str | None
    key: str
    position: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CardRecord:
        return cls(
            type=str(data["type"]),
            id=data.get("id"),
            key=str(data["key"]),
            position=int(data.get("position", 0)),
            error=data.get("error"),
        )


def live_key(run_id: int | str, task_id: int | str, position: int) -> str:
    """The mutable storage key where a running task writes a card's latest HTML."""
    return f"{LIVE_PREFIX}/{run_id}/{task_id}/{position}.html"
