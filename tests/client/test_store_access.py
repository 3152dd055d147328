"""Reading a store that cannot be written: a read-only mount, a full disk. Through the real
commands (``ketch runs``, ``dump``, ``logs``) and the Client, in subprocesses, on real mounts
(see ``tests/_mounts.py``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from _mounts import fill, full_disk, read_only_view
from flowrun import Project

pytestmark = pytest.mark.slow

FLOW = """
from ketch import FlowSpec, step

class StoreFlow(FlowSpec):
    @step
    def start(self):
        self.numbers = [1, 2, 3]
        print("hello from start")
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(self.numbers)

if __name__ == "__main__":
    StoreFlow()
"""


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, str]:
    """A project whose store holds one finished run of StoreFlow; its run id."""
    project = Project(tmp_path_factory.mktemp("store-project"))
    project.write("flow.py", FLOW)
    proc = project.run("flow.py", "run", "--run-id-file", "id")
    assert proc.returncode == 0, proc.stderr
    return project, project.run_id("id")


def _readers(project: Project, run_id: str, **env: str) -> list[subprocess.CompletedProcess[str]]:
    """``ketch runs``, ``dump``, ``logs`` and a Client read, run in ``project.root``."""
    return [
        project.ketch("runs", COLUMNS="200", **env),
        project.run("flow.py", "dump", f"{run_id}/end", **env),
        project.run("flow.py", "logs", f"{run_id}/start", **env),
        project.run(
            "-c",
            "from ketch import Flow; r = Flow('StoreFlow').latest_run; "
            "print(r.id, r.successful, r.data.total, r['start'].task.stdout.strip())",
            **env,
        ),
    ]


def _assert_read(outputs: list[subprocess.CompletedProcess[str]], run_id: str) -> None:
    for proc in outputs:
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    runs, dump, logs, client = (p.stdout for p in outputs)
    assert f"StoreFlow/{run_id}" in runs and "completed" in runs
    assert "total: 6" in dump
    assert logs == "hello from start\n"
    assert client.split() == [run_id, "True", "6", "hello", "from", "start"]


def test_a_read_only_store_can_be_read(finished: tuple[Project, str], tmp_path: Path) -> None:
    project, run_id = finished
    before = sorted(p.name for p in (project.root / ".ketch").iterdir())
    with read_only_view(project.root, tmp_path / "ro") as view:
        _assert_read(_readers(Project(view), run_id), run_id)
        # KETCH_HOME at the read-only store, from a writable directory elsewhere
        elsewhere = Project(tmp_path / "elsewhere")
        elsewhere.root.mkdir()
        shutil.copy(project.root / "flow.py", elsewhere.root)
        _assert_read(_readers(elsewhere, run_id, KETCH_HOME=str(view / ".ketch")), run_id)
    assert sorted(p.name for p in (project.root / ".ketch").iterdir()) == before


def test_writing_to_a_read_only_store_fails_clearly(
    finished: tuple[Project, str], tmp_path: Path
) -> None:
    project, run_id = finished
    with read_only_view(project.root, tmp_path / "ro") as view:
        ro = Project(view)
        run = ro.run("flow.py", "run")
        assert run.returncode == 1
        assert "Traceback" not in run.stderr
        assert f"The ketch store at {view / '.ketch'} cannot be written" in run.stderr
        assert "Read-only file system" in run.stderr
        assert "Workflow starting" not in run.stderr + run.stdout  # refused before any task
        tag = ro.run("flow.py", "tag", "add", "x", "--run-id", run_id)
        assert tag.returncode == 1 and "Traceback" not in tag.stderr
        assert f"The run database {view / '.ketch' / 'ketch.db'} cannot be written" in tag.stderr


def test_a_full_disk_can_be_read_and_refuses_a_run(
    finished: tuple[Project, str], tmp_path: Path
) -> None:
    project, run_id = finished
    with full_disk(tmp_path / "disk") as disk:
        store = disk / ".ketch"
        shutil.copytree(project.root / ".ketch", store)
        fill(disk)
        env = {"KETCH_HOME": str(store)}
        _assert_read(_readers(project, run_id, **env), run_id)

        run = project.run("flow.py", "run", **env)
        assert run.returncode == 1
        assert "Traceback" not in run.stderr
        assert run.stderr.lower().count("no space left on device for the ketch store at") == 1
        assert str(store) in run.stderr and "KETCH_HOME" in run.stderr
        assert "Workflow starting" not in run.stderr + run.stdout

        (disk / "filler").unlink()  # with space again: the refused run left no record
        runs = project.ketch("runs", COLUMNS="200", **env)
        assert runs.returncode == 0 and runs.stdout.count("StoreFlow/") == 1
