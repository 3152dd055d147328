"""Bad input to the flow CLI gets a message that names the thing at fault and a non-zero
exit code, not a traceback (through real runs of ``python flow.py`` and ``ketch``)."""

from __future__ import annotations

import pytest
from flowrun import linear_flow, recorded_runs, refused

pytestmark = pytest.mark.slow

FLOW = linear_flow("TinyFlow")


def test_dump_file_in_a_missing_directory_or_a_directory(ran) -> None:  # type: ignore[no-untyped-def]
    project, run_id = ran
    (project.root / "some_dir").mkdir()
    missing = project.run("flow.py", "dump", f"{run_id}/start", "--file", "missing_dir/out.pkl")
    refused(missing, "--file 'missing_dir/out.pkl'", "'missing_dir' does not exist")
    folder = project.run("flow.py", "dump", f"{run_id}/start", "--file", "some_dir")
    refused(folder, "--file 'some_dir' is a directory")


def test_dump_include_of_a_missing_artifact(ran) -> None:  # type: ignore[no-untyped-def]
    project, run_id = ran
    proc = project.run("flow.py", "dump", f"{run_id}/start", "--include", "x,nonexist")
    refused(proc, "'nonexist'", f"'{run_id}/start'", "Available: name, x, y.")
    assert "'x'" not in proc.stderr  # only the missing one is named
    shown = project.run("flow.py", "dump", f"{run_id}/start", "--include", "y")
    assert shown.returncode == 0 and "y: 'two'" in shown.stdout and "x:" not in shown.stdout


@pytest.mark.parametrize("where", ["missing_dir/id", "some_dir"])
def test_run_id_file_is_checked_before_the_run_is_recorded(project, where: str) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    (project.root / "some_dir").mkdir()
    proc = project.run("flow.py", "run", "--run-id-file", where)
    refused(proc, f"--run-id-file '{where}'")
    assert recorded_runs(project) == []  # no failed run left behind


def test_reserved_parameter_name(project) -> None:  # type: ignore[no-untyped-def]
    path = project.write(
        "flow.py",
        """
        from ketch import FlowSpec, Parameter, step

        class TagFlow(FlowSpec):
            tag = Parameter("tag", default="x")

            @step
            def start(self):
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            TagFlow()
        """,
    )
    for proc in (project.run("flow.py", "run"), project.ketch("run", "flow.py")):
        refused(
            proc,
            "Reserved parameter name",
            "Parameter 'tag'",
            f"{path}, line 5",
            "Reserved names: decospecs, max-log-size,",
        )
    assert recorded_runs(project) == []


def test_ketch_run_of_a_directory(project) -> None:  # type: ignore[no-untyped-def]
    (project.root / "flows").mkdir()
    proc = project.ketch("run", "flows")
    refused(proc, "'flows' is a directory; a flow file is expected")
    assert "does not exist" not in proc.stderr
