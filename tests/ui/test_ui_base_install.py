"""``pip install ketch && ketch ui``: the web UI works from the base install, in a fresh venv."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from flowrun import Project

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

FLOW = """
from ketch import FlowSpec, step


class PlainFlow(FlowSpec):
    @step
    def start(self):
        self.squares = [i * i for i in range(4)]
        self.next(self.end)

    @step
    def end(self):
        print(sum(self.squares))


if __name__ == "__main__":
    PlainFlow()
"""


def _fresh_venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    python = where / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(REPO)],  # no extras
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return python


def test_pip_install_ketch_then_ketch_ui_serves_the_runs(tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path / "venv")
    project = Project(tmp_path / "project")
    project.root.mkdir()
    project.write("plain.py", FLOW)
    env = {**project.env(), "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    ran = subprocess.run(
        [str(python), "plain.py", "run"], cwd=project.root, env=env, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    ui = subprocess.Popen(
        [str(python.parent / "ketch"), "ui", "--port", "0"],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert ui.stdout is not None
        banner = [ui.stdout.readline(), ui.stdout.readline()]
        assert banner[1].strip(), (banner, ui.stderr.read() if ui.stderr else "")
        url = banner[1].split()[0]
        with urllib.request.urlopen(url, timeout=30) as page:
            html = page.read().decode()
        assert page.status == 200 and "PlainFlow" in html
    finally:
        ui.terminate()
        ui.communicate(timeout=20)
