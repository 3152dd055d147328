"""Configs through real runs: ``--config``, ``--config-value``, the environment, defaults; the
values in decorators, parameters and steps; what the Client sees; errors; resume."""

from __future__ import annotations

import json

import pytest
from flowrun import recorded_runs, refused

pytestmark = pytest.mark.slow

FLOW = """
import os
from ketch import Config, FlowSpec, Parameter, config_expr, environment, retry, step

class CfgFlow(FlowSpec):
    cfg = Config("cfg", default="cfg.json")
    extra = Config("extra", default_value={"k": 1, "env": {"E": "e1"}})
    raw = Config("raw-text", default_value="not json", plain=True)
    alpha = Parameter("alpha", default=cfg.alpha)

    @retry(times=config_expr("cfg.retries"))
    @environment(vars={"E": extra.env.E})
    @step
    def start(self):
        print("cfg", self.cfg.a.b, type(self.cfg).__name__, "raw", self.raw)
        print("alpha", self.alpha, "E", os.environ["E"])
        try:
            self.cfg = 1
        except AttributeError as exc:
            print("assign:", exc)
        try:
            self.cfg.a = 1
        except TypeError as exc:
            print("change:", exc)
        if os.environ.get("FAIL_START") and current_attempt() < 1:
            raise ValueError("retry me")
        self.next(self.end)

    @environment(**extra.env_block)
    @step
    def end(self):
        if os.environ.get("FAIL_END"):
            raise ValueError("boom")
        print("end", self.cfg.a.b, os.environ.get("X"))

def current_attempt():
    from ketch import current
    return current.retry_count

if __name__ == "__main__":
    CfgFlow()
"""

EXTRA = {"k": 1, "env": {"E": "e1"}, "env_block": {"vars": {"X": "x1"}}}


def _write(project, retries: int = 1) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    (project.root / "cfg.json").write_text(
        json.dumps({"a": {"b": 5}, "alpha": 0.5, "retries": retries})
    )


def test_values_reach_decorators_parameters_steps_and_the_client(project) -> None:  # type: ignore[no-untyped-def]
    _write(project)
    proc = project.run(
        "flow.py", "--config-value", "extra", json.dumps(EXTRA), "run", FAIL_START="1"
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "cfg 5 ConfigValue raw not json" in out and "alpha 0.5 E e1" in out
    assert "assign: Flow level attributes and Parameters are not modifiable" in out
    assert "change: ConfigValue is immutable" in out
    assert "end 5 x1" in out  # **extra.env_block unpacked into @environment
    assert "retry me" in out  # @retry(times=cfg.retries) gave the step a second attempt
    read = project.client(
        """
        from ketch import Flow
        run = Flow("CfgFlow").latest_run
        print(type(run.data.cfg).__name__, run.data.cfg["a"], run["start"].task.data.raw)
        print(run.data.extra["env_block"], run.data.alpha)
        """
    )
    assert read.stdout.splitlines() == [
        "dict {'b': 5} not json",
        "{'vars': {'X': 'x1'}} 0.5",
    ], read.stderr


def test_a_file_an_environment_value_and_a_parameter_override(project) -> None:  # type: ignore[no-untyped-def]
    _write(project)
    (project.root / "other.json").write_text(json.dumps({"a": {"b": 7}, "alpha": 2, "retries": 0}))
    env = {"METAFLOW_FLOW_CONFIG_VALUE": json.dumps({"extra": EXTRA})}
    proc = project.run("flow.py", "--config", "cfg", "other.json", "run", "--alpha", "3", **env)
    assert proc.returncode == 0, proc.stderr
    assert "cfg 7 ConfigValue" in proc.stdout and "alpha 3 E e1" in proc.stdout
    by_ketch_env = project.run("flow.py", "run", KETCH_FLOW_CONFIG='{"cfg": "other.json"}', **env)
    assert "cfg 7 ConfigValue" in by_ketch_env.stdout, by_ketch_env.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--config", "cfg", "nope.json"), "file 'nope.json' of config 'cfg' cannot be read"),
        (("--config-value", "cfg", "{bad"), "the value of config 'cfg' is not valid JSON"),
        (("--config", "cfg", "cfg.json", "--config-value", "cfg", "{}"), "both a file and a"),
        (("--config", "nosuch", "cfg.json"), "'nosuch' is not a config of CfgFlow"),
        (("--config-value", "cfg", "[1]"), "is a list, not a JSON object"),
    ],
)
def test_bad_config_input_is_a_usage_error_and_records_no_run(project, args, message) -> None:  # type: ignore[no-untyped-def]
    _write(project)
    proc = project.run("flow.py", *args, "run")
    refused(proc, "Bad config", message, code=2)
    assert recorded_runs(project) == []


