"""A function assigned to ``self`` is not stored (as in Metaflow 2.19, which drops it without a
word); ketch says so with one warning line in the task's log that names the attribute."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

FLOW = """
from ketch import FlowSpec, step

class FuncFlow(FlowSpec):
    @step
    def start(self):
        def double(v):
            return 2 * v
        self.f = lambda v: v
        self.g = double
        self.h = self.helper
        self.x = self.f(1) + self.g(1)
        self.next(self.end)

    def helper(self):
        pass

    @step
    def end(self):
        print("SEEN", self.x, [hasattr(self, n) for n in ("f", "g", "h")])

if __name__ == "__main__":
    FuncFlow()
"""


def test_a_function_artifact_is_dropped_with_a_warning(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    done = project.run("flow.py", "run", "--run-id-file", "run-id")
    assert done.returncode == 0, done.stderr
    assert "SEEN 3 [False, False, False]" in done.stdout  # the next step does not see them
    run_id = project.run_id()
    logs = project.run("flow.py", "logs", f"{run_id}/start", "--stderr")
    assert logs.returncode == 0, logs.stderr
    warnings = [line for line in logs.stdout.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 3, logs.stdout
    assert "self.f was not stored: it holds a lambda" in warnings[0]
    assert "self.g was not stored: it holds a function" in warnings[1]
    assert "self.h was not stored: it holds a method" in warnings[2]
    end = project.run("flow.py", "logs", f"{run_id}/end", "--stderr")
    assert "Warning" not in end.stdout
