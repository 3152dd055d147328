"""Trackers by name: the built-in ones, or ``package.module:Class`` for a team's own."""

from __future__ import annotations

import importlib
from typing import Any

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


def _tracker_class(name: str) -> Any:
    module_name, _, attr = BUILTINS.get(name, name).partition(":")
    return getattr(importlib.import_module(module_name), attr)


def tracker_hint(name: str, tracker: Tracker | None) -> str:
    """How to fix tracker ``name``: its own ``hint`` (that of a built-in's class when it could
    not even be made), else a general one."""
    hint = getattr(tracker, "hint", "")
    if not hint and tracker is None and name in BUILTINS:
        hint = _tracker_class(name).hint  # ketch's modules import their package lazily
    return str(hint or f"Fix {name} or remove it from KETCH_TRACKERS")


def load_tracker(name: str) -> Tracker:
    """A new instance of the tracker ``name``; raises what importing or making it raised."""
    check_name(name)
    tracker = _tracker_class(name)()
    if not callable(getattr(tracker, "start_run", None)):
        target = BUILTINS.get(name, name)
        raise TypeError(f"{target} is not a tracker (it has no start_run method)")
    tracker.name = name
    return tracker  # type: ignore[no-any-return]
