"""``ketch ui`` and ``python flow.py ui``: start-up checks, the server, the lazy web stack."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request

import pytest
from flowrun import Project
from uiflows import DEMO_FLOW, run_flow, running_ui

from ketch.exceptions import UserError


def test_import_ketch_does_not_import_the_web_stack() -> None:
    code = (
        "import sys, ketch, ketch.ui, ketch.cli._main, ketch.cli._flow\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('starlette', 'uvicorn', 'jinja2', 'httpx', 'anyio')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_web_stack_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from ketch.ui._deps import require_ui_deps

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # makes `import uvicorn` fail
    with pytest.raises(UserError) as info:
        require_ui_deps()
    assert "uvicorn" in info.value.detail
    assert info.value.hint == "pip install 'ketch[ui]'"


def test_ui_without_a_store_says_how_to_make_one(project: Project) -> None:
    proc = project.ketch("ui", "--port", "0", timeout=60)
    assert proc.returncode == 1
    assert "No ketch store found" in proc.stderr
    assert "python flow.py run" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ui_help_shows_the_safe_defaults(project: Project) -> None:
    proc = project.ketch("ui", "--help")
    assert proc.returncode == 0
    assert "127.0.0.1" in proc.stdout and "8324" in proc.stdout


@pytest.mark.slow
def test_ui_on_a_busy_port_fails_clearly(project: Project) -> None:
    project.write("demo.py", DEMO_FLOW)
    run_flow(project, "demo.py")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = project.ketch("ui", "--port", str(port), timeout=60)
    assert proc.returncode == 1
    assert "Cannot start the web UI" in proc.stderr and f"127.0.0.1:{port}" in proc.stderr
    assert "--port" in proc.stderr


@pytest.mark.slow
def test_flow_file_ui_serves_the_project_and_opens_at_the_flow(project: Project) -> None:
    project.write("demo.py", DEMO_FLOW)
    run_id, _code = run_flow(project, "demo.py")
    with running_ui(project, "demo.py", "ui", "--port", "0") as ui:
        assert ui.banner[0].startswith("ketch UI for ") and ".ketch" in ui.banner[0]
        assert ui.url.startswith("http://127.0.0.1:") and ui.url.endswith("/DemoFlow")
        with urllib.request.urlopen(f"{ui.base}/api/DemoFlow", timeout=10) as response:
            data = json.load(response)
        assert [r["id"] for r in data["runs"]] == [run_id]
    assert ui.returncode == 0  # Ctrl-C stops the UI; it is not an error
    assert "ketch UI stopped." in ui.output
