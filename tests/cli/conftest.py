"""A project with one finished run, for the commands that read runs."""

from __future__ import annotations

import pytest

FLOW = """
from ketch import FlowSpec, step

class ErrFlow(FlowSpec):
    @step
    def start(self):
        self.x = 1
        self.y = "two"
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    ErrFlow()
"""


@pytest.fixture
def ran(project):  # type: ignore[no-untyped-def]
    """A project with one successful run of ErrFlow (in flow.py); returns (project, run id)."""
    project.write("flow.py", FLOW)
    done = project.run("flow.py", "run", "--run-id-file", "run-id")
    assert done.returncode == 0, done.stderr
    return project, project.run_id()
