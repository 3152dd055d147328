"""``log_metric``'s in-task buffer (ketch.flow._metrics), without running a flow."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from fractions import Fraction

import pytest

from ketch import log_metric, log_metrics
from ketch.exceptions import MetricError, UserError
from ketch.flow._metrics import start_metrics, take_metrics


@pytest.fixture
def buffering() -> Iterator[None]:
    start_metrics()
    yield
    take_metrics()


def test_outside_a_task_is_a_user_error() -> None:
    with pytest.raises(UserError) as err:
        log_metric("loss", 1.0)
    assert err.value.headline == "log_metric called outside a task"
    assert "@step" in err.value.hint
    with pytest.raises(UserError, match="no task is running"):
        log_metrics({"loss": 1.0})


@pytest.mark.usefixtures("buffering")
def test_points_kept_in_order_with_steps() -> None:
    before = time.time()
    log_metric("loss", 2, step=0)
    log_metrics({"loss": 1.5, "acc": Fraction(1, 4)}, step=1)
    log_metric("lr", float("nan"))
    points = take_metrics()
    assert [(name, step) for name, step, _, _ in points] == [
        ("loss", 0),
        ("loss", 1),
        ("acc", 1),
        ("lr", None),
    ]
    assert [p[2] for p in points[:3]] == [2.0, 1.5, 0.25]
    assert all(type(p[2]) is float for p in points) and math.isnan(points[3][2])
    assert all(before <= p[3] <= time.time() for p in points)
    assert take_metrics() == ()  # taken: logging is off again
    with pytest.raises(UserError):
        log_metric("loss", 1.0)


@pytest.mark.usefixtures("buffering")
@pytest.mark.parametrize("value", ["0.5", b"1", None, [1.0], True, {"a": 1}])
def test_non_numbers_name_the_metric(value: object) -> None:
    with pytest.raises(MetricError, match="metric 'loss'") as err:
        log_metric("loss", value)  # type: ignore[arg-type]
    assert err.value.hint


@pytest.mark.usefixtures("buffering")
def test_bad_names_steps_and_mappings() -> None:
    with pytest.raises(MetricError, match="not a non-empty string"):
        log_metric("", 1.0)
    with pytest.raises(MetricError, match="not a non-empty string"):
        log_metric(3, 1.0)  # type: ignore[arg-type]
    with pytest.raises(MetricError, match="step 1.5 is not an integer"):
        log_metric("loss", 1.0, step=1.5)  # type: ignore[arg-type]
    with pytest.raises(MetricError, match="takes a mapping"):
        log_metrics([("loss", 1.0)])  # type: ignore[arg-type]
    assert take_metrics() == ()


@pytest.mark.usefixtures("buffering")
def test_ten_thousand_points_are_all_kept_in_order() -> None:
    # Their cost is measured by `python -m bench --only metrics10k`, not here (timed tests flake).
    for i in range(10_000):
        log_metric("loss", 1.0 / (i + 1), step=i)
    points = take_metrics()
    assert len(points) == 10_000
    assert [(p[1], p[2]) for p in points[:3]] == [(0, 1.0), (1, 0.5), (2, 1.0 / 3)]


def test_a_spill_function_gets_batches_and_the_rest_stays() -> None:
    from ketch.flow import _metrics

    sent: list[tuple[object, ...]] = []
    start_metrics(sent.append)
    try:
        for i in range(_metrics.SPILL_POINTS * 2 + 3):
            log_metric("x", i, step=i)
    finally:
        rest = take_metrics()
    # The first point goes at once (a running task shows it), then full batches.
    assert [len(batch) for batch in sent] == [1, _metrics.SPILL_POINTS, _metrics.SPILL_POINTS]
    assert len(rest) == 2 and rest[0][1] == _metrics.SPILL_POINTS * 2 + 1
    start_metrics(sent.append)
    try:
        log_metric("x", 1.0)
        log_metric("x", 2.0)
        _metrics._spilled_at -= _metrics.SPILL_SECONDS  # as if a second went by
        log_metric("x", 3.0)
    finally:
        assert take_metrics() == ()
    assert [p[2] for p in sent[-2]] == [1.0]  # type: ignore[index]
    assert [p[2] for p in sent[-1]] == [2.0, 3.0]  # type: ignore[index]
