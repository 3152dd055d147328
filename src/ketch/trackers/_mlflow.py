"""The ``mlflow`` tracker: a ketch run as an MLflow run, each task as a nested run.

It uses ``MlflowClient`` (never MLflow's fluent, process-global "active run"), configured by
MLflow's own variables (``MLFLOW_TRACKING_URI``...). What goes where (docs/trackers.md):
the experiment is named after the flow (made when missing); the run is named ``Flow/run_id``
with the run's parameters as params and tags ``ketch.pathspec``, ``ketch.flow``,
``ketch.run_id``, ``ketch.user`` and one ``ketch.tag.<tag>`` per user tag; each task is a run
nested in it (``mlflow.parentRunId``) named ``step/task_id``, which receives its metrics with
their steps (0 when the task gave none) and times; statuses are FINISHED, FAILED or KILLED.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Sequence
from typing import Any

from ..metadata._records import MetricPoint
from ._api import ExternalLink, RunEnd, RunInfo, TaskEnd, TaskInfo, Tracker

_BATCH = 1000  # MLflow's most metrics per log_batch call
_PARAMS = 100  # ... and params
_STATUS = {"completed": "FINISHED", "failed": "FAILED", "killed": "KILLED"}


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _client() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # what its import says is not the user's business
        from mlflow import MlflowClient
    return MlflowClient()


class MlflowTracker(Tracker):
    """Sends each run to MLflow (``pip install 'ketch[mlflow]'``)."""

    hint = (
        "Check MLFLOW_TRACKING_URI (a server URL, or sqlite:///mlflow.db) and that "
        "`pip install 'ketch[mlflow]'` is done, or remove mlflow from KETCH_TRACKERS"
    )

    def __init__(self) -> None:
        self.client = _client()
        self.experiment_id = ""
        self.run_id = ""
        self._tasks: dict[int, str] = {}  # ketch task id -> nested MLflow run id

    def start_run(self, run: RunInfo) -> ExternalLink:
        from mlflow.entities import Param

        self.experiment_id = self._experiment(run.flow_name)
        tags = {
            "ketch.pathspec": run.pathspec,
            "ketch.flow": run.flow_name,
            "ketch.run_id": str(run.run_id),
            "ketch.user": run.user,
            "mlflow.user": run.user,
            **{f"ketch.tag.{tag}": "" for tag in run.tags},
        }
        created = self.client.create_run(
            self.experiment_id, start_time=_ms(run.created_at), tags=tags, run_name=run.pathspec
        )
        self.run_id = created.info.run_id
        params = [Param(name, _text(value)) for name, value in run.parameters.items()]
        for i in range(0, len(params), _PARAMS):
            self.client.log_batch(self.run_id, params=params[i : i + _PARAMS])
        return ExternalLink(
            "mlflow", self.run_id, self._url(), {"experiment_id": self.experiment_id}
        )

    def _experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        try:
            return str(self.client.create_experiment(name))
        except Exception:  # made meanwhile by another run of the flow
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return str(found.experiment_id)

    def _url(self) -> str:
        uri = str(self.client.tracking_uri)
        if not uri.startswith(("http://", "https://")):
            return ""  # a local store: `mlflow ui --backend-store-uri URI` shows it
        return f"{uri.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{self.run_id}"

    def start_task(self, task: TaskInfo) -> None:
        tags = {
            "mlflow.parentRunId": self.run_id,
            "ketch.pathspec": task.pathspec,
            "ketch.flow": task.flow_name,
            "ketch.run_id": str(task.run_id),
            "ketch.step": task.step_name,
            "ketch.task_id": str(task.task_id),
        }
        created = self.client.create_run(
            self.experiment_id,
            start_time=_ms(task.created_at),
            tags=tags,
            run_name=f"{task.step_name}/{task.task_id}",
        )
        self._tasks[task.task_id] = created.info.run_id

    def log_metrics(self, task: TaskInfo, points: Sequence[MetricPoint]) -> None:
        from mlflow.entities import Metric

        run_id = self._tasks[task.task_id]
        metrics = [
            Metric(name, value, _ms(timestamp), 0 if step is None else step)
            for name, step, value, timestamp in points
        ]
        for i in range(0, len(metrics), _BATCH):
            self.client.log_batch(run_id, metrics=metrics[i : i + _BATCH])

    def end_task(self, task: TaskInfo, status: TaskEnd) -> None:
        run_id = self._tasks[task.task_id]
        self.client.set_terminated(run_id, _STATUS[status], end_time=_ms(time.time()))

    def end_run(self, status: RunEnd) -> None:
        if self.run_id:
            self.client.set_terminated(self.run_id, _STATUS[status], end_time=_ms(time.time()))


def _text(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value if isinstance(value, str) else json.dumps(value)