def test_missing_default_file_and_required_config_are_named(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "flow.py", FLOW.replace('default_value={"k": 1, "env": {"E": "e1"}}', "required=True")
    )
    proc = project.run("flow.py", "run")  # no cfg.json, no value for extra
    refused(proc, "default file 'cfg.json' of config 'cfg'", "config 'extra' is required", code=2)


def test_spawned_tasks_apply_the_stored_values(project) -> None:  # type: ignore[no-untyped-def]
    _write(project)
    proc = project.run(
        "flow.py", "--config-value", "extra", json.dumps(EXTRA), "run", "--executor", "spawn"
    )
    assert proc.returncode == 0, proc.stderr
    assert "cfg 5 ConfigValue" in proc.stdout and "end 5 x1" in proc.stdout


def test_resume_uses_the_configs_of_the_origin_run(project) -> None:  # type: ignore[no-untyped-def]
    _write(project)
    first = project.run(
        "flow.py", "--config-value", "extra", json.dumps(EXTRA), "run", FAIL_END="1"
    )
    assert first.returncode == 1
    (project.root / "cfg.json").write_text(json.dumps({"a": {"b": 99}, "alpha": 1, "retries": 0}))
    refused(
        project.run("flow.py", "--config", "cfg", "cfg.json", "resume"),
        "cannot be given to 'resume'",
        code=2,
    )
    resumed = project.run("flow.py", "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "end 5 x1" in resumed.stdout  # the origin's cfg and extra, not today's file


def test_a_bad_config_expression_names_the_decorator_and_its_line(project) -> None:  # type: ignore[no-untyped-def]
    _write(project)
    flow = (project.root / "flow.py").read_text()
    project.write("flow.py", flow.replace('config_expr("cfg.retries")', 'config_expr("nocfg.x")'))
    proc = project.run("flow.py", "--config-value", "extra", json.dumps(EXTRA), "run")
    refused(proc, "Bad config expression", "name 'nocfg' is not defined", "flow.py:11")
    assert recorded_runs(project) == []


def test_the_runner_passes_config_files_and_values(project) -> None:  # type: ignore[no-untyped-def]
    from ketch import Runner

    project.write(
        "flow.py",
        """
        from ketch import Config, FlowSpec, step

        class RunnerCfgFlow(FlowSpec):
            need = Config("need", required=True)
            cfg = Config("cfg", default_value={"k": "default"})

            @step
            def start(self):
                self.seen = (self.need.x, self.cfg.k)
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            RunnerCfgFlow()
        """,
    )
    (project.root / "c.json").write_text('{"k": "from-file"}')
    options = {"config_value": [("need", {"x": 1})], "config": [("cfg", "c.json")]}
    with Runner("flow.py", show_output=False, **options) as runner:
        run = runner.run().run
    assert run.successful and run["start"].task.data.seen == (1, "from-file")


def test_resume_of_an_older_run_uses_that_runs_configs(project) -> None:  # type: ignore[no-untyped-def]
    _write(project)
    older = dict(EXTRA, env_block={"vars": {"X": "older"}})
    first = project.run(
        "flow.py",
        "--config-value",
        "extra",
        json.dumps(older),
        "run",
        "--run-id-file",
        "first",
        FAIL_END="1",
    )
    second = project.run(
        "flow.py", "--config-value", "extra", json.dumps(EXTRA), "run", FAIL_END="1"
    )
    assert first.returncode == second.returncode == 1
    resumed = project.run("flow.py", "resume", "--origin-run-id", project.run_id("first"))
    assert resumed.returncode == 0, resumed.stderr
    assert "end 5 older" in resumed.stdout  # @environment(**extra.env_block) of that run


def test_the_ketch_command_takes_config_options_after_the_flow_file(project) -> None:  # type: ignore[no-untyped-def]
    _write(project)
    (project.root / "other.json").write_text(json.dumps({"a": {"b": 8}, "alpha": 1, "retries": 0}))
    proc = project.ketch(
        "run",
        "flow.py",
        "--config",
        "cfg",
        "other.json",
        "--config-value",
        "extra",
        json.dumps(EXTRA),
        "--alpha",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    assert "cfg 8 ConfigValue" in proc.stdout and "alpha 2 E e1" in proc.stdout
