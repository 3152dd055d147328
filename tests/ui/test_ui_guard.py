"""What every request passes first: the Host check, the token, the security headers.

The app is the real one over a project with real runs; `test_ui_cli` checks the same through
``ketch ui`` in a subprocess, `test_ui_security` in a browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from uiflows import LOCAL, UIProject

pytest.importorskip("starlette")

HEADERS = {
    "content-security-policy": (
        "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}
TOKEN = "s3cret-Token_42"


def _client(ui_project: UIProject, **access: Any) -> Any:
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    return TestClient(create_app(ui_project.settings, **access), base_url=LOCAL)


@pytest.fixture(scope="module")
def guarded(ui_project: UIProject) -> Iterator[Any]:
    """The UI with a token."""
    with _client(ui_project, token=TOKEN) as client:
        yield client


@pytest.mark.parametrize(
    "host",
    ["attacker.example:8324", "attacker.example", "127.0.0.1.attacker.example", "10.0.0.7:8324"],
)
def test_a_request_addressed_to_another_host_is_refused(client: Any, host: str) -> None:
    response = client.get("/api/DemoFlow", headers={"Host": host})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert f"does not answer to the host '{host}'" in response.text
    assert "--allow-host" in response.text and "KETCH_UI_ALLOWED_HOSTS" in response.text
    assert "DemoFlow" not in response.text


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:8324", "localhost:1234", "LOCALHOST", "[::1]:8324", "[::1]"]
)
def test_loopback_names_are_answered_with_or_without_a_port(client: Any, host: str) -> None:
    response = client.get("/api/DemoFlow", headers={"Host": host})
    assert response.status_code == 200
    assert response.json()["flow"] == "DemoFlow"


def test_allowed_hosts_are_answered_too(ui_project: UIProject) -> None:
    with _client(ui_project, allow_hosts=["UI.example.com:443", "10.0.0.7"]) as client:
        for host in ("ui.example.com", "ui.example.com:8443", "10.0.0.7:8324"):
            assert client.get("/api", headers={"Host": host}).status_code == 200, host
        assert client.get("/api", headers={"Host": "other.example.com"}).status_code == 400


def test_a_url_is_not_an_allowed_host(ui_project: UIProject) -> None:
    from ketch.exceptions import UserError

    with pytest.raises(UserError) as info:
        _client(ui_project, allow_hosts=["https://ui.example.com/"])
    assert info.value.headline == "Bad --allow-host"
    assert "'https://ui.example.com/' is not a host name" in info.value.detail


@pytest.mark.parametrize(
    ("path", "host", "status"),
    [
        ("/", "127.0.0.1", 200),
        ("/DemoFlow", "127.0.0.1", 200),
        ("/api/DemoFlow", "127.0.0.1", 200),
        ("/-/static/ketch.css", "127.0.0.1", 200),
        ("/-/static/ketch.js", "127.0.0.1", 200),
        ("/DemoFlow/1/2/3/4/5", "127.0.0.1", 404),
        ("/api/DemoFlow?limit=0", "127.0.0.1", 400),
        ("/api", "attacker.example", 400),
    ],
)
def test_every_response_carries_the_security_headers(
    client: Any, path: str, host: str, status: int
) -> None:
    response = client.get(path, headers={"Host": host, "Origin": "http://attacker.example"})
    assert response.status_code == status
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "access-control-allow-origin" not in response.headers


def test_a_cors_preflight_gets_no_permission(client: Any) -> None:
    response = client.options(
        "/api",
        headers={"Origin": "http://attacker.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code >= 400
    assert not [h for h in response.headers if h.startswith("access-control-")]


def test_with_a_token_a_request_without_it_is_401(guarded: Any) -> None:
    for path in ("/", "/api/DemoFlow", "/-/static/ketch.css", "/nothing/here"):
        response = guarded.get(path)
        assert response.status_code == 401, path
        assert "needs its token" in response.text and "Authorization: Bearer" in response.text
        assert response.headers["www-authenticate"] == 'Bearer realm="ketch UI"'
        assert response.headers["x-frame-options"] == "DENY"
        assert "DemoFlow" not in response.text


def test_the_token_as_a_bearer_header(guarded: Any) -> None:
    ok = guarded.get("/api/DemoFlow", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and ok.json()["flow"] == "DemoFlow"
    wrong = guarded.get("/api/DemoFlow", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert wrong.status_code == 403 and "bearer token is wrong" in wrong.text
    # The Host check comes first: a right token does not let in a rebound name.
    rebound = {"Authorization": f"Bearer {TOKEN}", "Host": "attacker.example"}
    assert guarded.get("/api/DemoFlow", headers=rebound).status_code == 400


def test_the_token_in_the_address_sets_a_cookie_and_is_dropped(ui_project: UIProject) -> None:
    with _client(ui_project, token=TOKEN) as client:
        response = client.get(
            f"/DemoFlow?status=completed&token={TOKEN}&tag=exp", follow_redirects=False
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/DemoFlow?status=completed&tag=exp"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"ketch_ui_token_80={TOKEN};")
        parts = {p.strip().lower() for p in cookie.split(";")}
        assert {"httponly", "samesite=lax", "path=/"} <= parts
        # The browser follows the redirect with the cookie, then keeps sending it.
        page = client.get(response.headers["location"])
        assert page.status_code == 200 and "DemoFlow" in page.text
        assert client.get("/api").status_code == 200
        assert client.get("/-/static/ketch.css").status_code == 200


def test_a_wrong_or_stale_token_is_refused(ui_project: UIProject) -> None:
    with _client(ui_project, token=TOKEN) as client:
        wrong = client.get("/api?token=guess", follow_redirects=False)
        assert wrong.status_code == 403 and "token in the address is wrong" in wrong.text
        assert "set-cookie" not in wrong.headers
        # A cookie from an earlier UI on this port (it made up another token) is not enough.
        client.cookies.set("ketch_ui_token_80", "an-old-token")
        assert client.get("/api").status_code == 401


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_no_route_changes_anything(client: Any, ui_project: UIProject, method: str) -> None:
    """docs/security.md says every route answers GET and HEAD only."""
    run = ui_project.demo_runs[0]
    paths = ["/", "/api", "/DemoFlow", f"/api/DemoFlow/{run}", f"/DemoFlow/{run}/start"]
    paths += ["/compare", f"/api/-/live/DemoFlow/{run}", "/-/static/ketch.css"]
    paths += [f"/-/card/DemoFlow/{run}/start/1/0"]
    for path in paths:
        response = client.request(method, path)
        assert response.status_code == 405, path
        assert response.headers["x-frame-options"] == "DENY"
