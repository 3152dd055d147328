"""Experiment trackers: every run sent, as it goes, to MLflow, Comet or a team's own sink.

The ``trackers`` setting (``KETCH_TRACKERS=mlflow,comet``, ``[tool.ketch] trackers = [...]``)
names them: ``mlflow``, ``comet``, or ``package.module:Class`` (a subclass of
:class:`Tracker`). The process that runs the flow forwards the run's parameters, tasks, metrics
(as they are logged) and statuses to them from one background thread; a tracker that fails is
turned off for the run with one warning, and never fails the run. Where a tracker keeps the run
(:class:`ExternalLink`) is stored with the run (``Run.trackers``) and linked from the UI.
See docs/trackers.md.
"""

from __future__ import annotations

from ._api import ExternalLink, RunEnd, RunInfo, TaskEnd, TaskInfo, Tracker

__all__ = ["ExternalLink", "RunEnd", "RunInfo", "TaskEnd", "TaskInfo", "Tracker"]
