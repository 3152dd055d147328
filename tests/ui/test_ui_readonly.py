"""A store the UI cannot write to (a read-only mount, a colleague's directory): the UI, which
only reads, shows it all the same.

The store is made read-only by a read-only bind mount: the tests run as root, and root writes
through any file mode. The test skips where mounting is not permitted.
"""

from __future__ import annotations

import errno
import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flowrun import Project
from uiflows import DEMO_FLOW, run_flow, running_ui

pytestmark = pytest.mark.slow

NOT_PERMITTED = ("permission denied", "not permitted", "must be superuser")


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@pytest.fixture
def read_only_project(tmp_path: Path) -> Iterator[tuple[Project, int]]:
    """A project with one DemoFlow run, seen through a read-only mount; and the run's id."""
    source = Project(tmp_path / "project")
    source.root.mkdir()
    source.write("demo.py", DEMO_FLOW)
    run_id, code = run_flow(source, "demo.py")
    assert code == 0
    view = tmp_path / "read-only"
    view.mkdir()
    bound = _mount("--bind", str(source.root), str(view))
    if bound.returncode != 0:
        if any(text in bound.stderr.lower() for text in NOT_PERMITTED):
            pytest.skip(f"mounting is not permitted here (EPERM): {bound.stderr.strip()}")
        pytest.fail(f"mount --bind failed: {bound.stderr}")
    try:
        remounted = _mount("-o", "remount,bind,ro", str(view))
        assert remounted.returncode == 0, remounted.stderr
        with pytest.raises(OSError) as info:
            (view / ".ketch" / "probe").write_bytes(b"")
        assert info.value.errno == errno.EROFS
        yield Project(view), run_id
    finally:
        unmounted = subprocess.run(["umount", str(view)], capture_output=True, text=True)
        assert unmounted.returncode == 0, unmounted.stderr


@pytest.mark.xfail(strict=False, reason="needs the read-only store from h11-store")
def test_the_ui_reads_a_store_on_a_read_only_mount(
    read_only_project: tuple[Project, int],
) -> None:
    project, run_id = read_only_project
    with running_ui(project, "-m", "ketch.cli", "ui", "--port", "0") as ui:
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
    assert ui.returncode == 0
