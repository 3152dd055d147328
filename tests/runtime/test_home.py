"""Where runs are stored: ./.ketch, the nearest one above, or KETCH_HOME; and the cwd of steps."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

FLOW = """
import os
from ketch import FlowSpec, step

class HomeFlow(FlowSpec):
    @step
    def start(self):
        self.cwd = os.getcwd()
        self.data = open("input.txt").read()  # relative to where the user launched the run
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    HomeFlow()
"""


def test_store_is_found_upward_and_steps_run_in_the_launch_directory(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    (project.root / ".ketch").mkdir()
    sub = project.root / "sub" / "dir"
    sub.mkdir(parents=True)
    (sub / "input.txt").write_text("from sub")
    proc = project.run(str(project.root / "flow.py"), "run", cwd=str(sub))
    assert proc.returncode == 0, proc.stderr
    assert not (sub / ".ketch").exists()
    assert (project.root / ".ketch" / "ketch.db").exists()
    out = project.run(
        "-c",
        "from ketch import Flow; t = Flow('HomeFlow').latest_run['start'].task; "
        "print(t.data.cwd, t.data.data)",
        cwd=str(sub),
    )
    assert out.stdout.split() == [str(sub), "from", "sub"]


def test_ketch_home_overrides(project, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    (project.root / "input.txt").write_text("x")
    home = tmp_path_factory.mktemp("elsewhere") / "store"
    proc = project.run("flow.py", "run", KETCH_HOME=str(home))
    assert proc.returncode == 0, proc.stderr
    assert (home / "ketch.db").exists() and not (project.root / ".ketch").exists()
