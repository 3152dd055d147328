"""Lookups and record-to-dict conversions shared by every page.

Every page's data is plain JSON-able dicts and lists: the same dict is sent as JSON under
``/api`` and rendered as HTML. Times are POSIX seconds; durations are seconds.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..datastore import load_json_object
from ..exceptions import NotFoundError, UserError
from ..metadata import AttemptRecord, ParameterRecord, RunRecord, TaskRecord, effective_status
from ..metadata._records import PARAMETERS_STEP
from ._source import Source

RUN_STATUSES = ("running", "completed", "failed")
MAX_ECHO = 120  # characters of a request's path or parameter that an error quotes back
SQL_INT = range(-(2**63), 2**63)  # what the database can hold (and bind)


def shorten(text: str, limit: int = MAX_ECHO) -> str:
    """``text`` cut to ``limit`` characters: what an error quotes back of a request."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_id(text: str) -> int | None:
    """The run or task id written ``text``; None when it is not one (not an integer, or
    too large for any id: such an id does not exist, it is not an error of the UI)."""
    try:
        number = int(text)
    except ValueError:  # also thousands of digits (Python refuses to parse those)
        return None
    return number if number in SQL_INT else None


def find_flow(src: Source, flow: str) -> None:
    """Raise `NotFoundError` unless the store knows ``flow``."""
    if flow not in {f.flow_name for f in src.store.list_flows()}:
        raise NotFoundError(
            f"Flow '{flow}' does not exist in this project's store.",
            hint="Flow names are class names and are case-sensitive; the home page lists them.",
        )


def find_run(src: Source, flow: str, run_id: str) -> RunRecord:
    """The run ``flow/run_id``, or a `NotFoundError` naming what is missing."""
    number = parse_id(run_id)
    record = None if number is None else src.store.get_run(number)
    if record is None or record.flow_name != flow:
        find_flow(src, flow)
        integer = number is not None or _is_integer(run_id)  # a huge one is still an integer
        why = "" if integer else " Run ids are integers."
        raise NotFoundError(
            f"Run '{flow}/{shorten(run_id)}' does not exist.{why}",
            hint=f"The page of flow '{flow}' lists its runs.",
        )
    return record


def find_task(src: Source, run: RunRecord, step: str | None, task_id: str) -> TaskRecord:
    """The task ``task_id`` of ``run`` (of ``step``, when given), or a `NotFoundError`."""
    number = parse_id(task_id)
    task = None if number is None else src.store.get_task(run.run_id, number)
    wrong_step = task is not None and step is not None and task.step_name != step
    if task is None or task.step_name == PARAMETERS_STEP or wrong_step:
        where = f"{run.flow_name}/{run.run_id}/{step}" if step else f"{run.flow_name}/{run.run_id}"
        raise NotFoundError(
            f"Task '{where}/{shorten(task_id)}' does not exist.",
            hint=f"The page of {'step' if step else 'run'} {where} lists its tasks.",
        )
    return task


def _is_integer(text: str) -> bool:
    digits = text.strip().removeprefix("-").removeprefix("+")
    return digits.isascii() and digits.isdigit()


def choose_attempt(task: TaskRecord, attempts: list[AttemptRecord], wanted: str | None) -> int:
    """The attempt number asked for (``?attempt=``), by default the task's latest."""
    if wanted is None:
        return task.attempt
    numbers = {a.attempt for a in attempts}
    try:
        number = int(wanted)
    except ValueError:
        number = -1
    if number not in numbers:
        raise NotFoundError(
            f"Attempt '{shorten(wanted)}' of task {task.step_name}/{task.task_id} does not exist.",
            hint="Attempts are numbered from 0; the task page lists them.",
        )
    return number


def path_of(*parts: object) -> str:
    """The URL path of a pathspec's parts: ``path_of("F", 3)`` -> ``"/F/3"``."""
    return "/" + "/".join(quote(str(p), safe="") for p in parts)


def parse_pathspec_list(text: str) -> list[tuple[str, str]]:
    """``"Flow/1,Flow/2"`` -> ``[("Flow", "1"), ("Flow", "2")]``."""
    out = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        flow, sep, run_id = item.strip("/").partition("/")
        if not sep or not flow or not run_id or "/" in run_id:
            raise UserError(
                f"'{item}' is not a run pathspec.", hint="Name runs as FlowName/run_id."
            )
        out.append((flow, run_id))
    return out


def duration(start: float | None, end: float | None, now: float, running: bool) -> float | None:
    if start is None:
        return None
    if end is not None:
        return max(0.0, end - start)
    return max(0.0, now - start) if running else None


def run_dict(run: RunRecord, now: float) -> dict[str, Any]:
    status = effective_status(run, now)
    return {
        "flow": run.flow_name,
        "id": run.run_id,
        "pathspec": f"{run.flow_name}/{run.run_id}",
        "status": status,
        "user": run.user,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "duration_s": duration(run.created_at, run.finished_at, now, status == "running"),
        "tags": sorted(run.tags),
        "system_tags": sorted(run.system_tags),
        "origin_run_id": run.origin_run_id,
    }


def parameter_list(records: list[ParameterRecord]) -> list[dict[str, Any]]:
    """Parameters as ``name``, ``value`` (decoded JSON) and ``text`` (the JSON text)."""
    return [{"name": p.name, "value": p.value, "text": p.value_json} for p in records]


def shown_status(status: str, run_status: str) -> str:
    """A task still marked running in a run that is over (its scheduler died) has failed."""
    return "failed" if status == "running" and run_status != "running" else status


def task_status(task: TaskRecord, run_status: str) -> str:
    return shown_status(task.status, run_status)


def step_status(counts: dict[str, int], run_status: str) -> str:
    """``failed``, ``running``, ``completed``, ``pending`` (not started yet) or ``not-run``."""
    if counts.get("failed"):
        return "failed"
    if counts.get("running"):
        return "running"
    if counts.get("completed"):
        return "completed"
    return "pending" if run_status == "running" else "not-run"


def load_graph(src: Source, run: RunRecord) -> tuple[dict[str, Any] | None, str | None]:
    """The run's stored graph (see `ketch.graph.graph_to_dict`), or why it cannot be shown."""
    if run.graph_key is None:
        return None, None
    graph, error = load_json_object(src.blobs_for(run), run.graph_key, "graph")
    return graph, error or None


def foreach_list(task: TaskRecord) -> list[dict[str, Any]]:
    return [
        {
            "step": f.step,
            "var": f.var,
            "index": f.index,
            "num_splits": f.num_splits,
            "value": f.value,
        }
        for f in task.foreach_stack
    ]
