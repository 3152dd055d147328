"""Flows and a project with real runs, shared by the UI tests.

`build_demo_project` runs ``DemoFlow`` twice (a foreach, a static branch, artifacts of many
kinds, logs; the first run tagged ``exp``, the second with other parameters) and ``FailFlow``
once (a step that raises).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from flowrun import Project

from ketch.settings import Settings, resolve

HAS_PANDAS = importlib.util.find_spec("pandas") is not None

DEMO_FLOW = """
from ketch import FlowSpec, Parameter, step
import sys
import numpy as np
try:
    import pandas as pd
except ImportError:
    pd = None


class DemoFlow(FlowSpec):
    \"\"\"A flow that makes artifacts of every kind.\"\"\"

    n = Parameter("n", default=3, help="How many items.")
    alpha = Parameter("alpha", default=0.5)

    @step
    def start(self):
        \"\"\"Make the items.\"\"\"
        self.items = [f"item-{i}" for i in range(self.n)]
        self.next(self.square, foreach="items")

    @step
    def square(self):
        self.result = len(self.input) * self.alpha
        print("squared", self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.results = [i.result for i in inputs]
        self.next(self.fan)

    @step
    def fan(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.side = "a"
        self.next(self.merge)

    @step
    def b(self):
        self.side = "b"
        self.next(self.merge)

    @step
    def merge(self, inputs):
        self.sides = [i.side for i in inputs]
        self.merge_artifacts(inputs, exclude=["side"])
        self.next(self.end)

    @step
    def end(self):
        self.count = 42
        self.ratio = 0.25
        self.flag = True
        self.nothing = None
        self.text = "hello " * 5
        self.long_text = "x" * 5000
        self.numbers = list(range(100))
        self.config = {"lr": 0.01, "layers": [64, 32], "name": "mlp"}
        self.matrix = np.arange(12, dtype="float32").reshape(3, 4)
        if pd is not None:
            self.frame = pd.DataFrame({"x": range(15), "label": [f"r{i}" for i in range(15)]})
        print("the end")
        print("a warning", file=sys.stderr)


if __name__ == "__main__":
    DemoFlow()
"""

FAIL_FLOW = """
from ketch import FlowSpec, step


class FailFlow(FlowSpec):
    @step
    def start(self):
        self.before = 1
        self.next(self.boom)

    @step
    def boom(self):
        raise ValueError("this step always fails")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    FailFlow()
"""


@dataclass
class UIProject:
    project: Project
    settings: Settings
    demo_runs: list[int]  # DemoFlow run ids: [tagged exp (n=3), alpha=0.9 (n=4)]
    fail_run: int

    @property
    def root(self) -> Path:
        return self.project.root


def run_flow(project: Project, flow_file: str, *args: str) -> tuple[int, int]:
    """Run a flow; returns its run id and the exit code (the run may fail)."""
    id_file = project.root / "run-id.txt"
    id_file.unlink(missing_ok=True)
    proc = project.run(flow_file, "run", "--run-id-file", str(id_file), *args)
    assert id_file.exists(), proc.stderr
    return int(id_file.read_text()), proc.returncode


def settings_for(root: Path) -> Settings:
    return resolve(environ={"USER": "tester"}, cwd=root)


def build_demo_project(root: Path) -> UIProject:
    project = Project(root)
    project.write("demo.py", DEMO_FLOW)
    project.write("fail.py", FAIL_FLOW)
    first, code = run_flow(project, "demo.py", "--tag", "exp")
    assert code == 0
    second, code = run_flow(project, "demo.py", "--alpha", "0.9", "--n", "4")
    assert code == 0
    failed, code = run_flow(project, "fail.py")
    assert code == 1
    return UIProject(project, settings_for(root), [first, second], failed)


