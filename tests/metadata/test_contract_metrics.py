"""The ``metrics`` table through `MetadataStore` (log_metric's records), on every backend."""

from __future__ import annotations

import math

from ketch.metadata import AttemptRecord, MetadataStore, TaskRecord


def _task(run_id: int, task_id: int, step: str, attempt: int = 0) -> TaskRecord:
    return TaskRecord(
        run_id=run_id,
        step_name=step,
        task_id=task_id,
        status="completed",
        created_at=100.0,
        attempt=attempt,
    )


def _attempt(run_id: int, task_id: int, attempt: int = 0) -> AttemptRecord:
    return AttemptRecord(
        run_id=run_id, task_id=task_id, attempt=attempt, status="completed", started_at=100.0
    )


def _write(store: MetadataStore, run_id: int, task_id: int, step: str, attempt: int, points):  # type: ignore[no-untyped-def]
    with store.batch():
        store.upsert_task(_task(run_id, task_id, step, attempt))
        store.upsert_attempt(_attempt(run_id, task_id, attempt))
        store.add_metrics(run_id, task_id, attempt, step, points)


def test_metrics_round_trip_in_order(store: MetadataStore) -> None:
    run_id = store.create_run("M", user="ada", tags=[], system_tags=[]).run_id
    points = [
        ("loss", 0, 1.5, 10.0),
        ("acc", 0, 0.25, 10.5),
        ("loss", 1, float("nan"), 11.0),
        ("loss", None, float("inf"), 12.0),
        ("big", 2**40, -3, 13.0),
    ]
    _write(store, run_id, 1, "train", 0, points)
    _write(store, run_id, 2, "train", 0, [("loss", 0, 9.0, 20.0)])

    got = store.list_metrics(run_id, 1)
    assert [(m.name, m.step, m.timestamp) for m in got] == [
        ("loss", 0, 10.0),
        ("acc", 0, 10.5),
        ("loss", 1, 11.0),
        ("loss", None, 12.0),
        ("big", 2**40, 13.0),
    ]
    values = [m.value for m in got]
    assert values[0:2] == [1.5, 0.25] and math.isnan(values[2])
    assert values[3] == float("inf") and values[4] == -3.0
    assert {(m.task_id, m.attempt, m.step_name) for m in got} == {(1, 0, "train")}

    every = store.list_metrics(run_id)
    assert [m.task_id for m in every] == [1] * 5 + [2]
    assert store.list_metrics(run_id, 3) == []
    assert store.list_metrics(run_id + 1) == []
    assert store.list_metrics(-5) == []


def test_metrics_of_latest_attempt_only(store: MetadataStore) -> None:
    run_id = store.create_run("M", user="ada", tags=[], system_tags=[]).run_id
    _write(store, run_id, 1, "train", 0, [("loss", 0, 5.0, 1.0)])
    _write(store, run_id, 1, "train", 1, [("loss", 0, 2.0, 2.0)])
    assert [(m.attempt, m.value) for m in store.list_metrics(run_id, 1)] == [(1, 2.0)]
    assert [(m.attempt, m.value) for m in store.list_metrics(run_id)] == [(1, 2.0)]
    assert [m.value for m in store.list_metrics(run_id, 1, 0)] == [5.0]
    assert store.list_metrics(run_id, 1, 2) == []


def test_metrics_written_again_replace(store: MetadataStore) -> None:
    run_id = store.create_run("M", user="ada", tags=[], system_tags=[]).run_id
    _write(store, run_id, 1, "s", 0, [("a", 0, 1.0, 1.0)])
    _write(store, run_id, 1, "s", 0, [("a", 0, 7.0, 1.0)])
    assert [m.value for m in store.list_metrics(run_id, 1)] == [7.0]
    store.add_metrics(run_id, 1, 0, "s", [])  # nothing to write: no transaction needed


def test_many_metrics_in_one_batch(store: MetadataStore) -> None:
    run_id = store.create_run("M", user="ada", tags=[], system_tags=[]).run_id
    points = [("loss", i, 1.0 / (i + 1), 100.0 + i) for i in range(10_000)]
    _write(store, run_id, 1, "train", 0, points)
    got = store.list_metrics(run_id, 1)
    assert len(got) == 10_000 and got[-1].step == 9_999


def test_batches_of_a_running_attempt_follow_each_other(store: MetadataStore) -> None:
    run_id = store.create_run("M", user="ada", tags=[], system_tags=[]).run_id
    _write(store, run_id, 1, "train", 0, [("loss", 0, 1.0, 1.0)])
    store.add_metrics(run_id, 1, 0, "train", [("loss", 1, 0.5, 2.0), ("acc", 1, 0.9, 2.0)], 1)
    rows = [(m.name, m.step, m.value) for m in store.list_metrics(run_id, 1)]
    assert rows == [("loss", 0, 1.0), ("loss", 1, 0.5), ("acc", 1, 0.9)]


def test_run_links_round_trip(store: MetadataStore) -> None:
    from ketch.metadata import RunLinkRecord

    run_id = store.create_run("M", user="ada", tags=[], system_tags=[]).run_id
    assert store.list_run_links(run_id) == []
    comet = RunLinkRecord(run_id, "comet", "k1", "", 2.0)
    mlflow = RunLinkRecord(
        run_id, "mlflow", "r1", "http://mlflow:5000/#/experiments/1/runs/r1", 1.0
    )
    store.add_run_link(mlflow)
    store.add_run_link(comet)
    assert store.list_run_links(run_id) == [comet, mlflow]  # by tracker name
    again = RunLinkRecord(run_id, "comet", "k2", "https://comet.com/x", 3.0)
    store.add_run_link(again)  # the tracker's row is replaced
    assert store.list_run_links(run_id) == [again, mlflow]
    assert store.list_run_links(run_id + 1) == []
