"""The records the scheduler writes, turned into tracker calls (``trackers._events``)."""

from __future__ import annotations

from ketch.metadata._records import ForeachFrame, ParameterRecord, TaskRecord
from ketch.trackers._events import Translator
from ketch.trackers._registry import tracker_names


def _created() -> tuple[str, tuple[object, ...], dict[str, object]]:
    kwargs = {"user": "ada", "tags": ["x"], "system_tags": ["user:ada"], "created_at": 5.0}
    return ("create_run", ("TrainFlow",), {**kwargs, "run_id": 7})


def test_a_run_becomes_tracker_calls_in_order() -> None:
    frame = ForeachFrame("start", "xs", 2, 1, "b")
    translator = Translator()
    events = translator.events(
        [
            _created(),
            ("set_parameters", (7, [ParameterRecord("lr", "0.1", "k")]), {}),
            ("upsert_task", (TaskRecord(7, "_parameters", 0, "completed", 1.0),), {}),
            (
                "upsert_task",
                (TaskRecord(7, "train", 3, "running", 2.0, foreach_stack=(frame,)),),
                {},
            ),
        ]
    )
    assert [e[0] for e in events] == ["start_run", "start_task"]
    run, task = events[0][1][0], events[1][1][0]
    assert run.pathspec == "TrainFlow/7" and run.parameters == {"lr": 0.1} and run.tags == ("x",)
    assert task.pathspec == "TrainFlow/7/train/3" and task.foreach_indices == (1,)
    point = ("loss", 0, 0.5, 3.0)
    # The task's end and its last points come in one sending: the points go first.
    events = translator.events(
        [
            ("upsert_task", (TaskRecord(7, "train", 3, "completed", 2.0, 4.0),), {}),
            ("add_metrics", (7, 3, 0, "train", (point,), 1), {}),
            ("finish_run", (7, "completed", 9.0), {}),
        ]
    )
    assert [e[0] for e in events] == ["log_metrics", "end_task", "end_run"]
    assert events[0][1][1] == (point,) and events[1][1][1] == "completed"
    assert translator.finish() == []  # the run ended already


def test_a_retry_does_not_start_the_task_again_and_a_stop_kills_the_run() -> None:
    translator = Translator()
    translator.events([_created(), ("set_parameters", (7, []), {})])
    running = TaskRecord(7, "train", 3, "running", 2.0)
    assert [e[0] for e in translator.events([("upsert_task", (running,), {})])] == ["start_task"]
    retried = TaskRecord(7, "train", 3, "running", 2.5, attempt=1)
    assert translator.events([("upsert_task", (retried,), {})]) == []
    assert translator.tasks[3].attempt == 1
    assert translator.finish() == [("end_run", ("killed",))]


def test_tracker_names_are_split_once_each() -> None:
    assert tracker_names(" mlflow, comet,,mlflow ") == ["mlflow", "comet"]
    assert tracker_names("") == []
