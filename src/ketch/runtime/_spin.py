"""``spin``: run one step of a past run again, locally, with that task's inputs.

The origin task is found in the project's store; the spun task gets the same inputs (its
parents' artifacts by blob key, its foreach frames and so ``self.input``/``self.index``, the
run's parameters), optionally with some artifacts replaced by the values of an
``--artifacts-module``. It runs in a task process like any other, but is recorded in a store of
its own, ``<store>/spin`` (a run with one step and one task, whose ``origin_pathspec`` is the
origin task), so that spins never show up in the project's run history. Its blobs go to the
project's datastore (content-addressed: nothing there refers to them). With ``persist=False``
the spun task's artifacts are not recorded (its status, exception and logs are).
"""

from __future__ import annotations

import os
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..datastore import BlobStore, open_blobs
from ..exceptions import NotFoundError, UserError
from ..flow import FlowSpec
from ..graph import FlowGraph, graph_to_dict
from ..metadata import MetadataReader, MetadataStore, new_run_id, open_store
from ..metadata._records import (
    PARAMETERS_STEP,
    ArtifactRecord,
    AttemptRecord,
    ForeachFrame,
    RunRecord,
    TaskRecord,
    TaskStatus,
)
from ..settings import DB_FILENAME, Settings, metadata_url_of
from ._console import Reporter
from ._executor_api import executor_factory
from ._forksafety import fork_hazards
from ._launch import system_tags
from ._policy import StepPolicy
from ._spec import InputRef, TaskResult, TaskSpec
from ._task import save_value

SPIN_DIRNAME = "spin"
SPIN_TASK_ID = 1  # task 0 is the spin run's _parameters


@dataclass(frozen=True)
class SpinRequest:
    flow_cls: type[FlowSpec]
    graph: FlowGraph
    flow_file: Path
    settings: Settings
    pathspec: str  # STEP, RUN/STEP, RUN/STEP/TASK, FLOW/RUN/STEP[/TASK]
    policy: StepPolicy = field(default_factory=StepPolicy)  # empty: --skip-decorators
    artifacts: dict[str, Any] = field(default_factory=dict)  # --artifacts-module's ARTIFACTS
    persist: bool = False
    quiet: bool = False  # leave out ketch's own messages (task output is still shown)


@dataclass(frozen=True)
class SpinOutcome:
    flow_name: str
    run_id: int
    step_name: str
    task_id: int
    ok: bool
    home: Path  # the spin store directory


def spin_home(settings: Settings) -> Path:
    """The spin store of a project: ``<store directory>/spin``."""
    return settings.home_path / SPIN_DIRNAME


def parse_pathspec(pathspec: str, flow_name: str) -> tuple[str | None, str, str | None]:
    """``(run id or None, step, task id or None)`` from the forms ``spin`` accepts."""
    parts = pathspec.strip("/").split("/")
    if len(parts) in (3, 4) and parts[0] == flow_name:
        parts = parts[1:]
    elif len(parts) == 4:
        raise UserError(
            f"'{pathspec}' names flow {parts[0]}, but this file's flow is {flow_name}.",
            hint=f"Spin a task of {flow_name}: {flow_name}/RUN/STEP/TASK.",
        )
    if not all(parts) or len(parts) > 3:
        raise UserError(
            f"'{pathspec}' is not a step to spin.",
            hint="Give STEP (latest run), RUN/STEP, RUN/STEP/TASK or FLOW/RUN/STEP/TASK.",
        )
    if len(parts) == 1:
        return None, parts[0], None
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


@dataclass(frozen=True)
class _Origin:
    run: RunRecord
    task: TaskRecord
    inputs: tuple[InputRef, ...]
    var_keys: tuple[str, ...]
    parameters: dict[str, ArtifactRecord]


def _find_run(store: MetadataReader, flow: str, run_id: str | None) -> RunRecord:
    if run_id is None:
        runs = store.list_runs(flow)
        if not runs:
            raise NotFoundError(f"{flow} has no run to spin a step of.", hint="Run it first.")
        return runs[0]
    run = store.get_run(int(run_id)) if run_id.isdigit() else None
    if run is None or run.flow_name != flow:
        raise NotFoundError(f"Run '{flow}/{run_id}' does not exist.")
    return run


