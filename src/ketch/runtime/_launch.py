"""Start a run: resolve parameters, create the run record, store the code, run the scheduler."""

from __future__ import annotations

import json
import os
import platform
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..datastore import BlobStore, LocalStorage, build_code_package
from ..exceptions import KetchException
from ..flow import FlowSpec
from ..graph import FlowGraph, graph_to_dict
from ..metadata import MetadataStore, open_store
from ..metadata._records import ArtifactRecord, AttemptRecord, ParameterRecord, TaskRecord
from ..settings import Settings
from ._console import Reporter
from ._executor import LocalExecutor
from ._origin import Origin
from ._policy import StepPolicy
from ._scheduler import RunOptions, Scheduler
from ._spec import TaskSpec
from ._task import save_value

PARAMETERS_STEP = "_parameters"


@dataclass(frozen=True)
class RunRequest:
    flow_cls: type[FlowSpec]
    graph: FlowGraph
    flow_file: Path
    settings: Settings
    parameters: dict[str, Any]  # attribute name -> value (already converted)
    tags: tuple[str, ...] = ()
    run_id_file: str | None = None
    quiet: bool = False
    policies: dict[str, StepPolicy] = field(default_factory=dict)
    resume: ResumeFrom | None = None


@dataclass(frozen=True)
class ResumeFrom:
    """Resume: reuse the successful tasks of ``origin_run_id`` outside ``rerun`` steps."""

    origin_run_id: int
    rerun: frozenset[str] = frozenset()


def system_tags(user: str) -> list[str]:
    return [
        f"user:{user}",
        "runtime:dev",
        f"python_version:{platform.python_version()}",
        f"ketch_version:{__version__}",
    ]


def execute_run(request: RunRequest) -> int:
    """Run the flow; returns the process exit code (0 when the end step finished)."""
    settings = request.settings
    reporter = Reporter(quiet=request.quiet)
    executor = LocalExecutor(
        request.flow_cls,
        mode="spawn" if settings.executor == "spawn" else "fork",
        on_output=reporter.task_output,
        on_start=reporter.task_started,
    )
    store = open_store(settings.resolved_metadata_url)
    try:
        return _run(request, store, executor, reporter)
    finally:
        executor.close()
        store.close()


def _run(
    request: RunRequest, store: MetadataStore, executor: LocalExecutor, reporter: Reporter
) -> int:
    settings = request.settings
    flow_name = request.flow_cls.__name__
    blobs = BlobStore(LocalStorage(settings.home_path))
    origin_id = request.resume.origin_run_id if request.resume else None
    run = store.create_run(
        flow_name,
        user=settings.user,
        tags=request.tags,
        system_tags=system_tags(settings.user),
        origin_run_id=origin_id,
        scheduler_pid=os.getpid(),
        hostname=socket.gethostname(),
    )
    if request.run_id_file:
        Path(request.run_id_file).write_text(str(run.run_id))
    reporter.run_started(run.run_id)
    status, message = "failed", ""
    try:
        if origin_id is None:
            parameters = _store_parameters(request, store, blobs, run.run_id)
        else:
            parameters = _clone_parameters(store, origin_id, run.run_id)
        store.set_code_key(run.run_id, blobs.put_bytes(build_code_package(request.flow_file)))
        graph_info = graph_to_dict(request.graph)
        for name, policy in request.policies.items():
            graph_info["steps"][name]["decorator_specs"] = list(policy.decorators)  # type: ignore[index]
        store.set_graph_key(run.run_id, blobs.put_bytes(json.dumps(graph_info).encode()))
        base = TaskSpec(
            flow_name=flow_name,
            flow_file=str(request.flow_file),
            flow_class=flow_name,
            run_id=run.run_id,
            step_name="",
            task_id=0,
            attempt=0,
            inputs=(),
            parameters=parameters,
            frames=(),
            var_keys=(),
            store_root=str(settings.home_path),
            username=settings.user,
            tags=frozenset(request.tags),
            cwd=os.getcwd(),
            graph_info=graph_info,
        )
        scheduler = Scheduler(
            graph=request.graph,
            base_spec=base,
            store=store,
            blobs=blobs,
            submit=executor.submit,
            kill=executor.kill,
            kill_all=executor.kill_all,
            reporter=reporter,
            options=RunOptions(settings.max_workers, settings.max_num_splits),
            policies=request.policies,
            origin=None
            if request.resume is None
            else Origin(store, blobs, request.resume.origin_run_id, request.resume.rerun),
        )
        failure = scheduler.run()
        if failure is None:
            status = "completed"
        else:
            message = failure
    except KeyboardInterrupt:
        message = "The run was interrupted (Ctrl-C); resume it with 'resume'."
    except KetchException as exc:
        message = exc.format()
    finally:
        store.finish_run(run.run_id, status, time.time())  # type: ignore[arg-type]
    reporter.run_finished(status == "completed")
    if status != "completed":
        print(message, file=sys.stderr)
        return 1
    return 0


def _store_parameters(
    request: RunRequest, store: MetadataStore, blobs: BlobStore, run_id: int
) -> dict[str, ArtifactRecord]:
    """Persist parameters, class constants and the flow name as the ``_parameters`` task."""
    values: dict[str, Any] = {"name": request.flow_cls.__name__}
    values.update(request.flow_cls._constants())
    values.update(request.parameters)
    records = {name: save_value(blobs, name, value) for name, value in values.items()}
    store.set_parameters(
        run_id,
        [
            ParameterRecord(name, _json(request.parameters[name]), records[name].key)
            for name in request.parameters
        ],
    )
    now = time.time()
    with store.batch():
        store.upsert_task(TaskRecord(run_id, PARAMETERS_STEP, 0, "completed", now, now))
        store.upsert_attempt(AttemptRecord(run_id, 0, 0, "completed", now, now, exit_code=0))
        store.add_artifacts(run_id, 0, 0, list(records.values()))
    return records


def _clone_parameters(
    store: MetadataStore, origin_run_id: int, run_id: int
) -> dict[str, ArtifactRecord]:
    """Resume keeps the origin's parameters: copy its ``_parameters`` task by reference."""
    records = {a.name: a for a in store.list_artifacts(origin_run_id, 0)}
    store.set_parameters(run_id, store.get_parameters(origin_run_id))
    now = time.time()
    with store.batch():
        store.upsert_task(
            TaskRecord(run_id, PARAMETERS_STEP, 0, "completed", now, now,
                       origin_run_id=origin_run_id, origin_task_id=0)  # fmt: skip
        )
        store.upsert_attempt(AttemptRecord(run_id, 0, 0, "completed", now, now, exit_code=0))
        store.add_artifacts(run_id, 0, 0, list(records.values()))
    return records


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return json.dumps(repr(value))
