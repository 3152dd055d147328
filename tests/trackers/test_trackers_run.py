"""Runs sent to trackers: MLflow and Comet (real packages, local stores), a team's own
tracker by dotted path, and trackers that fail without failing the run."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flowrun import refused

FLOW = """
from ketch import FlowSpec, Parameter, log_metric, log_metrics, step

class TrackedFlow(FlowSpec):
    lr = Parameter("lr", default=0.1)

    @step
    def start(self):
        self.rates = [1, 2]
        self.next(self.train, foreach="rates")

    @step
    def train(self):
        for epoch in range(4):
            log_metrics({"loss": self.input / (epoch + 1), "acc": epoch / 4}, step=epoch)
        log_metric("final", self.input * 1.5)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    TrackedFlow()
"""

KETCH_METRICS = """
import json
from ketch import Flow, namespace
namespace(None)
run = Flow("TrackedFlow").latest_run
links = {name: [link.external_id, link.url] for name, link in run.trackers.items()}
points = [[m.pathspec, m.name, m.step, m.value] for m in run.metrics]
print(json.dumps({"run_id": run.id, "links": links, "points": points}))
"""

READ_MLFLOW = """
import json, warnings
warnings.simplefilter("ignore")
from mlflow import MlflowClient

client = MlflowClient()
experiment = client.get_experiment_by_name("TrackedFlow")
out = {}
for run in client.search_runs([experiment.experiment_id]):
    tags = {k: v for k, v in run.data.tags.items() if k.startswith(("ketch.", "mlflow.parent"))}
    histories = {
        key: [[m.step, m.value] for m in client.get_metric_history(run.info.run_id, key)]
        for key in run.data.metrics
    }
    out[run.info.run_name] = {
        "id": run.info.run_id,
        "status": run.info.status,
        "params": run.data.params,
        "tags": tags,
        "metrics": histories,
    }
print(json.dumps(out))
"""


def _ketch(project: Any) -> dict[str, Any]:
    out = project.client(KETCH_METRICS)
    assert out.returncode == 0, out.stderr
    found: dict[str, Any] = json.loads(out.stdout)
    return found


def _comet_messages(directory: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    (archive,) = directory.glob("*.zip")
    with zipfile.ZipFile(archive) as zipped:
        experiment = json.loads(zipped.read("experiment.json"))
        lines = zipped.read("messages.json").decode().splitlines()
    return experiment, [json.loads(line) for line in lines if line.strip()]


@pytest.mark.slow
def test_mlflow_and_comet_get_the_run_with_equal_values(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    env = {
        "KETCH_TRACKERS": "mlflow,comet",
        "MLFLOW_TRACKING_URI": f"sqlite:///{project.root / 'mlflow.db'}",
        "COMET_MODE": "offline",
        "COMET_OFFLINE_DIRECTORY": str(project.root / "comet"),
        "COMET_API_KEY": "",
    }
    ran = project.run("flow.py", "run", "--lr", "0.25", "--tag", "nightly", timeout=300, **env)
    assert ran.returncode == 0, ran.stderr
    assert "ketch: warning" not in ran.stdout + ran.stderr
    ketch = _ketch(project)
    pathspec = f"TrackedFlow/{ketch['run_id']}"
    by_task: dict[str, dict[str, list[list[Any]]]] = {}
    for task, name, step, value in ketch["points"]:
        by_task.setdefault(task.split("/", 2)[2], {}).setdefault(name, []).append([step, value])
    assert sorted(by_task) == ["train/2", "train/3"]

    out = project.run("-c", READ_MLFLOW, **env)
    assert out.returncode == 0, out.stderr
    mlflow = json.loads(out.stdout)
    parent = mlflow.pop(pathspec)
    assert parent["status"] == "FINISHED"
    assert parent["params"] == {"lr": "0.25"}
    assert parent["tags"]["ketch.pathspec"] == pathspec
    assert parent["tags"]["ketch.run_id"] == ketch["run_id"]
    assert "ketch.tag.nightly" in parent["tags"]
    assert sorted(mlflow) == ["end/5", "join/4", "start/1", "train/2", "train/3"]
    for name, nested in mlflow.items():
        assert nested["status"] == "FINISHED"
        assert nested["tags"]["mlflow.parentRunId"] == parent["id"]
        assert nested["tags"]["ketch.pathspec"] == f"{pathspec}/{name}"
        expected = {
            metric: [[0 if step is None else step, value] for step, value in points]
            for metric, points in by_task.get(name, {}).items()
        }
        assert nested["metrics"] == expected, name
    assert ketch["links"]["mlflow"] == [parent["id"], ""]  # a local store has no page

    experiment, messages = _comet_messages(project.root / "comet")
    assert experiment["project_name"] == "trackedflow"
    assert set(experiment["tags"]) == {"ketch", "nightly"}
    assert ketch["links"]["comet"][0] == experiment["offline_id"]
    others = {
        m["payload"]["key"]: m["payload"]["value"] for m in messages if m["type"] == "log_other"
    }
    assert others["ketch.pathspec"] == pathspec and others["ketch.status"] == "completed"
    params = {
        m["payload"]["param"]["paramName"]: m["payload"]["param"]["paramValue"]
        for m in messages
        if m["type"] == "parameter_msg" and m["payload"]["param"]["source"] == "manual"
    }
    assert params == {"lr": 0.25}
    comet: dict[str, list[list[Any]]] = {}
    for m in messages:
        metric = m["payload"].get("metric", {})
        if m["type"] == "metric_msg" and metric["metricName"].startswith("train/"):
            comet.setdefault(metric["metricName"], []).append(
                [metric["step"], metric["metricValue"]]
            )
    expected_comet = {
        f"{task}/{name}": [[0 if step is None else step, value] for step, value in points]
        for task, names in by_task.items()
        for name, points in names.items()
    }
    assert comet == expected_comet


RECORDER = """
import json
from ketch.trackers import ExternalLink, Tracker

