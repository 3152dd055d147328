"""``ketch ui`` and ``python flow.py ui``: start-up checks, the server, the lazy web stack."""

from __future__ import annotations

import http.client
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
    assert "pip install starlette uvicorn jinja2" in (info.value.hint or "")


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


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_ui_refuses_a_port_that_does_not_exist(project: Project, port: str) -> None:
    proc = project.ketch("ui", "--port", port)
    assert proc.returncode == 2
    assert f"Invalid value for '--port': {port} is not in the range 0<=x<=65535." in proc.stderr
    assert "Traceback" not in proc.stderr


def test_serve_refuses_a_port_that_does_not_exist() -> None:
    from ketch.ui import serve

    with pytest.raises(UserError) as info:
        serve(port=99999)
    assert info.value.detail == "Port 99999 does not exist: ports go from 1 to 65535."


def test_token_and_no_token_contradict_each_other(project: Project) -> None:
    proc = project.ketch("ui", "--token", "abc", "--no-token")
    assert proc.returncode == 1
    assert "--token and --no-token contradict each other." in proc.stderr


def _get(
    base: str, path: str, host: str | None = None, token: str | None = None
) -> tuple[int, dict[str, str], str]:
    """GET ``path`` as curl would: no redirect followed, ``Host`` and a bearer token as given;
    the status, the headers (lower-case names) and the body."""
    connection = http.client.HTTPConnection(base.split("//")[1], timeout=10)
    headers = {} if host is None else {"Host": host}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        names = {name.lower(): value for name, value in response.getheaders()}
        return response.status, names, response.read().decode()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = Project(tmp_path_factory.mktemp("ui-cli"))
    project.write("demo.py", DEMO_FLOW)
    run_flow(project, "demo.py")
    return project


@pytest.mark.slow
def test_ui_answers_only_requests_addressed_to_it(demo_project: Project) -> None:
    with running_ui(demo_project, "-m", "ketch.cli", "ui", "--port", "0") as ui:
        port = ui.base.rsplit(":", 1)[1]
        status, headers, body = _get(ui.base, "/api/DemoFlow", host=f"attacker.example:{port}")
        assert status == 400
        assert f"does not answer to the host 'attacker.example:{port}'" in body
        assert "--allow-host" in body and "DemoFlow" not in body
        assert headers["x-frame-options"] == "DENY"
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
            status, headers, body = _get(ui.base, "/api/DemoFlow", host=host)
            assert status == 200 and json.loads(body)["flow"] == "DemoFlow"
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "Warning" not in ui.output


@pytest.mark.slow
def test_ui_beyond_loopback_warns_and_makes_up_a_token(demo_project: Project) -> None:
    args = ("-m", "ketch.cli", "ui", "--host", "0.0.0.0", "--port", "0")
    with running_ui(demo_project, *args) as ui:
        assert ui.url.startswith(f"{ui.base}/?token=")
        token = ui.url.split("?token=")[1]
        assert len(token) >= 32
        assert _get(ui.base, "/api/DemoFlow")[0] == 401
        status, _headers, body = _get(ui.base, "/api/DemoFlow", token=token)
        assert status == 200 and json.loads(body)["flow"] == "DemoFlow"
        assert _get(ui.base, "/api/DemoFlow", token="guess")[0] == 403
        # Opened from the printed address: a cookie, and the same address without the token.
        status, headers, _body = _get(ui.base, f"/DemoFlow?token={token}")
        assert status == 303 and headers["location"] == "/DemoFlow"
        assert "HttpOnly" in headers["set-cookie"] and "SameSite=lax" in headers["set-cookie"]
        # Bound to every address, it answers to IP addresses and this machine's name, and
        # still not to a name that could be rebound.
        port = ui.base.rsplit(":", 1)[1]
        for host in (f"10.1.2.3:{port}", f"{socket.gethostname()}:{port}"):
            assert _get(ui.base, "/api", host=host, token=token)[0] == 200, host
        assert _get(ui.base, "/api", host="attacker.example", token=token)[0] == 400
    assert "Warning: the UI listens on 0.0.0.0:" in ui.output
    assert "SSH tunnel" in ui.output and "docs/security.md" in ui.output


@pytest.mark.slow
def test_ui_token_and_allowed_hosts_from_the_environment(demo_project: Project) -> None:
    env = {"KETCH_UI_TOKEN": "s3cret", "KETCH_UI_ALLOWED_HOSTS": "ui.example, tunnel.example"}
    with running_ui(demo_project, "-m", "ketch.cli", "ui", "--port", "0", **env) as ui:
        assert ui.url == f"{ui.base}/?token=s3cret"
        assert _get(ui.base, "/api")[0] == 401  # a token given is required on loopback too
        for host in ("ui.example", "tunnel.example:443", "127.0.0.1"):
            assert _get(ui.base, "/api", host=host, token="s3cret")[0] == 200, host
        assert _get(ui.base, "/api", host="other.example", token="s3cret")[0] == 400
    assert "Warning" not in ui.output and "WARNING" not in ui.output


@pytest.mark.slow
def test_ui_without_a_token_beyond_loopback_warns_loudly(demo_project: Project) -> None:
    args = ("-m", "ketch.cli", "ui", "--host", "0.0.0.0", "--port", "0", "--no-token")
    with running_ui(demo_project, *args, KETCH_UI_TOKEN="ignored") as ui:
        assert "token" not in ui.url
        assert _get(ui.base, "/api/DemoFlow")[0] == 200
    assert "WARNING: the UI listens on 0.0.0.0:" in ui.output
    assert "WITHOUT A TOKEN (--no-token)" in ui.output
