"""Metaflow's top-level options and ``METAFLOW_RUN_*`` variables on the flow CLI."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ketch import FlowSpec, Parameter, step
from ketch.cli._flow import build_cli
from ketch.exceptions import UserError

LOCAL = [
    "--metadata=local",
    "--datastore=local",
    "--environment=local",
    "--event-logger=nullSidecarLogger",
    "--monitor=nullSidecarMonitor",
    "--no-pylint",
    "--quiet",
]


class OptsFlow(FlowSpec):
    @step
    def start(self) -> None:
        self.next(self.end)

    @step
    def end(self) -> None:
        pass


def _invoke(*args: str) -> object:
    cli = build_cli(OptsFlow, Path(__file__))
    return CliRunner().invoke(cli, list(args))


def test_local_values_are_accepted() -> None:
    result = _invoke(*LOCAL[:-1], "check")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "The graph looks good!" in result.output  # type: ignore[attr-defined]
    quiet = _invoke(*LOCAL, "check")  # as Metaflow's: nothing to say when all is well
    assert quiet.exit_code == 0 and quiet.output == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("--datastore=azure", ["azure datastore is not supported", "--datastore=local"]),
        ("--metadata=service", ["service metadata provider", "--metadata=local"]),
        ("--environment=fast-bakery", ["--environment=local|pypi|conda|uv"]),
        ("--event-logger=debugLogger", ["--event-logger=nullSidecarLogger"]),
        ("--monitor=debugMonitor", ["--monitor=nullSidecarMonitor"]),
        ("--datastore-root=/data", ["KETCH_HOME=/data"]),
    ],
)
def test_other_values_are_user_errors(option: str, words: list[str]) -> None:
    result = _invoke(option, "check")
    error = result.exception  # type: ignore[attr-defined]
    assert isinstance(error, UserError)
    text = error.format()
    assert f"{option} is not supported" in text
    for word in words:
        assert word in text


def test_an_s3_datastore_without_a_bucket_is_a_user_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KETCH_DATASTORE_URL", raising=False)
    error = _invoke("--datastore=s3", "check").exception  # type: ignore[attr-defined]
    assert isinstance(error, UserError)
    assert "--datastore=s3 needs the bucket" in error.format()
    assert "--datastore-root=s3://BUCKET/PREFIX" in error.format()


def test_unsupported_datastore_prints_a_headline_without_traceback(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    proc = project.run("flow.py", "--datastore=gcs", "run")
    assert proc.returncode == 1
    assert "Unsupported --datastore" in proc.stderr
    assert "Hint: Pass --datastore=local" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (project.root / ".ketch").exists()


FLOW = """
from ketch import FlowSpec, Parameter, step

class EnvFlow(FlowSpec):
    alpha = Parameter("alpha", default="a")
    beta = Parameter("beta-value", default="b")
    flag = Parameter("bool_param", default=True)

    @step
    def start(self):
        print("VALUES", self.alpha, self.beta, self.flag)
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    EnvFlow()
"""


@pytest.mark.slow
def test_metaflow_run_variables_are_read(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    proc = project.run(
        "flow.py",
        *LOCAL,
        "run",
        METAFLOW_RUN_ALPHA="mf",
        METAFLOW_RUN_BETA_VALUE="named-by-parameter",
        METAFLOW_RUN_BOOL_PARAM="False",
    )
    assert proc.returncode == 0, proc.stderr
    # --quiet drops ketch's own messages, as Metaflow's does, but not the tasks' output
    assert "VALUES mf named-by-parameter False" in proc.stdout
    assert "Validating your flow" not in proc.stderr and "executing" not in proc.stderr


@pytest.mark.slow
def test_ketch_variable_wins_over_metaflow_one(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    proc = project.run(
        "flow.py",
        "run",
        METAFLOW_RUN_ALPHA="mf",
        KETCH_RUN_ALPHA="ketch",
        KETCH_RUN_BETA_VALUE="kb",
        METAFLOW_RUN_BETA_VALUE="mb",
    )
    assert proc.returncode == 0, proc.stderr
    assert "VALUES ketch kb True" in proc.stdout


def test_metaflow_variables_reach_run_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KETCH_RUN_MAX_WORKERS", raising=False)
    monkeypatch.setenv("METAFLOW_RUN_MAX_WORKERS", "0")
    error = _invoke("run").exception  # type: ignore[attr-defined]
    assert isinstance(error, UserError)
    assert "--max-workers must be at least 1, got 0" in str(error)
    monkeypatch.setenv("KETCH_RUN_MAX_WORKERS", "-3")
    error = _invoke("run").exception  # type: ignore[attr-defined]
    assert "got -3" in str(error)


class ParamFlow(FlowSpec):
    rate = Parameter("learning-rate", default=0.1)

    @step
    def start(self) -> None:
        self.next(self.end)

    @step
    def end(self) -> None:
        pass


def test_parameter_variable_is_named_by_the_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KETCH_RUN_LEARNING_RATE", "KETCH_RUN_RATE"):
        monkeypatch.delenv(name, raising=False)
    run = build_cli(ParamFlow, Path(__file__)).commands["run"]
    option = next(p for p in run.params if p.name == "rate")
    ctx = click.Context(run, auto_envvar_prefix="KETCH_RUN")
    monkeypatch.setenv("METAFLOW_RUN_LEARNING_RATE", "0.5")
    assert option.resolve_envvar_value(ctx) == "0.5"
    monkeypatch.setenv("KETCH_RUN_RATE", "0.7")  # click's name for it: the attribute's
    assert option.resolve_envvar_value(ctx) == "0.7"
    monkeypatch.setenv("KETCH_RUN_LEARNING_RATE", "0.9")
    assert option.resolve_envvar_value(ctx) == "0.9"
