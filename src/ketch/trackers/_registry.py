"""Trackers by name: the built-in ones, or ``package.module:Class`` for a team's own."""

from __future__ import annotations

import importlib

from ..exceptions import UserError
from ._api import Tracker

BUILTINS = {
    "mlflow": "ketch.trackers._mlflow:MlflowTracker",
    "comet": "ketch.trackers._comet:CometTracker",
}


def tracker_names(setting: str) -> list[str]:
    """The names of the ``trackers`` setting (comma-separated), each once, in order."""
    names = [name.strip() for name in setting.split(",")]
    return list(dict.fromkeys(name for name in names if name))


def check_name(name: str) -> None:
    """Refuse a name that is neither built in nor ``module:Class`` (before the run starts)."""
    if name in BUILTINS:
        return
    module, _, attr = name.partition(":")
    if not module or not attr:
        known = ", ".join(BUILTINS)
        raise UserError(
            f"Unknown tracker {name!r}.",
            hint=f"Use {known}, or 'package.module:Class' for your own tracker "
            "(KETCH_TRACKERS or [tool.ketch] trackers; see docs/trackers.md).",
        )


def load_tracker(name: str) -> Tracker:
    """A new instance of the tracker ``name``; raises what importing or making it raised."""
    check_name(name)
    module_name, _, attr = BUILTINS.get(name, name).partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    tracker = cls()
    if not callable(getattr(tracker, "start_run", None)):
        raise TypeError(f"{module_name}:{attr} is not a tracker (it has no start_run method)")
    tracker.name = name
    return tracker  # type: ignore[no-any-return]
