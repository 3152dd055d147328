"""Flows and a project with real runs, shared by the UI tests.

`build_demo_project` runs ``DemoFlow`` twice (a foreach, a static branch, artifacts of many
kinds, logs; the first run tagged ``exp``, the second with other parameters) and ``FailFlow``
once (a step that raises).
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flowrun import Project

from ketch.settings import Settings, resolve

HAS_PANDAS = importlib.util.find_spec("pandas") is not None
# The address a TestClient uses: the UI answers only requests addressed to a loopback name.
LOCAL = "http://127.0.0.1"

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


CARD_FLOW = """
import time
from ketch import FlowSpec, Parameter, card, current, step
from ketch.cards import Markdown, ProgressBar, Table, ValueBox


class CardFlow(FlowSpec):
    \"\"\"A step with two cards, refreshed while it runs.\"\"\"

    pause = Parameter("pause", default=0.0, help="Seconds per epoch.")

    @card
    @card(type="blank", id="progress", options={"title": "Training progress"})
    @step
    def start(self):
        epochs = 8
        bar = ProgressBar(max=epochs, label="Epochs", value=0)
        loss = ValueBox(title="Loss", value="—", subtitle="after epoch 0")
        current.card["progress"].append(bar)
        current.card["progress"].append(loss)
        history = []
        for epoch in range(1, epochs + 1):
            time.sleep(self.pause)
            history.append(round(1.0 / (epoch + 1), 4))
            bar.update(epoch, metadata=f"epoch {epoch} of {epochs}")
            loss.update(history[-1])
            loss.subtitle = f"after epoch {epoch}"
            current.card.refresh()
        self.history = history
        current.card.append(Markdown("## Results\\nThe loss went down **every** epoch."))
        current.card.append(
            Table([[i + 1, h] for i, h in enumerate(history)], headers=["epoch", "loss"])
        )
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CardFlow()
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


@dataclass
class RunningUI:
    """A ``ui`` command running in a subprocess: the address it printed, then how it ended."""

    process: subprocess.Popen[str]
    banner: list[str]  # the two lines printed at start-up
    url: str  # the address printed (the page it opens at)
    base: str  # scheme, host and port
    output: str = ""  # everything printed, once stopped
    returncode: int | None = None
    errors: list[str] = field(default_factory=list)


@contextlib.contextmanager
def running_ui(project: Project, *args: str, **env: str) -> Iterator[RunningUI]:
    """Run ``python *args`` (a ``ui`` command with ``--port 0``, with ``env`` added to the
    environment) until the block ends, then stop it with Ctrl-C (SIGINT) as a user would."""
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=project.root,
        env=project.env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ui = None
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline(), process.stdout.readline()]
        if not banner[1].strip():
            _out, err = process.communicate(timeout=30)
            raise AssertionError(f"the UI did not start: {banner} {err}")
        url = banner[1].split()[0]
        base = "/".join(url.split("/")[:3])
        ui = RunningUI(process, banner, url, base)
        _wait_until_serving(base + "/api")
        yield ui
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server
            process.kill()
            out, err = process.communicate()
    if ui is not None:
        ui.output, ui.returncode = out + err, process.returncode


def _wait_until_serving(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:  # it answers (a UI with a token says 401)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
