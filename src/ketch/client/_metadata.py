"""``Task.metadata``: Metaflow's per-task metadata entries, rebuilt from ketch's run records.

ketch keeps no free-form metadata table: each entry below is derived from a column that the
scheduler records anyway (the run's user, system tags and origin, the task's foreach stack and
origin, its attempts). The names, types and value forms are Metaflow's (values are strings,
``foreach-stack`` a list of strings); ``created_at`` is in milliseconds since the epoch.

========================== =================================================================
name                       value
========================== =================================================================
``user``                   the user who started the run
``runtime``                ``dev`` for a local run (the ``runtime:`` system tag)
``python_version``         the Python that ran the flow (the ``python_version:`` tag)
``ketch_version``          the ketch that ran the flow (Metaflow has ``metaflow_version``)
``script-name``            the flow file's name
``origin-run-id``          the run a resumed run was resumed from; ``"None"`` otherwise
``origin-task-id``         the task a resumed task was cloned from (clones only)
``foreach-stack``          ``["var=value", ...]``, outermost first (foreach tasks only)
``foreach-execution-path`` ``"step:index,..."``: each foreach body step entered and the index
``attempt``                one entry per attempt: ``"0"``, ``"1"``...
``attempt_ok``             per finished attempt: ``"True"`` when it completed (also when
                           ``@catch`` handled its exception), else ``"False"``
``attempt-done``           per finished attempt: its number
``parallel-world-size``    the number of tasks of the gang (tasks of ``@parallel`` steps)
``internal_task_type``     ``control_task`` for the control task (node 0) of a gang
``node``                   per attempt that ran elsewhere than the launching machine: where
                           (e.g. ``ray:<node id>``); Metaflow records similar per-attempt
                           entries for remote compute
``conda_env_prefix``       a @pypi/@conda step's environment directory (as Metaflow's)
``env-id``                 that environment's id: the hash of its lock (exact pins, Python)
``env-python-version``     the Python version of that environment
========================== =================================================================

Metaflow also records ``ds-type``, ``ds-root`` and ``code-package``, which depend on where the
client reads from rather than on the run, so they are left out.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING, Any, NamedTuple

from ..flow._parallel import PARALLEL_VAR
from ..metadata._records import AttemptRecord, RunRecord, TaskRecord

if TYPE_CHECKING:
    from ._task import Task

CONTROL_TASK = "control_task"
_TAGGED = ("runtime", "python_version", "ketch_version")
_MAX_FOREACH_PATH = 256  # Metaflow stops listing foreach frames past this many characters


class Metadata(NamedTuple):
    """One metadata entry of a task, as Metaflow's ``Metadata`` tuple."""

    name: str
    value: Any
    created_at: int
    type: str
    task: Task


def task_metadata(
    task: Task,
    run: RunRecord,
    record: TaskRecord,
    attempts: list[AttemptRecord],
    graph: dict[str, Any] | None,
) -> list[Metadata]:
    """Every entry of ``task``: the task's own, then those of each attempt in order."""
    created = _ms(record.created_at)
    entries = [Metadata(n, v, created, n, task) for n, v in _task_fields(run, record, graph)]
    for attempt in attempts:
        entries.extend(_attempt_entries(task, attempt))
    return entries


def _task_fields(
    run: RunRecord, record: TaskRecord, graph: dict[str, Any] | None
) -> list[tuple[str, Any]]:
    fields: list[tuple[str, Any]] = [("user", run.user)]
    for tag in sorted(run.system_tags):
        name, _, value = tag.partition(":")
        if name in _TAGGED:
            fields.append((name, value))
    script = (graph or {}).get("file")
    if isinstance(script, str) and script:
        fields.append(("script-name", PurePath(script).name))
    fields.append(("origin-run-id", str(run.origin_run_id)))
    env = ((graph or {}).get("steps") or {}).get(record.step_name, {}).get("environment")
    if isinstance(env, dict):  # the step ran in a @pypi/@conda environment
        fields.append(("conda_env_prefix", str(env.get("path", ""))))
        fields.append(("env-id", str(env.get("env_id", ""))))
        fields.append(("env-python-version", str(env.get("python_version", ""))))
    if record.origin_task_id is not None:
        fields.append(("origin-task-id", str(record.origin_task_id)))
    stack = _foreach_stack(record)
    if stack:
        fields.append(("foreach-stack", stack))
    path = _execution_path(record, graph)
    if path:
        fields.append(("foreach-execution-path", path))
    frame = record.foreach_stack[-1] if record.foreach_stack else None
    if frame is not None and frame.var == PARALLEL_VAR:
        fields.append(("parallel-world-size", frame.num_splits))
        if frame.index == 0:
            fields.append(("internal_task_type", CONTROL_TASK))
    return fields


def is_control_task(record: TaskRecord) -> bool:
    """True for node 0 of a gang: the control task of a ``@parallel`` step's tasks."""
    frames = record.foreach_stack
    return bool(frames) and frames[-1].var == PARALLEL_VAR and frames[-1].index == 0


def _foreach_stack(record: TaskRecord) -> list[str]:
    out: list[str] = []
    length = 0
    for frame in record.foreach_stack:
        text = f"{frame.var}={frame.value}"
        if not frame.value or length + len(text) > _MAX_FOREACH_PATH:
            break
        length += len(text)
        out.append(text)
    return out


def _execution_path(record: TaskRecord, graph: dict[str, Any] | None) -> str:
    """``body:index`` per frame, where ``body`` is the step each foreach fanned out to."""
    steps = (graph or {}).get("steps") or {}
    parts = []
    for frame in record.foreach_stack:
        successors = (steps.get(frame.step) or {}).get("next") or []
        if len(successors) != 1:
            return ""  # a graph that does not match the record: say nothing rather than guess
        parts.append(f"{successors[0]}:{frame.index}")
    return ",".join(parts)


def _attempt_entries(task: Task, attempt: AttemptRecord) -> list[Metadata]:
    number = str(attempt.attempt)
    started = _ms(attempt.started_at)
    entries = [Metadata("attempt", number, started, "attempt", task)]
    if attempt.node is not None:
        entries.append(Metadata("node", attempt.node, started, "node", task))
    if attempt.status != "running":
        done = _ms(attempt.finished_at or attempt.started_at)
        ok = str(attempt.status == "completed")
        entries.append(Metadata("attempt_ok", ok, done, "internal_attempt_status", task))
        entries.append(Metadata("attempt-done", number, done, "attempt-done", task))
    return entries


def _ms(ts: float) -> int:
    return int(ts * 1000)