class Recorder(Tracker):
    def __init__(self):
        self.out = open("events.jsonl", "a")

    def _write(self, *event):
        self.out.write(json.dumps(event) + "\\n")
        self.out.flush()

    def start_run(self, run):
        self._write("start_run", run.pathspec, dict(run.parameters), list(run.tags))
        return ExternalLink("", f"rec-{run.run_id}", f"https://tracker.example/runs/{run.run_id}")

    def start_task(self, task):
        self._write("start_task", task.pathspec, list(task.foreach_indices))

    def log_metrics(self, task, points):
        self._write("log_metrics", task.pathspec, [list(p[:3]) for p in points])

    def end_task(self, task, status):
        self._write("end_task", task.pathspec, status)

    def end_run(self, status):
        self._write("end_run", status)

class Raiser(Tracker):
    def log_metrics(self, task, points):
        raise RuntimeError("the sink is down")
"""


def test_a_tracker_of_its_own_gets_every_event(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    project.write("teamtrackers.py", RECORDER)
    ran = project.run("flow.py", "run", KETCH_TRACKERS="teamtrackers:Recorder", PYTHONPATH=".")
    assert ran.returncode == 0, ran.stderr
    ketch = _ketch(project)
    run_id = ketch["run_id"]
    lines = (project.root / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert events[0] == ["start_run", f"TrackedFlow/{run_id}", {"lr": 0.1}, []]
    assert events[-1] == ["end_run", "completed"]
    kinds = [e[0] for e in events]
    assert kinds.count("start_task") == kinds.count("end_task") == 5
    for task in ("start/1", "train/2", "train/3", "join/4", "end/5"):
        path = f"TrackedFlow/{run_id}/{task}"
        mine = [e[0] for e in events if e[1] == path]
        assert mine[0] == "start_task" and mine[-1] == "end_task", mine
    assert ["start_task", f"TrackedFlow/{run_id}/train/3", [1]] in events
    sent = [p for e in events if e[0] == "log_metrics" for p in e[2]]
    logged = [[m[1], m[2], m[3]] for m in ketch["points"]]
    assert sorted(sent, key=str) == sorted(logged, key=str)  # every point, once
    url = f"https://tracker.example/runs/{run_id}"
    assert ketch["links"] == {"teamtrackers:Recorder": [f"rec-{run_id}", url]}

    from starlette.testclient import TestClient

    from ketch.settings import resolve
    from ketch.ui import create_app

    with TestClient(create_app(resolve(cwd=project.root)), base_url="http://127.0.0.1") as client:
        data = client.get(f"/api/TrackedFlow/{run_id}").json()
        page = client.get(f"/TrackedFlow/{run_id}").text
    assert data["trackers"] == [
        {
            "tracker": "teamtrackers:Recorder",
            "label": "teamtrackers:Recorder",
            "external_id": f"rec-{run_id}",
            "url": url,
        }
    ]
    assert f'href="{url}"' in page


@pytest.mark.slow
def test_failing_trackers_leave_the_run_green_with_one_warning_each(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    project.write("teamtrackers.py", RECORDER)
    ran = project.run(
        "flow.py",
        "run",
        KETCH_TRACKERS="mlflow,teamtrackers:Raiser,missing_module:Tracker",
        MLFLOW_TRACKING_URI="sqlite:////proc/no-such-dir/mlflow.db",
        PYTHONPATH=".",
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    output = ran.stdout + ran.stderr
    assert "Traceback" not in output
    warnings = [line for line in output.splitlines() if line.startswith("ketch: warning")]
    assert len(warnings) == 3, warnings
    mlflow, raiser, missing = (
        next(w for w in warnings if f"tracker '{name}'" in w)
        for name in ("mlflow", "teamtrackers:Raiser", "missing_module:Tracker")
    )
    assert "MLFLOW_TRACKING_URI" in mlflow
    assert "failed in log_metrics (RuntimeError: the sink is down)" in raiser
    assert "ModuleNotFoundError" in missing
    ketch = _ketch(project)
    assert len(ketch["points"]) == 2 * 9  # the metrics stay in ketch
    assert ketch["links"] == {}


def test_an_unknown_tracker_is_refused_before_the_run(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    ran = project.run("flow.py", "run", KETCH_TRACKERS="wandb")
    refused(ran, "Unknown tracker 'wandb'", "package.module:Class")
    assert (
        not (project.root / ".ketch" / "ketch.db").exists() or "Workflow starting" not in ran.stdout
    )


def test_trackers_from_pyproject_as_a_list(tmp_path: Path) -> None:
    from ketch.settings import resolve

    (tmp_path / "pyproject.toml").write_text('[tool.ketch]\ntrackers = ["mlflow", "comet"]\n')
    assert resolve(cwd=tmp_path, environ={}).trackers == "mlflow,comet"
    assert resolve(cwd=tmp_path, environ={"KETCH_TRACKERS": "comet"}).trackers == "comet"
