"""A store the UI cannot write to (a read-only mount, a colleague's directory, a full disk):
the UI, which only reads, shows it all the same.

The mounts are real (see ``tests/_mounts.py``): the tests run as root, and root writes through
any file mode. They skip where mounting is not permitted.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest
from _mounts import fill, full_disk, read_only_view
from flowrun import Project
from uiflows import DEMO_FLOW, run_flow, running_ui

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, int]:
    """A project with one DemoFlow run; the run's id."""
    project = Project(tmp_path_factory.mktemp("ui-store"))
    project.write("demo.py", DEMO_FLOW)
    run_id, code = run_flow(project, "demo.py")
    assert code == 0
    return project, run_id


def _assert_ui_shows(project: Project, run_id: int, **env: str) -> None:
    with running_ui(project, "-m", "ketch.cli", "ui", "--port", "0", **env) as ui:
        with urllib.request.urlopen(f"{ui.base}/api/DemoFlow", timeout=10) as response:
            assert [r["id"] for r in json.load(response)["runs"]] == [run_id]
        with urllib.request.urlopen(f"{ui.base}/api/DemoFlow/{run_id}/end", timeout=10) as r:
            (end,) = json.load(r)["tasks"]
        task = f"{ui.base}/api/DemoFlow/{run_id}/end/{end['id']}"
        with urllib.request.urlopen(task, timeout=10) as response:
            artifacts = {a["name"]: a for a in json.load(response)["artifacts"]}
        assert artifacts["count"]["preview"]["text"] == "42"
        with urllib.request.urlopen(f"{ui.base}/DemoFlow/{run_id}", timeout=10) as response:
            assert "Timeline" in response.read().decode()
    assert ui.returncode == 0, ui.output
    assert "Traceback" not in ui.output


def test_the_ui_reads_a_store_on_a_read_only_mount(
    finished: tuple[Project, int], tmp_path: Path
) -> None:
    project, run_id = finished
    with read_only_view(project.root, tmp_path / "ro") as view:
        _assert_ui_shows(Project(view), run_id)


def test_the_ui_reads_a_store_on_a_full_disk(finished: tuple[Project, int], tmp_path: Path) -> None:
    project, run_id = finished
    with full_disk(tmp_path / "disk") as disk:
        store = disk / ".ketch"
        shutil.copytree(project.root / ".ketch", store)
        fill(disk)
        _assert_ui_shows(project, run_id, KETCH_HOME=str(store))
