"""``python flow.py spin``: one task of a past run re-run with its inputs, in the spin store."""

from __future__ import annotations

import json

import pytest
from flowrun import Project

pytestmark = pytest.mark.slow

FLOW = """
    from ketch import FlowSpec, Parameter, step

    class SpinFlow(FlowSpec):
        scale = Parameter("scale", default=2)

        @step
        def start(self):
            self.items = ["a", "b", "c"]
            self.base = 100
            self.next(self.body, foreach="items")

        @step
        def body(self):
            print("body sees", self.input, self.index, self.base, self.scale)
            if self.base < 0:
                raise ValueError("negative base")
            self.value = f"{self.input}{self.base * self.scale}"
            self.next(self.join)

        @step
        def join(self, inputs):
            self.values = sorted(i.value for i in inputs)
            self.next(self.end)

        @step
        def end(self):
            pass

    if __name__ == "__main__":
        SpinFlow()
"""

READ = """
    import json
    from ketch import Flow, inspect_spin
    inspect_spin(".")
    out = []
    for run in Flow("SpinFlow"):
        for step in run:
            for task in step:
                out.append({{"pathspec": task.pathspec, "index": task.index,
                            "origin": task.origin_pathspec, "successful": task.successful,
                            "data": {{a.id: a.data for a in task}}, "stdout": task.stdout}})
    print(json.dumps(out))
"""


def _spun(project: Project) -> list[dict[str, object]]:
    done = project.client(READ.format())
    assert done.returncode == 0, done.stderr
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found


def _body_tasks(project: Project, run_id: str) -> dict[str, str]:
    """foreach input -> task pathspec of the body tasks of ``run_id``."""
    code = f"""
        from ketch import Run
        for t in Run("SpinFlow/{run_id}")["body"]:
            print(t.data.value[0], t.pathspec)
    """
    done = project.client(code)
    assert done.returncode == 0, done.stderr
    return dict(line.split() for line in done.stdout.splitlines())


@pytest.fixture
def ran(project: Project) -> tuple[Project, str]:
    project.write("flow.py", FLOW)
    done = project.run("flow.py", "run", "--run-id-file", "run-id")
    assert done.returncode == 0, done.stderr
    return project, project.run_id()


def test_spin_reruns_a_foreach_task_with_its_input_and_keeps_it_out_of_history(
    ran: tuple[Project, str],
) -> None:
    project, run_id = ran
    pathspec = _body_tasks(project, run_id)["b"]
    task_id = pathspec.rsplit("/", 1)[1]
    done = project.run("flow.py", "spin", f"{run_id}/body/{task_id}", "--persist")
    assert done.returncode == 0, done.stderr
    assert "body sees b 1 100 2" in done.stdout
    [task] = _spun(project)
    assert task["index"] == 1 and task["origin"] == pathspec and task["successful"]
    data = task["data"]
    assert isinstance(data, dict) and data["value"] == "b200" and data["base"] == 100
    listed = project.client(
        'from ketch import Flow; print(len(list(Flow("SpinFlow"))))'
    )  # the project's history holds the one real run
    assert listed.stdout.strip() == "1"


def test_spin_without_persist_records_no_artifacts(ran: tuple[Project, str]) -> None:
    project, _ = ran
    done = project.run("flow.py", "spin", "body")  # the latest run's first body task
    assert done.returncode == 0, done.stderr
    assert "body sees a 0 100 2" in done.stdout
    [task] = _spun(project)
    assert task["data"] == {} and task["successful"]
    assert "body sees a 0" in str(task["stdout"])


def test_artifacts_module_overrides_inputs_and_parameters(ran: tuple[Project, str]) -> None:
    project, run_id = ran
    project.write("override.py", 'ARTIFACTS = {"base": 7, "scale": 3}\n')
    done = project.run(
        "flow.py",
        "spin",
        f"SpinFlow/{run_id}/body",
        "--artifacts-module",
        "override.py",
        "--persist",
    )
    assert done.returncode == 0, done.stderr
    assert "body sees a 0 7 3" in done.stdout
    [task] = _spun(project)
    assert isinstance(task["data"], dict) and task["data"]["value"] == "a21"


def test_a_failing_spin_exits_non_zero_and_is_recorded_failed(ran: tuple[Project, str]) -> None:
    project, _ = ran
    project.write("override.py", 'ARTIFACTS = {"base": -1}\n')
    done = project.run("flow.py", "spin", "body", "--artifacts-module", "override.py")
    assert done.returncode == 1
    assert "negative base" in done.stdout + done.stderr
    [task] = _spun(project)
    assert task["successful"] is False


def test_spin_a_join_gets_every_parent(ran: tuple[Project, str]) -> None:
    project, _ = ran
    done = project.run("flow.py", "spin", "join", "--persist")
    assert done.returncode == 0, done.stderr
    [task] = _spun(project)
    assert isinstance(task["data"], dict) and task["data"]["values"] == ["a200", "b200", "c200"]


def test_spin_errors_name_the_problem(ran: tuple[Project, str]) -> None:
    project, run_id = ran
    missing = project.run("flow.py", "spin", "nostep")
    assert missing.returncode != 0 and "Step 'nostep' does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr
    other = project.run("flow.py", "spin", f"OtherFlow/{run_id}/body/1")
    assert other.returncode != 0 and "this file's flow is SpinFlow" in other.stderr
    project.write("bad.py", "X = 1\n")
    bad = project.run("flow.py", "spin", "body", "--artifacts-module", "bad.py")
    assert bad.returncode != 0 and "has no ARTIFACTS dict" in bad.stderr
    norun = project.run("flow.py", "spin", "body/3")
    assert norun.returncode != 0 and "does not exist" in norun.stderr


def test_runner_spin_returns_the_spun_task(ran: tuple[Project, str]) -> None:
    from ketch import Runner

    project, _ = ran
    project.write("override.py", 'ARTIFACTS = {"base": 5}\n')
    with Runner("flow.py", show_output=False) as runner:
        result = runner.spin("body", persist=True, artifacts_module="override.py")
        assert result.status == "successful"
        assert result.task.data.value == "a10"
        assert result.task.index == 0


def test_skip_decorators_runs_the_step_without_them(project: Project) -> None:
    project.write(
        "flow.py",
        """
        import os
        from ketch import FlowSpec, environment, step

        class DecoFlow(FlowSpec):
            @environment(vars={"GREETING": "from the decorator"})
            @step
            def start(self):
                print("greeting:", os.environ.get("GREETING", "none"))
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            DecoFlow()
        """,
    )
    assert project.run("flow.py", "run").returncode == 0
    with_them = project.run("flow.py", "spin", "start")
    assert with_them.returncode == 0 and "greeting: from the decorator" in with_them.stdout
    without = project.run("flow.py", "spin", "start", "--skip-decorators")
    assert without.returncode == 0 and "greeting: none" in without.stdout


def test_inspect_spin_without_spins_says_so(ran: tuple[Project, str]) -> None:
    project, _ = ran
    done = project.client("from ketch import inspect_spin; inspect_spin('.')")
    assert done.returncode != 0 and "There is no spin store" in done.stderr