def _find_task(store: MetadataReader, run: RunRecord, step: str, task_id: str | None) -> TaskRecord:
    where = f"{run.flow_name}/{run.run_id}/{step}"
    tasks = store.list_tasks(run.run_id, step)
    if task_id is not None:
        tasks = [t for t in tasks if str(t.task_id) == task_id]
        if not tasks:
            raise NotFoundError(f"Task '{where}/{task_id}' does not exist.")
    if not tasks:
        raise NotFoundError(
            f"Step '{step}' has no task in run {run.flow_name}/{run.run_id}.",
            hint="Spin a step that ran (python flow.py dump RUN shows them).",
        )
    return min(tasks, key=lambda t: tuple(f.index for f in t.foreach_stack) + (t.task_id,))


def read_origin(store: MetadataReader, graph: FlowGraph, pathspec: str) -> _Origin:
    """The task to spin and everything it started from, read from the project's store."""
    run_id, step, task_id = parse_pathspec(pathspec, graph.flow_name)
    if step not in graph:
        raise UserError(
            f"Step '{step}' does not exist in {graph.flow_name}.",
            hint=f"Spin one of: {', '.join(n.name for n in graph)}.",
        )
    run = _find_run(store, graph.flow_name, run_id)
    task = _find_task(store, run, step, task_id)
    tasks = {t.task_id: t for t in store.list_tasks(run.run_id)}
    artifacts: dict[int, dict[str, ArtifactRecord]] = defaultdict(dict)
    for owner, artifact in store.iter_run_artifacts(run.run_id):
        artifacts[owner][artifact.name] = artifact
    keys = _VarKeys(tasks, artifacts)
    inputs = tuple(
        InputRef(
            tasks[i].step_name,
            i,
            artifacts[i],
            tasks[i].foreach_stack,
            keys.of(tasks[i].foreach_stack),
        )
        for i in task.input_task_ids
        if i in tasks
    )
    parameters = dict(artifacts[0])
    return _Origin(run, task, inputs, keys.of(task.foreach_stack), parameters)


class _VarKeys:
    """Blob keys of the iterables that a foreach stack split over (``self.input``'s source)."""

    def __init__(
        self, tasks: dict[int, TaskRecord], artifacts: dict[int, dict[str, ArtifactRecord]]
    ) -> None:
        self.artifacts = artifacts
        self.by_position = {
            (t.step_name, tuple(f.index for f in t.foreach_stack)): t.task_id
            for t in tasks.values()
            if t.status == "completed"
        }

    def of(self, frames: tuple[ForeachFrame, ...]) -> tuple[str, ...]:
        keys = []
        for depth, frame in enumerate(frames):
            outer = tuple(f.index for f in frames[:depth])
            owner = self.by_position.get((frame.step, outer))
            record = None if owner is None else self.artifacts[owner].get(frame.var)
            if record is None:
                raise NotFoundError(
                    f"The foreach step '{frame.step}' that this task came from has no "
                    f"'{frame.var}' artifact, so its input cannot be given again."
                )
            keys.append(record.key)
        return tuple(keys)


def _override(origin: _Origin, blobs: BlobStore, values: dict[str, Any]) -> _Origin:
    """Replace artifacts (and parameters) by name with the given values, stored as blobs."""
    if not values:
        return origin
    records = {name: save_value(blobs, name, value) for name, value in values.items()}
    inputs = tuple(replace(i, artifacts={**i.artifacts, **records}) for i in origin.inputs)
    known = set(origin.parameters)
    parameters = {**origin.parameters, **{k: v for k, v in records.items() if k in known}}
    if not inputs:  # the start step: its only inputs are the parameters
        parameters = {**origin.parameters, **records}
    return replace(origin, inputs=inputs, parameters=parameters)


def _spec(request: SpinRequest, origin: _Origin, run_id: int) -> TaskSpec:
    graph, settings, policy = request.graph, request.settings, request.policy
    node = graph[origin.task.step_name]
    return TaskSpec(
        flow_name=graph.flow_name,
        flow_file=str(request.flow_file),
        flow_class=request.flow_cls.__name__,
        run_id=run_id,
        step_name=node.name,
        task_id=SPIN_TASK_ID,
        attempt=0,
        inputs=origin.inputs,
        parameters=origin.parameters,
        frames=origin.task.foreach_stack,
        var_keys=origin.var_keys,
        datastore_url=origin.run.datastore_url or settings.resolved_datastore_url,
        username=settings.user,
        is_join=node.is_join,
        is_end=node.name == graph.end,
        out_funcs=node.out_funcs,
        foreach_param=node.foreach_param,
        is_switch=node.is_switch,
        graph_info=graph_to_dict(graph),
        env=dict(policy.env),
        origin_run_id=origin.run.run_id,
        cwd=os.getcwd(),
        **{**policy.task_fields(), "retries": 0, "placement": None},  # once, here
    )


