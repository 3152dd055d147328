"""``log_metric`` in tasks that run on a Ray cluster: the points travel back with the result."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from _raycluster import RayCluster
from flowrun import Project

pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.ray]

FLOW = """
from ketch import FlowSpec, log_metric, step

class RayMetricFlow(FlowSpec):
    @step
    def start(self):
        self.items = [1, 2]
        self.next(self.train, foreach="items")

    @step
    def train(self):
        for i in range(100):
            log_metric("loss", self.input / (i + 1), step=i)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    RayMetricFlow()
"""

READ = """
import json
from ketch import Flow, namespace
namespace(None)
run = Flow("RayMetricFlow").latest_run
print(json.dumps(sorted(
    (len(t.metrics), t.metrics[0].value, t.metadata_dict.get("node", "")) for t in run["train"]
)))
"""


def test_remote_tasks_send_their_metrics_back(project: Project, ray_cluster: RayCluster) -> None:
    project.write("flow.py", FLOW)
    done = subprocess.run(
        ray_cluster.command([sys.executable, "flow.py", "run", "--executor", "ray"]),
        cwd=project.root,
        env=project.env(**ray_cluster.env()),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    read = project.client(READ)
    assert read.returncode == 0, read.stderr
    assert [(n, v) for n, v, _ in json.loads(read.stdout)] == [(100, 1.0), (100, 2.0)]
