"""Metrics in the UI's pages and JSON API: the run page's charts and their incremental
endpoint, the flow page sorted and filtered by a metric, the compare page's overlay."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from metricflows import MetricProject, build_metric_project
from uiflows import LOCAL


@pytest.fixture(scope="module")
def metric_project(tmp_path_factory: pytest.TempPathFactory) -> MetricProject:
    return build_metric_project(tmp_path_factory.mktemp("metric-project"))


@pytest.fixture(scope="module")
def api(metric_project: MetricProject) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    with TestClient(create_app(metric_project.settings), base_url=LOCAL) as test_client:
        yield test_client


def client_points(metric_project: MetricProject, run_id: int, name: str) -> dict[str, Any]:
    """task ("step/id") -> [[step, value], ...] of metric ``name``, through ``Run.metrics``."""
    code = f"""
        import json
        from ketch import Run, namespace
        namespace(None)
        out = {{}}
        for m in Run("MetricFlow/{run_id}").metrics.of({name!r}):
            task = "/".join(m.pathspec.split("/")[2:])
            out.setdefault(task, []).append([m.step, m.value])
        print(json.dumps(out))
    """
    proc = metric_project.project.client(code)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_the_run_page_charts_every_metric_one_line_per_task(
    api: Any, metric_project: MetricProject
) -> None:
    run_id = metric_project.runs[0]
    metrics = api.get(f"/api/MetricFlow/{run_id}").json()["metrics"]
    assert [c["name"] for c in metrics["charts"]] == ["loss", "accuracy", "final", "noisy"]
    loss = metrics["charts"][0]["series"]
    assert len(loss) == 3 and all(s["task"].startswith("train/") for s in loss)
    assert metrics["live"] is None and metrics["cursor"].count(".") == 6
    # the same points as the Client API gives
    by_task = {s["task"].split(" ")[0]: s["points"] for s in loss}
    assert by_task == client_points(metric_project, run_id, "loss")
    # each line also names the value its foreach gave the task
    assert sorted(s["task"].split(" ")[1] for s in loss) == ["1", "2", "3"]
    # values logged without a step are placed in order; a NaN keeps its place, undrawn
    noisy = metrics["charts"][3]["series"][0]
    assert noisy["points"] == [[0.0, None], [1.0, 2.0]] and noisy["count"] == 2
    html = api.get(f"/MetricFlow/{run_id}").text
    assert 'data-metric="loss"' in html and "/-/static/vendor/vega.min.js" in html


def test_a_run_without_metrics_has_no_charts(client: Any, ui_project: Any) -> None:
    run_id = ui_project.demo_runs[0]
    assert client.get(f"/api/DemoFlow/{run_id}").json()["metrics"] is None
    html = client.get(f"/DemoFlow/{run_id}").text
    assert "data-metrics" not in html and "vega" not in html


def test_thin_keeps_the_last_point_and_the_cap() -> None:
    from ketch.ui._metrics import thin

    assert thin([[float(i), 1.0] for i in range(10)], 3) == [
        [0.0, 1.0],
        [4.0, 1.0],
        [8.0, 1.0],
        [9.0, 1.0],
    ]
    assert len(thin([[float(i), 1.0] for i in range(1_000_000)], 5000)) == 5001


def test_the_metrics_endpoint_answers_only_new_points(
    api: Any, metric_project: MetricProject
) -> None:
    run_id = metric_project.runs[0]
    url = f"/api/-/metrics/MetricFlow/{run_id}"
    everything = api.get(url).json()
    assert everything["status"] == "completed" and len(everything["series"]) == 12
    cursor = api.get(f"/api/MetricFlow/{run_id}").json()["metrics"]["cursor"]
    assert everything["cursor"] == cursor
    assert api.get(url, params={"after": cursor}).json()["series"] == []
    # a cursor from before task 'train/x' logged its last two values
    task, attempt, seq = cursor.split(",")[0].split(".")
    earlier = cursor.replace(f"{task}.{attempt}.{seq}", f"{task}.{attempt}.{int(seq) - 2}", 1)
    new = api.get(url, params={"after": earlier}).json()["series"]
    assert [(s["name"], s["points"]) for s in new] == [("noisy", [[None, None], [None, 2.0]])]
    refused = api.get(url, params={"after": "1.2"})
    assert refused.status_code == 400 and "cursor" in refused.json()["error"]["message"]


def _ids(api: Any, query: str) -> list[int]:
    return [r["id"] for r in api.get(f"/api/MetricFlow?{query}").json()["runs"]]


def test_runs_sorted_and_filtered_by_a_metric(api: Any, metric_project: MetricProject) -> None:
    one, three, two = metric_project.runs
    assert _ids(api, "sort=metric:final&agg=max&order=desc") == [three, two, one]
    assert _ids(api, "sort=metric:final&agg=max&order=asc") == [one, two, three]
    assert _ids(api, "sort=metric:final&agg=min") == [three, two, one]  # min of 1*s..3*s
    assert _ids(api, "sort=metric:loss&agg=max&where=final>3") == [three, two]
    assert _ids(api, "where=final<=3&agg=max") == [one]  # newest first without a sort
    runs = api.get("/api/MetricFlow?sort=metric:final&agg=max&limit=1").json()["runs"]
    assert [(r["id"], r["metric"]) for r in runs] == [(three, 9.0)]
    page = api.get("/api/MetricFlow?sort=metric:final").json()["metric"]
    assert page["names"] == ["accuracy", "final", "loss", "noisy"] and page["agg"] == "last"
    html = api.get("/MetricFlow?sort=metric:final&agg=max").text
    assert html.count('class="num mono metric-value"') == 3 and "final (max)" in html
    # nan sorts last, whatever the order; an unknown metric leaves every run, unsorted last
    assert _ids(api, "sort=metric:nope") == [two, three, one]


@pytest.mark.parametrize(
    "query, says",
    [
        ("sort=accuracy", "Cannot sort runs by 'accuracy'"),
        ("sort=metric:final&agg=mean", "Unknown agg 'mean'"),
        ("sort=metric:final&order=up", "Unknown order 'up'"),
        ("where=final~3", "Cannot filter runs by 'final~3'"),
        ("where=final>abc", "Cannot filter runs by"),
    ],
)
def test_bad_metric_queries_are_refused(api: Any, query: str, says: str) -> None:
    answer = api.get(f"/api/MetricFlow?{query}")
    assert answer.status_code == 400 and says in answer.json()["error"]["message"]


def test_compare_overlays_a_metric_and_shows_what_differs(
    api: Any, metric_project: MetricProject
) -> None:
    one, three, _two = metric_project.runs
    runs = f"MetricFlow/{one},MetricFlow/{three}"
    data = api.get(f"/api/compare?runs={runs}&metric=final").json()
    assert data["metrics"]["metric"] == "final"
    series = data["metrics"]["charts"][0]["series"]
    assert [s["task"].split(" · ")[0] for s in series] == [str(one)] * 3 + [str(three)] * 3
    finals = sorted(p[1] for s in series for p in s["points"] if p[1] is not None)
    assert finals == [1.0, 2.0, 3.0, 3.0, 6.0, 9.0]
    default = api.get(f"/api/compare?runs={runs}").json()["metrics"]
    assert default["metric"] == "accuracy"  # the first name, when none is chosen
    html = api.get(f"/compare?runs={runs}&metric=loss").text
    assert html.index("Parameters that differ") < html.index("Status")
    assert '<th class="mono">scale</th>' in html and 'data-metric="loss"' in html
    assert not math.isnan(finals[0])


def test_every_line_of_a_wide_run_is_named_by_its_task(tmp_path: Any) -> None:
    """More tasks than one by-id read looks up (`MAX_IDS`): each still gets its foreach value."""
    from types import SimpleNamespace

    from ketch.metadata import ForeachFrame, TaskRecord, open_store, sqlite_url
    from ketch.metadata._paged_reading import MAX_IDS
    from ketch.ui._metrics import task_labels

    width = MAX_IDS + 20
    with open_store(sqlite_url(tmp_path / "ketch.db")) as store:
        run_id = store.create_run("WideFlow", user="ada", tags=[], system_tags=[]).run_id
        with store.batch():
            for index in range(width):
                frame = ForeachFrame("start", "items", width, index, f"v{index}")
                store.upsert_task(
                    TaskRecord(run_id, "train", index + 2, "completed", 1.0, 2.0, 0, (frame,))
                )
        labels = task_labels(SimpleNamespace(store=store), run_id, set(range(2, width + 2)))
    assert len(labels) == width
    assert all(labels[i + 2] == f"train/{i + 2} v{i}" for i in range(width))
