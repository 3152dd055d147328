"""In a real Chromium: pages of other origins can neither read the UI nor frame it, and the
UI's own pages (cards included) work under their Content-Security-Policy.

``attacker.test`` resolves to 127.0.0.1 in this browser (``--host-resolver-rules``), as a
name of the attacker's does after DNS rebinding. A second small HTTP server on another port
plays the attacker's site.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from browsers import chromium
from uiflows import CARD_FLOW, RunningUI, UIProject, run_flow, running_ui

pytestmark = pytest.mark.slow

REBOUND = "attacker.test"


class AttackerSite:
    """An HTTP server on another port; ``page`` is the HTML it serves at ``/``."""

    def __init__(self) -> None:
        self.page = ""
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = site.page if self.path == "/" else "<h1>the attacker's own page</h1>"
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium(f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1") as found:
        yield found


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="module")
def attacker() -> Iterator[AttackerSite]:
    site = AttackerSite()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()


@pytest.fixture(scope="module")
def server(ui_project: UIProject, browser: Any) -> Iterator[RunningUI]:
    ui_project.project.write("cards.py", CARD_FLOW)
    _run_id, code = run_flow(ui_project.project, "cards.py")
    assert code == 0
    with running_ui(ui_project.project, "-m", "ketch.cli", "ui", "--port", "0") as ui:
        yield ui


def test_a_page_of_another_origin_cannot_read_the_api(
    page: Any, server: RunningUI, attacker: AttackerSite
) -> None:
    attacker.page = f"""<!doctype html><title>attacker</title><script>
    window.stolen = Promise.all(["/api", "/api/DemoFlow"].map(path =>
      fetch("{server.base}" + path).then(r => r.text(), e => "blocked: " + e)));
    window.opaque = fetch("{server.base}/api", {{mode: "no-cors"}})
      .then(r => r.text().then(t => [r.type, r.status, t]), e => "blocked: " + e);
    </script>"""
    page.goto(attacker.url + "/")
    assert page.evaluate("window.stolen") == ["blocked: TypeError: Failed to fetch"] * 2
    # Without CORS a page may only send a request whose answer it cannot see.
    assert page.evaluate("window.opaque") in (
        ["opaque", 0, ""],
        "blocked: TypeError: Failed to fetch",
    )


def test_a_rebound_name_gets_no_data(page: Any, server: RunningUI) -> None:
    """After DNS rebinding, the attacker's page is same-origin with what answers at its name,
    so the browser lets its script read the answers: the UI must refuse that name."""
    port = server.base.rsplit(":", 1)[1]
    rebound = f"http://{REBOUND}:{port}"
    response = page.goto(rebound + "/")
    assert response.status == 400
    assert f"does not answer to the host '{REBOUND}:{port}'" in page.content()
    script = """paths => Promise.all(paths.map(path =>
        fetch(path).then(r => r.text().then(t => [r.status, t]))))"""
    for status, text in page.evaluate(script, ["/api", "/api/DemoFlow", "/DemoFlow"]):
        assert status == 400 and "DemoFlow" not in text and "Refused" in text


def test_another_origin_cannot_frame_the_ui(
    page: Any, server: RunningUI, attacker: AttackerSite, ui_project: UIProject
) -> None:
    run_id = ui_project.demo_runs[0]
    card = _card_url(server)
    attacker.page = f"""<!doctype html><title>attacker</title>
    <iframe name="flow" src="{server.base}/DemoFlow/{run_id}"></iframe>
    <iframe name="card" src="{server.base}{card}"></iframe>
    <iframe name="own" src="/own"></iframe>"""
    page.goto(attacker.url + "/")
    page.wait_for_load_state("load")
    frames = {frame.name: frame for frame in page.frames if frame.name}
    # The control: a frame of the attacker's own origin loads.
    assert "the attacker's own page" in frames["own"].content()
    for name in ("flow", "card"):  # the browser shows its own error page in their place
        assert frames[name].url == "chrome-error://chromewebdata/", name
        assert "DemoFlow" not in frames[name].content() and "Progress" not in frames[name].content()


def _card_url(server: RunningUI) -> str:
    """The address of the first card of the CardFlow run's start task."""
    with urllib.request.urlopen(f"{server.base}/api/CardFlow", timeout=10) as response:
        run_id = json.load(response)["runs"][0]["id"]
    with urllib.request.urlopen(f"{server.base}/api/CardFlow/{run_id}/start", timeout=10) as r:
        task_id = json.load(r)["tasks"][0]["id"]
    with urllib.request.urlopen(f"{server.base}/api/CardFlow/{run_id}/start/{task_id}") as r:
        return str(json.load(r)["cards"][0]["url"])


def test_the_ui_pages_work_under_their_policy(
    page: Any, server: RunningUI, ui_project: UIProject
) -> None:
    from playwright.sync_api import expect

    refused: list[str] = []
    page.on("console", lambda msg: refused.append(msg.text) if "Policy" in msg.text else None)
    run_id = ui_project.demo_runs[0]
    for path in ("/", "/DemoFlow", f"/DemoFlow/{run_id}", f"/DemoFlow/{run_id}/square"):
        page.goto(server.base + path)
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate("getComputedStyle(document.body).margin") == "0px"  # ketch.css
    card = _card_url(server)
    page.goto(server.base + card.rsplit("/", 1)[0].replace("/-/card", ""))
    # The task page frames its cards (same origin), and sizes each frame to its card.
    progress = page.frame_locator("#card-frame-0").locator(".progress")
    expect(progress).to_contain_text("8 / 8 (100%)")
    height = page.locator("#card-frame-0").evaluate("f => f.getBoundingClientRect().height")
    assert height > 100, "the script that sizes the frames did not run"
    assert refused == [], "the page broke its Content-Security-Policy"


def test_a_ui_with_a_token_works_from_the_printed_address(page: Any, ui_project: UIProject) -> None:
    from playwright.sync_api import expect

    args = ("-m", "ketch.cli", "ui", "--port", "0", "--token", "open-sesame")
    with running_ui(ui_project.project, *args) as ui:
        assert ui.url == f"{ui.base}/?token=open-sesame"
        assert page.goto(ui.base + "/DemoFlow").status == 401
        page.goto(ui.url.replace("/?", "/DemoFlow?"))
        assert page.url == ui.base + "/DemoFlow"  # the token left the address bar
        expect(page.locator("h1")).to_have_text("DemoFlow")
        assert page.evaluate("document.cookie") == ""  # HttpOnly: no script can read it
        assert page.goto(ui.base + "/api").status == 200 and '"flows"' in page.content()
