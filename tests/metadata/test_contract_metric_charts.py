"""The metric reads behind the UI's charts, on every backend: a thinned sample, incremental
reads after cursors, and per-run aggregates for sorting runs."""

from __future__ import annotations

import math

from ketch.metadata import MetadataStore

from .test_contract_metrics import _write


def _run(store: MetadataStore, flow: str = "M") -> int:
    return store.create_run(flow, user="ada", tags=[], system_tags=[]).run_id


def test_a_sample_thins_each_series_and_keeps_its_ends(store: MetadataStore) -> None:
    run_id = _run(store)
    points = [(n, i, float(i), 10.0 + i) for i in range(1000) for n in ("loss", "acc")]
    _write(store, run_id, 1, "train", 0, points)
    _write(store, run_id, 2, "train", 0, [("loss", 0, 5.0, 1.0), ("loss", 1, 6.0, 2.0)])
    sample, cursors = store.sample_metrics(run_id, cap=100)
    assert [order for order, m in sample if m.task_id == 1 and m.name == "acc"][:4] == [
        0,
        19,
        20,
        39,
    ]
    ones = [m for _order, m in sample if m.task_id == 1 and m.name == "loss"]
    assert 50 <= len(ones) <= 101  # each bucket's first and last point of the series
    steps = [m.step for m in ones]
    assert steps[0] == 0 and steps[-1] == 999 and steps == sorted(steps)
    assert max(b - a for a, b in zip(steps, steps[1:], strict=False)) <= 20  # evenly
    assert [(o, m.step, m.value) for o, m in sample if m.task_id == 2] == [(0, 0, 5.0), (1, 1, 6.0)]
    assert cursors == {1: (0, 1999), 2: (0, 1)}
    named, _ = store.sample_metrics(run_id, cap=5000, name="acc")
    assert {m.name for _o, m in named} == {"acc"} and len(named) == 1000
    assert store.sample_metrics(run_id + 999, cap=10) == ([], {})


def test_metrics_since_reads_only_what_is_new(store: MetadataStore) -> None:
    run_id = _run(store)
    _write(store, run_id, 1, "train", 0, [("loss", i, float(i), 1.0 + i) for i in range(3)])
    _points, cursors = store.sample_metrics(run_id, cap=10)
    assert store.metrics_since(run_id, cursors) == ([], cursors)
    # the task logs more (written again: the attempt's points are replaced by a longer list)
    _write(store, run_id, 1, "train", 0, [("loss", i, float(i), 1.0 + i) for i in range(5)])
    _write(store, run_id, 2, "train", 0, [("acc", None, 0.5, 3.0)])
    new, cursors = store.metrics_since(run_id, cursors)
    assert [(m.task_id, m.step) for m in new] == [(1, 3), (1, 4), (2, None)]
    assert cursors == {1: (0, 4), 2: (0, 0)}
    # a retry: the new attempt's points come whole, under its own cursor
    _write(store, run_id, 1, "train", 1, [("loss", 0, 9.0, 9.0)])
    new, cursors = store.metrics_since(run_id, cursors)
    assert [(m.task_id, m.attempt, m.value) for m in new] == [(1, 1, 9.0)]
    assert cursors[1] == (1, 0)


def test_aggregate_metric_per_run(store: MetadataStore) -> None:
    first, second, third = _run(store, "Agg"), _run(store, "Agg"), _run(store, "Agg")
    _write(store, first, 1, "train", 0, [("acc", 0, 0.5, 1.0), ("acc", 1, 0.9, 2.0)])
    _write(store, first, 2, "train", 0, [("acc", 0, 0.7, 3.0)])  # logged last
    _write(store, second, 1, "train", 0, [("acc", 0, float("nan"), 1.0)])
    _write(store, third, 1, "train", 0, [("loss", 0, 1.0, 1.0)])
    _write(store, _run(store, "Other"), 1, "train", 0, [("acc", 0, 1.0, 1.0)])
    found = {a.run_id: a for a in store.aggregate_metric("Agg", "acc")}
    assert set(found) == {first, second}
    assert (found[first].last, found[first].max, found[first].min) == (0.7, 0.9, 0.5)
    assert math.isnan(found[second].last) and math.isnan(found[second].max)
    assert store.metric_names("Agg") == ["acc", "loss"]
    assert store.aggregate_metric("Agg", "nope") == []


def test_a_thinned_point_knows_its_place_in_its_series(store: MetadataStore) -> None:
    run_id = _run(store)
    # three series of different lengths, interleaved, logged without a step
    points, counts = [], {"a": 0, "b": 0, "c": 0}
    for i in range(3000):
        name = "a" if i % 2 else ("b" if i % 3 else "c")
        points.append((name, None, float(counts[name]), float(i)))
        counts[name] += 1
    _write(store, run_id, 1, "train", 0, points)
    sample, _ = store.sample_metrics(run_id, cap=200)
    assert sample and all(order == m.value for order, m in sample)
    for name, n in counts.items():
        orders = [order for order, m in sample if m.name == name]
        assert orders[0] == 0 and orders[-1] == n - 1 and len(orders) <= 201
