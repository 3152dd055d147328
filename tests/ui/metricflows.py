"""A flow that logs metrics in a foreach, for the UI's chart tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flowrun import Project
from uiflows import run_flow, settings_for

from ketch.settings import Settings

METRIC_FLOW = """
import time
from ketch import FlowSpec, Parameter, card, current, log_metric, log_metrics, step
from ketch.cards import VegaChart


class MetricFlow(FlowSpec):
    scale = Parameter("scale", default=1.0)
    pause = Parameter("pause", default=0.0)

    @step
    def start(self):
        self.lrs = [1, 2, 3]
        self.next(self.train, foreach="lrs")

    @step
    def train(self):
        time.sleep(self.pause * self.input)
        for epoch in range(5):
            log_metrics({"loss": self.scale / (epoch + self.input),
                         "accuracy": self.scale * self.input * epoch / 100}, step=epoch)
        log_metric("final", self.scale * self.input)
        log_metric("noisy", float("nan"))
        log_metric("noisy", 2.0)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @card(type="blank")
    @step
    def end(self):
        values = [{"x": i, "y": i * i % 7} for i in range(10)]
        current.card.append(VegaChart({
            "data": {"values": values},
            "layer": [{"mark": "line", "encoding": {"x": {"field": "x", "type": "quantitative"},
                                                    "y": {"field": "y", "type": "quantitative"}}},
                      {"mark": "point", "encoding": {"x": {"field": "x", "type": "quantitative"},
                                                     "y": {"field": "y", "type": "quantitative"}}}],
        }))


if __name__ == "__main__":
    MetricFlow()
"""


@dataclass
class MetricProject:
    project: Project
    settings: Settings
    runs: list[int]  # scale=1, scale=3, scale=2 (in the order run)


def build_metric_project(root: Path) -> MetricProject:
    project = Project(root)
    project.write("metricflow.py", METRIC_FLOW)
    runs = []
    for scale in ("1", "3", "2"):
        run_id, code = run_flow(project, "metricflow.py", "--scale", scale)
        assert code == 0
        runs.append(run_id)
    return MetricProject(project, settings_for(root), runs)