def _open_spin_store(settings: Settings) -> MetadataStore:
    home = spin_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    return open_store(metadata_url_of(home, ""))


def _record_start(store: MetadataStore, spec: TaskSpec, origin: _Origin, user: str) -> None:
    now = time.time()
    store.create_run(
        spec.flow_name,
        user=user,
        tags=(),
        system_tags=[*system_tags(user), "spin"],
        origin_run_id=origin.run.run_id,
        scheduler_pid=os.getpid(),
        hostname=socket.gethostname(),
        datastore_url=spec.datastore_url,
        run_id=spec.run_id,
        created_at=now,
    )
    store.upsert_task(TaskRecord(spec.run_id, PARAMETERS_STEP, 0, "completed", now, now))
    store.upsert_attempt(AttemptRecord(spec.run_id, 0, 0, "completed", now, now, exit_code=0))
    store.add_artifacts(spec.run_id, 0, 0, list(spec.parameters.values()))
    store.upsert_task(_task_record(spec, origin, "running", now))


def _task_record(
    spec: TaskSpec,
    origin: _Origin,
    status: TaskStatus,
    created: float,
    finished: float | None = None,
) -> TaskRecord:
    return TaskRecord(
        spec.run_id,
        spec.step_name,
        spec.task_id,
        status,
        created,
        finished,
        foreach_stack=spec.frames,
        origin_run_id=origin.run.run_id,
        origin_task_id=origin.task.task_id,
        input_task_ids=tuple(i.task_id for i in spec.inputs),
    )


def _record_end(
    store: MetadataStore, spec: TaskSpec, origin: _Origin, result: TaskResult, persist: bool
) -> None:
    status: TaskStatus = "completed" if result.ok else "failed"
    started, finished = result.started_at or time.time(), result.finished_at or time.time()
    store.upsert_task(_task_record(spec, origin, status, started, finished))
    store.upsert_attempt(
        AttemptRecord(
            spec.run_id,
            spec.task_id,
            0,
            status,
            started,
            finished,
            exit_code=result.exit_code,
            exception=result.exception or result.caught,
            traceback=result.traceback,
            stdout_key=result.stdout_key,
            stderr_key=result.stderr_key,
            pid=result.pid,
        )
    )
    records = dict(result.artifacts)
    if result.cards_artifact is not None:
        records[result.cards_artifact.name] = result.cards_artifact
    if persist and records:
        store.add_artifacts(spec.run_id, spec.task_id, 0, list(records.values()))
    store.finish_run(spec.run_id, "completed" if result.ok else "failed", finished)


def execute_spin(request: SpinRequest, reporter: Reporter | None = None) -> SpinOutcome:
    """Spin the task ``request.pathspec`` names; the outcome says where it is recorded."""
    settings = request.settings
    reporter = reporter or Reporter()
    with open_store(settings.resolved_metadata_url, read_only=True) as main:
        origin = read_origin(main, request.graph, request.pathspec)
    where = f"{origin.run.flow_name}/{origin.run.run_id}/{origin.task.step_name}"
    if not request.quiet:
        reporter.line(f"Spinning {where}/{origin.task.task_id} locally.")
    blobs = open_blobs(origin.run.datastore_url or settings.resolved_datastore_url)
    origin = _override(origin, blobs, request.artifacts)
    spec = _spec(request, origin, new_run_id())
    name = "spawn" if fork_hazards() else "fork"
    executor = executor_factory(name)(
        request.flow_cls,
        on_output=reporter.task_output,
        on_start=reporter.task_started,
        settings=settings,
    )
    try:
        with _open_spin_store(settings) as store:
            _record_start(store, spec, origin, settings.user)
            try:
                result = executor.submit(spec).result()
            except BaseException:
                store.finish_run(spec.run_id, "failed", time.time())
                raise
            _record_end(store, spec, origin, result, request.persist)
    finally:
        executor.close()
    reporter.task_finished(spec, result.ok, "" if result.ok else result.exception or "")
    return SpinOutcome(
        spec.flow_name, spec.run_id, spec.step_name, spec.task_id, result.ok, spin_home(settings)
    )


def spin_store_exists(root: Path) -> Path | None:
    """The spin store under ``root`` (a project directory or a store directory), if any."""
    for home in (root / SPIN_DIRNAME, root / ".ketch" / SPIN_DIRNAME):
        if (home / DB_FILENAME).is_file():
            return home
    return None
