"""@project end to end: ``--branch`` and ``--production`` (also from METAFLOW_BRANCH and
METAFLOW_PRODUCTION), ``current``'s project fields in the tasks and in a parameter's default
function, the system tags on the run, its steps and tasks, and namespaces by project tag.
Recorded against Metaflow 2.19 (see tests/compat for the goldens)."""

from __future__ import annotations

import json

import pytest
from flowrun import Project, recorded_runs, refused

pytestmark = pytest.mark.slow

FLOW = """
import json
from ketch import FlowSpec, Parameter, current, project, step

def who(ctx):
    return current.project_flow_name

@project(name="demo_proj")
class PFlow(FlowSpec):
    seen = Parameter("seen", default=who)

    @step
    def start(self):
        keys = ("project_name", "branch_name", "is_user_branch", "is_production",
                "project_flow_name")
        self.fields = {k: getattr(current, k) for k in keys}
        self.present = ["project_name" in current, current.get("branch_name")]
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    PFlow()
"""

PLAIN = """
from ketch import FlowSpec, current, step

class NFlow(FlowSpec):
    @step
    def start(self):
        self.has = ["project_name" in current, current.get("project_name")]
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    NFlow()
"""


def _fields(project: Project, run_id: str) -> dict[str, object]:
    done = project.client(
        f"""
        import json
        from ketch import Run
        run = Run("PFlow/{run_id}")
        print(json.dumps({{"fields": run["start"].task["fields"].data, "seen": run.data.seen,
                          "present": run["start"].task["present"].data,
                          "tags": sorted(run.system_tags)}}))
        """
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_the_branch_of_a_run(project: Project) -> None:
    project.write("flow.py", FLOW)
    cases = [
        ((), {}, "user.tester", True, False),
        (("--branch", "feat_1"), {}, "test.feat_1", False, False),
        (("--production",), {}, "prod", False, True),
        (("--production", "--branch", "b2"), {}, "prod.b2", False, True),
        ((), {"METAFLOW_BRANCH": "from_env"}, "test.from_env", False, False),
        ((), {"METAFLOW_PRODUCTION": "True"}, "prod", False, True),
    ]
    for options, env, branch, is_user, is_prod in cases:
        done = project.run("flow.py", *options, "run", "--run-id-file", "rid", **env)
        assert done.returncode == 0, done.stderr
        assert f"Project: demo_proj, Branch: {branch}" in done.stderr
        got = _fields(project, project.run_id("rid"))
        flow_name = f"demo_proj.{branch}.PFlow"
        assert got["fields"] == {
            "project_name": "demo_proj",
            "branch_name": branch,
            "is_user_branch": is_user,
            "is_production": is_prod,
            "project_flow_name": flow_name,
        }
        assert got["seen"] == flow_name  # a parameter's default function sees them too
        assert got["present"] == [True, branch]
        assert {"project:demo_proj", f"project_branch:{branch}"} <= set(got["tags"])  # type: ignore[arg-type]


def test_project_tags_are_namespaces(project: Project) -> None:
    project.write("flow.py", FLOW)
    for options in ((), ("--branch", "feat_1")):
        assert project.run("flow.py", *options, "run").returncode == 0
    done = project.client(
        """
        import json
        from ketch import Flow, namespace
        namespace("project:demo_proj")
        everything = len(list(Flow("PFlow")))
        namespace("project_branch:test.feat_1")
        (run,) = Flow("PFlow").runs()
        step_tags = {t for s in run for t in s.system_tags}
        task_tags = {t for s in run for task in s for t in task.system_tags}
        task_tags &= {t for s in run for task in s for a in task for t in a.tags}
        namespace(None)
        filtered = len(Flow("PFlow").runs("project_branch:user.tester"))
        flow = Flow("PFlow")
        print(json.dumps([everything, sorted(step_tags & task_tags), filtered,
                          sorted(flow.tags | flow.user_tags | flow.system_tags)]))
        """
    )
    assert done.returncode == 0, done.stderr
    everything, shared, filtered, flow_tags = json.loads(done.stdout)
    assert everything == 2 and filtered == 1 and flow_tags == []
    assert {"project:demo_proj", "project_branch:test.feat_1"} <= set(shared)


def test_bad_options_are_refused_before_a_run(project: Project) -> None:
    project.write("flow.py", FLOW)
    refused(project.run("flow.py", "--branch", "Bad.X", "run"), "Invalid --branch", "'Bad.X'")
    project.write("bad.py", FLOW.replace('name="demo_proj"', 'name="Bad-Name"'))
    refused(project.run("bad.py", "run"), "@project on flow 'PFlow'", "bad.py:8", "'Bad-Name'")
    fixed = FLOW.replace('name="demo_proj"', 'name="demo_proj", branch="b1"')
    project.write("fixed.py", fixed)
    refused(project.run("fixed.py", "--branch", "b2", "run"), "Conflicting --branch")
    assert recorded_runs(project) == []


def test_a_flow_without_project_has_no_branch_option(project: Project) -> None:
    project.write("plain.py", PLAIN)
    done = project.run("plain.py", "--branch", "x", "run")
    assert done.returncode == 2 and "No such option" in done.stderr
    assert project.run("plain.py", "run", "--run-id-file", "rid").returncode == 0
    got = project.client(
        f"""
        from ketch import Run
        print(Run("NFlow/{project.run_id("rid")}")["start"].task["has"].data)
        """
    )
    assert got.stdout.strip() == "[False, None]"
