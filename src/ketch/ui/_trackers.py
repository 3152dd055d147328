"""The run page's links to the experiment trackers that keep the run (docs/trackers.md)."""

from __future__ import annotations

from typing import Any

from ..metadata import MetadataReader

_LABELS = {"mlflow": "MLflow", "comet": "Comet"}


def tracker_links(store: MetadataReader, run_id: int) -> list[dict[str, Any]]:
    """One entry per tracker: its name, label, the run's id there and its page (or "")."""
    return [
        {
            "tracker": link.tracker,
            "label": _LABELS.get(link.tracker, link.tracker),
            "external_id": link.external_id,
            "url": link.url if link.url.startswith(("http://", "https://")) else "",
        }
        for link in store.list_run_links(run_id)
    ]
