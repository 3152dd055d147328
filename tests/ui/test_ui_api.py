"""The UI's JSON API and HTML pages, in process, over real runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from uiflows import HAS_PANDAS, UIProject

pytest.importorskip("starlette")
pytest.importorskip("jinja2")

pytestmark = pytest.mark.slow  # the module's fixture runs real flows


def get_json(client: Any, path: str, status: int = 200) -> Any:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_index_lists_flows_with_their_latest_runs(client: Any, ui_project: UIProject) -> None:
    data = get_json(client, "/api")
    assert data["home"] == str(ui_project.root / ".ketch")
    flows = {f["name"]: f for f in data["flows"]}
    assert set(flows) == {"DemoFlow", "FailFlow"}
    demo = flows["DemoFlow"]["runs"]
    assert [r["id"] for r in demo] == sorted(ui_project.demo_runs, reverse=True)
    assert demo[0]["status"] == "completed"
    assert flows["FailFlow"]["runs"][0]["status"] == "failed"
    assert get_json(client, "/api/") == data


def test_flow_page_lists_runs_with_their_details(client: Any, ui_project: UIProject) -> None:
    data = get_json(client, "/api/DemoFlow")
    assert data["flow"] == "DemoFlow"
    first, second = ui_project.demo_runs
    runs = {r["id"]: r for r in data["runs"]}
    assert list(runs) == [second, first]
    tagged = runs[first]
    assert tagged["status"] == "completed"
    assert tagged["user"] == "tester"
    assert tagged["tags"] == ["exp"]
    assert "user:tester" in tagged["system_tags"]
    assert tagged["duration_s"] > 0
    assert tagged["created_at"] <= tagged["finished_at"]
    assert [(p["name"], p["value"]) for p in tagged["parameters"]] == [("n", 3), ("alpha", 0.5)]
    assert {p["name"]: p["value"] for p in runs[second]["parameters"]} == {"n": 4, "alpha": 0.9}


def test_flow_page_filters_by_tag_and_status(client: Any, ui_project: UIProject) -> None:
    first, _second = ui_project.demo_runs
    assert [r["id"] for r in get_json(client, "/api/DemoFlow?tag=exp")["runs"]] == [first]
    assert get_json(client, "/api/DemoFlow?tag=exp&tag=nope")["runs"] == []
    assert get_json(client, "/api/DemoFlow?status=failed")["runs"] == []
    assert len(get_json(client, "/api/DemoFlow?status=completed&limit=1")["runs"]) == 1
    failed = get_json(client, "/api/FailFlow?status=failed")
    assert [r["id"] for r in failed["runs"]] == [ui_project.fail_run]
    assert failed["filters"] == {"tag": [], "status": "failed", "limit": 100, "after": None}
    error = get_json(client, "/api/DemoFlow?status=bogus", status=400)["error"]
    assert "bogus" in error["message"] and "completed" in error["hint"]
    assert get_json(client, "/api/DemoFlow?limit=0", status=400)["error"]["status"] == 400


def test_run_page_shows_steps_in_graph_order(client: Any, ui_project: UIProject) -> None:
    run_id = ui_project.demo_runs[0]
    data = get_json(client, f"/api/DemoFlow/{run_id}")
    assert data["run"]["pathspec"] == f"DemoFlow/{run_id}"
    assert data["run"]["task_counts"] == {"completed": 10}
    names = [s["name"] for s in data["steps"]]
    assert names == ["start", "square", "join", "fan", "a", "b", "merge", "end"]
    steps = {s["name"]: s for s in data["steps"]}
    assert steps["square"]["num_tasks"] == 3
    assert steps["square"]["status"] == "completed"
    assert steps["start"]["foreach"] == "items"
    assert steps["start"]["next"] == ["square"]
    assert steps["fan"]["next"] == ["a", "b"]
    assert steps["start"]["doc"] == "Make the items."
    assert data["graph"]["doc"] == "A flow that makes artifacts of every kind."
    assert data["graph_error"] is None
    assert [(p["name"], p["text"]) for p in data["parameters"]] == [("n", "3"), ("alpha", "0.5")]
    assert len(data["tasks"]) == 10
    assert all(t["finished_at"] >= t["created_at"] for t in data["tasks"])
    square = [t for t in data["tasks"] if t["step"] == "square"]
    assert [t["foreach"][0]["value"] for t in square] == ["item-0", "item-1", "item-2"]


def test_run_page_of_a_failed_run(client: Any, ui_project: UIProject) -> None:
    data = get_json(client, f"/api/FailFlow/{ui_project.fail_run}")
    assert data["run"]["status"] == "failed"
    steps = {s["name"]: s["status"] for s in data["steps"]}
    assert steps == {"start": "completed", "boom": "failed", "end": "not-run"}
    boom = next(s for s in data["steps"] if s["name"] == "boom")
    assert [t["status"] for t in boom["summary"]["failed"]] == ["failed"]


def test_step_page_lists_tasks_with_foreach_values(client: Any, ui_project: UIProject) -> None:
    run_id = ui_project.demo_runs[1]
    data = get_json(client, f"/api/DemoFlow/{run_id}/square")
    assert data["step"]["name"] == "square"
    assert data["step"]["num_tasks"] == 4
    frames = [t["foreach"] for t in data["tasks"]]
    assert [f[0]["index"] for f in frames] == [0, 1, 2, 3]
    assert frames[2][0] == {
        "step": "start",
        "var": "items",
        "index": 2,
        "num_splits": 4,
        "value": "item-2",
    }
    task = data["tasks"][0]
    assert task["pathspec"] == f"DemoFlow/{run_id}/square/{task['id']}"
    assert task["status"] == "completed" and task["attempts"] == 1
    filtered = get_json(client, f"/api/DemoFlow/{run_id}/square?status=failed")
    assert filtered["tasks"] == [] and filtered["next"] is None
    assert filtered["filters"] == {"status": "failed", "limit": 200, "after": None, "task": None}


def test_step_page_of_a_failed_step_names_the_exception(client: Any, ui_project: UIProject) -> None:
    data = get_json(client, f"/api/FailFlow/{ui_project.fail_run}/boom")
    (task,) = data["tasks"]
    assert task["status"] == "failed"
    assert task["exception"] == "ValueError: this step always fails"
    not_run = get_json(client, f"/api/FailFlow/{ui_project.fail_run}/end")
    assert not_run["tasks"] == [] and not_run["step"]["status"] == "not-run"


def _end_task(client: Any, run_id: int) -> dict[str, Any]:
    tasks = get_json(client, f"/api/DemoFlow/{run_id}/end")["tasks"]
    data: dict[str, Any] = get_json(client, f"/api/DemoFlow/{run_id}/end/{tasks[0]['id']}")
    return data


def test_task_page_previews_artifacts(client: Any, ui_project: UIProject) -> None:
    data = _end_task(client, ui_project.demo_runs[0])
    arts = {a["name"]: a for a in data["artifacts"]}
    assert all(a["error"] is None for a in arts.values())
    assert arts["count"]["preview"] == {"kind": "scalar", "text": "42"}
    assert arts["count"]["type"] == "builtins.int" and arts["count"]["size"] > 0
    assert arts["flag"]["preview"]["text"] == "True"
    assert arts["nothing"]["preview"]["text"] == "None"
    assert arts["alpha"]["preview"]["text"] == "0.5"  # parameters are artifacts too
    text = arts["text"]["preview"]
    assert text["kind"] == "string" and text["text"] == "hello " * 5 and not text["truncated"]
    long_text = arts["long_text"]["preview"]
    assert long_text["length"] == 5000 and long_text["truncated"]
    assert len(long_text["text"]) < 5000
    numbers = arts["numbers"]["preview"]
    assert numbers["kind"] == "sequence" and numbers["length"] == 100
    assert numbers["text"].startswith("[0, 1, 2") and numbers["text"].endswith("...]")
    config = arts["config"]["preview"]
    assert config["kind"] == "mapping" and config["length"] == 3
    assert ["'layers'", "[64, 32]"] in config["items"]
    matrix = arts["matrix"]["preview"]
    assert matrix["kind"] == "array"
    assert matrix["shape"] == [3, 4] and matrix["dtype"] == "float32"
    assert "11." in matrix["text"]
    assert arts["matrix"]["type"] == "numpy.ndarray"


@pytest.mark.skipif(not HAS_PANDAS, reason="pandas is not installed")
def test_task_page_previews_a_dataframe_head(client: Any, ui_project: UIProject) -> None:
    data = _end_task(client, ui_project.demo_runs[0])
    frame = {a["name"]: a for a in data["artifacts"]}["frame"]["preview"]
    assert frame["kind"] == "dataframe"
    assert frame["shape"] == [15, 2]
    assert [c["name"] for c in frame["columns"]] == ["x", "label"]
    assert len(frame["rows"]) == 10
    assert frame["rows"][3] == ["3", "r3"]
    assert frame["index"][:2] == ["0", "1"]


def test_task_page_shows_logs_attempts_and_inputs(client: Any, ui_project: UIProject) -> None:
    run_id = ui_project.demo_runs[0]
    data = _end_task(client, run_id)
    assert data["logs"]["stdout"]["text"] == "the end\n"
    assert data["logs"]["stderr"]["text"] == "a warning\n"
    assert data["logs"]["stdout"]["error"] is None
    (attempt,) = data["attempts"]
    assert attempt["attempt"] == 0 and attempt["status"] == "completed"
    assert attempt["exit_code"] == 0
    assert data["task"]["attempt"] == 0
    (parent,) = data["task"]["inputs"]
    assert parent["step"] == "merge"
    assert parent["pathspec"] == f"DemoFlow/{run_id}/merge/{parent['id']}"
    merge = get_json(client, "/api/" + parent["pathspec"])
    assert [i["step"] for i in merge["task"]["inputs"]] == ["a", "b"]
    square = get_json(client, f"/api/DemoFlow/{run_id}/square")["tasks"][1]
    logs = get_json(client, "/api/" + square["pathspec"])["logs"]
    assert logs["stdout"]["text"] == "squared item-1\n"


def test_task_page_of_a_failed_task(client: Any, ui_project: UIProject) -> None:
    step = get_json(client, f"/api/FailFlow/{ui_project.fail_run}/boom")
    data = get_json(client, "/api/" + step["tasks"][0]["pathspec"])
    assert data["task"]["status"] == "failed"
    (attempt,) = data["attempts"]
    assert attempt["exception"] == "ValueError: this step always fails"
    assert "Traceback" in attempt["traceback"]
    assert "this step always fails" in data["logs"]["stderr"]["text"]
    assert get_json(client, "/api/" + step["tasks"][0]["pathspec"] + "?attempt=0") == data
    error = get_json(client, "/api/" + step["tasks"][0]["pathspec"] + "?attempt=3", 404)
    assert "Attempt '3'" in error["error"]["message"]


def test_compare_page_puts_runs_side_by_side(client: Any, ui_project: UIProject) -> None:
    first, second = ui_project.demo_runs
    data = get_json(client, f"/api/compare?runs=DemoFlow/{first},DemoFlow/{second}")
    assert [r["id"] for r in data["runs"]] == [first, second]
    params = {p["name"]: p for p in data["parameters"]}
    assert params["n"] == {"name": "n", "values": ["3", "4"], "differs": True}
    assert params["alpha"]["values"] == ["0.5", "0.9"]
    durations = {d["name"]: d["values"] for d in data["durations"]}
    assert set(durations) >= {"start", "square", "end"}
    assert all(v is not None and v >= 0 for v in durations["square"])
    differ = {d["name"]: d["values"] for d in data["artifacts"]["differ"]}
    assert set(differ) == {"alpha", "n", "results"}
    assert [v["preview"]["text"] for v in differ["n"]] == ["3", "4"]
    assert {"count", "config", "matrix", "text"} <= set(data["artifacts"]["same"])
    repeated = get_json(client, f"/api/compare?runs=DemoFlow/{first}&runs=DemoFlow/{second}")
    assert repeated == data


def test_compare_runs_of_different_flows(client: Any, ui_project: UIProject) -> None:
    first = ui_project.demo_runs[0]
    data = get_json(client, f"/api/compare?runs=DemoFlow/{first},FailFlow/{ui_project.fail_run}")
    assert [r["status"] for r in data["runs"]] == ["completed", "failed"]
    count = {d["name"]: d["values"] for d in data["artifacts"]["differ"]}["count"]
    assert count[0]["preview"]["text"] == "42" and count[1] is None


@pytest.mark.parametrize("query", ["", "?runs=DemoFlow/1", "?runs=DemoFlow", "?runs=a/b/c"])
def test_compare_needs_two_run_pathspecs(client: Any, query: str) -> None:
    error = get_json(client, "/api/compare" + query, status=400)["error"]
    assert error["status"] == 400 and error["message"]


def test_live_endpoint_reports_status_and_version(client: Any, ui_project: UIProject) -> None:
    run_id = ui_project.demo_runs[0]
    data = get_json(client, f"/api/-/live/DemoFlow/{run_id}")
    assert data["status"] == "completed"
    assert data["task_counts"] == {"completed": 10}
    assert data["version"] == get_json(client, f"/api/-/live/DemoFlow/{run_id}")["version"]
    assert get_json(client, "/api/-/live/DemoFlow/999", status=404)["error"]["status"] == 404


NOT_FOUND = [
    ("/NoSuchFlow", "Flow 'NoSuchFlow' does not exist"),
    ("/DemoFlow/999", "Run 'DemoFlow/999' does not exist"),
    ("/DemoFlow/abc", "Run 'DemoFlow/abc' does not exist. Run ids are integers."),
    ("/NoSuchFlow/1", "Flow 'NoSuchFlow' does not exist"),
    ("/DemoFlow/{demo}/nostep", "Step 'DemoFlow/{demo}/nostep' does not exist"),
    ("/DemoFlow/{demo}/_parameters", "Step 'DemoFlow/{demo}/_parameters' does not exist"),
    ("/DemoFlow/{demo}/start/9999", "Task 'DemoFlow/{demo}/start/9999' does not exist"),
    ("/DemoFlow/{demo}/end/x", "Task 'DemoFlow/{demo}/end/x' does not exist"),
    ("/DemoFlow/{demo}/end/{start_task}", "Task 'DemoFlow/{demo}/end/{start_task}' does"),
    ("/DemoFlow/{demo}/_parameters/0", "Task 'DemoFlow/{demo}/_parameters/0' does not"),
    ("/FailFlow/{demo}", "Run 'FailFlow/{demo}' does not exist"),
    ("/compare?runs=DemoFlow/{demo},DemoFlow/999", "Run 'DemoFlow/999' does not exist"),
    ("/a/b/c/d/e", "Nothing lives at"),
]


def _fill(text: str, client: Any, ui_project: UIProject) -> str:
    demo = ui_project.demo_runs[0]
    start = get_json(client, f"/api/DemoFlow/{demo}/start")["tasks"][0]["id"]
    return text.format(demo=demo, start_task=start)


@pytest.mark.parametrize(("path", "message"), NOT_FOUND)
def test_missing_pathspecs_are_404_naming_what_is_missing(
    client: Any, ui_project: UIProject, path: str, message: str
) -> None:
    path, message = _fill(path, client, ui_project), _fill(message, client, ui_project)
    error = get_json(client, "/api" + path, status=404)["error"]
    assert error["headline"] == "Not found"
    assert message in error["message"], error
    page = client.get(path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text
    assert message.replace("'", "&#39;") in page.text


HTML_PAGES = [
    ("/", ["DemoFlow", "FailFlow", "Flows"]),
    ("/DemoFlow", ["exp", "alpha=", "Compare selected runs"]),
    ("/DemoFlow?tag=exp&status=completed", ["Clear filters"]),
    ("/DemoFlow/{demo}", ["<svg", "Timeline", "Parameters", 'data-step="square"']),
    ("/DemoFlow/{demo}/square", ["item-1", "items[2]"]),
    ("/DemoFlow/{demo}/end/{end_task}", ["the end", "a warning", "shape (3, 4)", "float32"]),
    ("/FailFlow/{fail}/boom/{boom_task}", ["ValueError: this step always fails", "Traceback"]),
    ("/compare?runs=DemoFlow/{demo},DemoFlow/{other}", ["Compare runs", "Parameters"]),
]


@pytest.mark.parametrize(("path", "expected"), HTML_PAGES)
def test_html_pages_render(
    client: Any, ui_project: UIProject, path: str, expected: list[str]
) -> None:
    demo, other = ui_project.demo_runs
    boom_step = f"/api/FailFlow/{ui_project.fail_run}/boom"
    ids = {
        "demo": demo,
        "other": other,
        "fail": ui_project.fail_run,
        "end_task": get_json(client, f"/api/DemoFlow/{demo}/end")["tasks"][0]["id"],
        "boom_task": get_json(client, boom_step)["tasks"][0]["id"],
    }
    response = client.get(path.format(**ids))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    for text in expected:
        assert text in response.text
    assert 'href="/-/static/ketch.css"' in response.text
    assert "data-live" not in response.text  # nothing is running


def test_html_and_json_come_from_the_same_dict(client: Any, ui_project: UIProject) -> None:
    demo = ui_project.demo_runs[0]
    page = client.get(f"/DemoFlow/{demo}").text
    assert f'href="/api/DemoFlow/{demo}"' in page
    for step in get_json(client, f"/api/DemoFlow/{demo}")["steps"]:
        assert f'href="/DemoFlow/{demo}/{step["name"]}"' in page


@pytest.mark.parametrize("name", ["ketch.css", "ketch.js", "favicon.svg"])
def test_static_assets_are_served_by_ketch(client: Any, name: str) -> None:
    response = client.get(f"/-/static/{name}")
    assert response.status_code == 200 and response.content
    assert client.get("/-/static/nope.css").status_code == 404


# Hostile requests: whatever the address, the answer is a small 404 or 400, never a 500.

HUGE = "9" * 41  # beyond any id the database can hold (SQLite integers are 64-bit)


@pytest.mark.parametrize("segments", [100, 10_000])
def test_the_404_page_does_not_grow_with_the_path(client: Any, segments: int) -> None:
    path = "/a" * segments
    page = client.get(path)
    assert page.status_code == 404
    assert "Nothing lives at &#39;/a/a/a/a" in page.text
    api = get_json(client, "/api" + path, status=404)
    assert api["error"]["message"].startswith("Nothing lives at '/api/a/a/a/a")
    # The same size for 100 and 10,000 segments: at most 120 characters of the path are quoted.
    assert len(page.content) < 2_000 and len(client.get("/a" * 100).content) == len(page.content)
    assert len(json.dumps(api)) < 400


def test_a_404_for_one_huge_segment_stays_small(client: Any) -> None:
    page = client.get("/" + "x" * 15_000 + "/1/2/3/4")
    assert page.status_code == 404 and len(page.content) < 2_000


HUGE_IDS = [
    "/DemoFlow/{huge}",
    "/api/DemoFlow/{huge}",
    "/api/DemoFlow/-{huge}",
    "/api/DemoFlow/{huge}/start",
    "/DemoFlow/{demo}/start/{huge}",
    "/api/DemoFlow/{demo}/start/{huge}",
    "/api/DemoFlow/{demo}/start/{start_task}?attempt={huge}",
    "/api/-/live/DemoFlow/{huge}",
    "/api/-/live/DemoFlow/{demo}?task={huge}",
    "/-/card/DemoFlow/{demo}/start/{huge}/0",
    "/-/card/DemoFlow/{huge}/start/1/0",
    "/api/compare?runs=DemoFlow/{huge},DemoFlow/{demo}",
]


@pytest.mark.parametrize("path", HUGE_IDS)
def test_ids_too_large_for_any_run_are_not_found(
    client: Any, ui_project: UIProject, path: str
) -> None:
    response = client.get(_fill(path.replace("{huge}", HUGE), client, ui_project))
    assert response.status_code == 404, response.text
    assert "does not exist" in response.text and "Internal error" not in response.text


@pytest.mark.parametrize("limit", ["9" * 30, "9" * 5_000, "10001"])
def test_a_huge_limit_lists_at_most_ten_thousand_runs(client: Any, limit: str) -> None:
    data = get_json(client, f"/api/DemoFlow?limit={limit}")
    assert data["filters"]["limit"] == 10_000 and len(data["runs"]) == 2
    assert client.get(f"/DemoFlow?limit={limit}").status_code == 200


@pytest.mark.parametrize("limit", ["0", "-5", "abc", "1e3", "000"])
def test_a_limit_that_is_not_a_positive_integer_is_400(client: Any, limit: str) -> None:
    error = get_json(client, f"/api/DemoFlow?limit={limit}", status=400)["error"]
    assert error["message"] == f"'limit' must be a positive integer, got '{limit}'."
