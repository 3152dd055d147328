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


def test_a_ketch_home_that_cannot_hold_a_store_is_named(project, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    from _mounts import read_only_view

    project.write("flow.py", FLOW)
    (project.root / "input.txt").write_text("x")
    a_file = project.root / "a-file"
    a_file.write_text("not a directory")
    elsewhere = tmp_path_factory.mktemp("ro-source")
    with read_only_view(elsewhere, tmp_path_factory.mktemp("ro") / "view") as view:
        cases = {
            str(a_file): f"KETCH_HOME={a_file} is a file, not a directory",
            "/proc/ketch-home": "KETCH_HOME=/proc/ketch-home: cannot create directory "
            "/proc/ketch-home: No such file or directory",
            "/proc/self": "KETCH_HOME=/proc/self: the ketch store at /proc/",  # no new files
            str(view / "store"): f"KETCH_HOME={view / 'store'}: cannot create directory "
            f"{view / 'store'}: Read-only file system",
            str(view): f"KETCH_HOME={view}: the ketch store at {view} cannot be written: "
            "creating a file there failed: Read-only file system",
        }
        for home, message in cases.items():
            proc = project.run("flow.py", "run", KETCH_HOME=home)
            assert proc.returncode == 1, (home, proc.stderr)
            assert "Traceback" not in proc.stderr, proc.stderr
            assert message in proc.stderr, (home, proc.stderr)
            assert "Workflow starting" not in proc.stderr + proc.stdout
    listing = project.ketch("runs", KETCH_HOME=str(a_file))
    assert listing.returncode == 1 and "Traceback" not in listing.stderr
    assert f"KETCH_HOME={a_file} is a file, not a directory" in listing.stderr
