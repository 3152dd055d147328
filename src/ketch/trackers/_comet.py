"""The ``comet`` tracker: a ketch run as one Comet experiment.

An ``OfflineExperiment`` (a zip file under ``COMET_OFFLINE_DIRECTORY``, uploaded later with
``comet upload``) when ``COMET_MODE=offline`` or no API key is configured, else an
``Experiment`` sent to Comet as it goes. Comet's automatic logging (code, git, environment,
console output, system metrics) is off: the experiment holds what ketch sends. The project is
``COMET_PROJECT_NAME`` or the flow's name in lower case; the experiment is named
``Flow/run_id``, has the run's parameters, tags (the user's, plus ``ketch``), the pathspec and
the ids as "others", and each metric under ``step/task_id/name`` (one experiment holds every
task of the run) with its step (0 when the task gave none), e.g. ``train/3/loss``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from typing import Any

from ..metadata._records import MetricPoint
from ._api import ExternalLink, RunEnd, RunInfo, TaskInfo, Tracker

_QUIET = {
    "log_code": False,
    "log_graph": False,
    "auto_param_logging": False,
    "auto_metric_logging": False,
    "parse_args": False,
    "auto_output_logging": None,
    "log_env_details": False,
    "log_git_metadata": False,
    "log_git_patch": False,
    "log_env_gpu": False,
    "log_env_host": False,
    "log_env_cpu": False,
    "log_env_network": False,
    "log_env_disk": False,
    "display_summary_level": 0,
}


def _comet() -> Any:
    # Its automatic logging is off (``_QUIET``): no check of what was imported before it.
    os.environ.setdefault("COMET_DISABLE_AUTO_LOGGING", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what its import says is not the user's business
        import comet_ml
    return comet_ml


def metric_name(task: TaskInfo, name: str) -> str:
    """The name of a task's metric in the run's experiment."""
    return f"{task.step_name}/{task.task_id}/{name}"


def offline() -> bool:
    """Whether the experiment is written to a local zip file rather than sent."""
    if os.environ.get("COMET_MODE", "").lower() == "offline":
        return True
    comet_ml = _comet()
    return not comet_ml.config.get_config("comet.api_key")


class CometTracker(Tracker):
    """Sends each run to Comet (``pip install 'ketch[comet]'``)."""

    hint = (
        "Check COMET_API_KEY (or COMET_MODE=offline and COMET_OFFLINE_DIRECTORY) and that "
        "`pip install 'ketch[comet]'` is done, or remove comet from KETCH_TRACKERS"
    )

    def __init__(self) -> None:
        self.comet = _comet()
        self.experiment: Any = None

    def start_run(self, run: RunInfo) -> ExternalLink:
        project = os.environ.get("COMET_PROJECT_NAME") or _project(run.flow_name)
        if offline():
            directory = os.environ.get("COMET_OFFLINE_DIRECTORY") or None
            experiment = self.comet.OfflineExperiment(
                project_name=project, offline_directory=directory, **_QUIET
            )
        else:
            experiment = self.comet.Experiment(project_name=project, **_QUIET)
        self.experiment = experiment
        experiment.set_name(run.pathspec)
        experiment.add_tags(["ketch", *run.tags])
        experiment.log_others(
            {
                "ketch.pathspec": run.pathspec,
                "ketch.flow": run.flow_name,
                "ketch.run_id": str(run.run_id),
                "ketch.user": run.user,
            }
        )
        experiment.log_parameters(dict(run.parameters))
        url = "" if isinstance(experiment, self.comet.OfflineExperiment) else experiment.url
        return ExternalLink("comet", experiment.get_key(), url or "", {"project": project})

    def log_metrics(self, task: TaskInfo, points: Sequence[MetricPoint]) -> None:
        for name, step, value, _ in points:
            step = 0 if step is None else step  # as MLflow's default (Comet's: its last step)
            self.experiment.log_metric(metric_name(task, name), value, step=step)

    def end_run(self, status: RunEnd) -> None:
        if self.experiment is not None:
            self.experiment.log_other("ketch.status", status)
            self.experiment.end()


def _project(flow_name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", flow_name.lower()).strip("-") or "ketch"
