"""Start a run: resolve parameters, create the run record, store the code, run the scheduler.

The run id is chosen before the database is open; the record writer thread opens the store and
creates the run while the first tasks already start (see ``_writer``).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..datastore import BlobStore, build_code_package, open_blobs
from ..datastore import check_reachable as datastore_reachable
from ..datastore import preflight_url as datastore_preflight
from ..exceptions import KetchException, UserError
from ..flow import FlowSpec
from ..flow._config_apply import flow_configs
from ..flow._user_decorators import with_env
from ..graph import FlowGraph, graph_to_dict
from ..metadata import new_run_id, open_store
from ..metadata import preflight as metadata_preflight
from ..metadata._records import (
    PARAMETERS_STEP,
    ArtifactRecord,
    AttemptRecord,
    ParameterRecord,
    RunStatus,
    TaskRecord,
)
from ..settings import Settings
from ..trackers._dispatch import Dispatcher, checked_names
from ._console import Reporter
from ._envexec import EnvExecutor
from ._executor_api import AUTO, PLACED, Executor, RoutedExecutor, executor_factory
from ._forksafety import Hazard, fork_hazards, should_release_gpu
from ._gpu import GpuPool, plan_gpus, relaunch_without_gpu, visible_gpus
from ._live import LiveMetrics
from ._origin import Origin
from ._policy import StepPolicy, place_on, remote_executors
from ._runlock import RunLock
from ._scheduler import RunOptions, Scheduler
from ._secrets import with_secrets
from ._spec import TaskSpec
from ._task import save_value
from ._writer import RecordWriter


@dataclass(frozen=True)
class ResumeFrom:
    """Resume: reuse the successful tasks of ``origin_run_id`` outside ``rerun`` steps."""

    origin_run_id: int
    rerun: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RunRequest:
    flow_cls: type[FlowSpec]
    graph: FlowGraph
    flow_file: Path
    settings: Settings
    parameters: dict[str, Any]  # attribute name -> value (already converted)
    tags: tuple[str, ...] = ()
    run_id_file: str | None = None
    runner_attribute_file: str | None = None  # JSON for ketch.Runner: flow, run id, store
    policies: dict[str, StepPolicy] = field(default_factory=dict)
    resume: ResumeFrom | None = None
    namespace: str | None = None  # run --namespace: what the Client sees inside tasks
    # What flow decorators add: system tags of the run, and values of ``current`` (@project).
    extra_system_tags: tuple[str, ...] = ()
    flow_fields: dict[str, Any] = field(default_factory=dict)


def system_tags(user: str) -> list[str]:
    return [
        f"user:{user}",
        "runtime:dev",
        f"python_version:{platform.python_version()}",
        f"ketch_version:{__version__}",
    ]


def execute_run(request: RunRequest, writer: RecordWriter | None = None) -> int:
    """Run the flow; returns the process exit code (0 when the end step finished).

    ``writer`` may have been started earlier (see :func:`start_writer`) so that the store opens
    while the flow is checked.
    """
    settings = request.settings
    _check_store(settings)
    if settings.executor != AUTO:
        executor_factory(settings.executor)  # an unknown name is refused before anything starts
    tracker_names = checked_names(settings.trackers)
    reporter = Reporter()
    if settings.executor in PLACED:
        request = replace(request, policies=place_on(request.policies, settings.executor))
    request = replace(request, policies=with_secrets(request.policies, settings))
    gpus = _gpu_pool(request.policies, reporter)
    # Both helper processes are forked before any thread exists in this process.
    writer = writer or RecordWriter(settings.resolved_metadata_url)
    live = LiveMetrics()
    try:
        executor = _executor(request, reporter, live)
    except BaseException:
        writer.close()
        raise
    # The trackers' thread starts once the helper processes are forked.
    trackers = Dispatcher(tracker_names) if tracker_names else None
    writer.observer = trackers
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        # An object store's client starts threads: its first request waits for the forks.
        datastore_reachable(settings.resolved_datastore_url)
        return _run(request, writer, executor, reporter, gpus, live)
    finally:
        signal.signal(signal.SIGTERM, previous)
        executor.close()
        if trackers is not None:
            trackers.close()  # the links they gave last go with the writer's last sending
        writer.close()


def _executor(request: RunRequest, reporter: Reporter, live: LiveMetrics) -> Executor:
    """The run's executor: the local one (fork or spawn), and one for each executor its steps
    are placed on (Ray), behind one :class:`RoutedExecutor`. The local one starts first: its
    fork server is forked before a cluster client starts threads in this process."""
    settings, policies = request.settings, request.policies
    callbacks: dict[str, Any] = {
        "on_output": reporter.task_output,
        "on_start": reporter.task_started,
        "settings": settings,
        "on_metrics": live,
    }
    placed = remote_executors(policies)
    local: Executor | None = None
    if not placed or any(p.placement is None for p in policies.values()):
        setting = AUTO if settings.executor in PLACED else settings.executor
        name = _executor_name(setting, request.flow_file.name, reporter)
        local = executor_factory(name)(request.flow_cls, **callbacks)
        pythons = {p.python for p in policies.values() if p.python}
        if pythons:  # @pypi/@conda steps: their environments' servers start meanwhile
            local = env = EnvExecutor(
                local,
                on_output=reporter.task_output,
                on_start=reporter.task_started,
                spawn=name == "spawn",
                on_metrics=live,
            )
            env.prestart(replace(_base_spec(request, 0, {}, {}, ""), code_package=None), pythons)
        if not placed:
            return local
    try:
        remote = {name: executor_factory(name)(request.flow_cls, **callbacks) for name in placed}
    except BaseException:
        if local is not None:
            local.close()
        raise
    return RoutedExecutor(local, remote)


def _check_store(settings: Settings) -> None:
    """Refuse the run, before anything starts, where the store cannot take it: a full disk, a
    read-only place, a damaged run database (the stores' ``preflight`` say which and how to
    fix it)."""
    datastore_preflight(settings.resolved_datastore_url)
    metadata_preflight(settings.resolved_metadata_url)


def release_gpu() -> None:
    """Start the launching process again with the GPUs hidden if the flow's import left a
    GPU runtime in it that keeps most of a GPU's memory (JAX, TensorFlow): the scheduler must
    not hold what the tasks need. Call before any helper process or thread is started."""
    hazards = fork_hazards()
    if should_release_gpu(hazards):
        relaunch_without_gpu(_reasons(hazards))


def _executor_name(setting: str, flow_file: str, reporter: Reporter) -> str:
    """The registered executor the ``executor`` setting names. ``auto`` forks tasks from a
    pre-warmed process unless the flow's import made that unsafe; then each task starts a
    fresh interpreter, and the run says why, once."""
    if setting not in (AUTO, "fork"):
        return setting
    hazards = fork_hazards()
    if not hazards:
        return "fork"
    if setting == "fork":
        reporter.line(
            f"Warning: forking tasks although importing {flow_file} left this process unsafe "
            f"to fork: {_reasons(hazards)} (--executor fork)."
        )
        return "fork"
    reporter.line(
        f"Tasks start in fresh interpreters: importing {flow_file} left this process unsafe "
        f"to fork: {_reasons(hazards)}. To keep fork's fast start, do that inside a step."
    )
    return "spawn"


def _reasons(hazards: list[Hazard]) -> str:
    return "; ".join(h.reason for h in hazards)


def _gpu_pool(policies: dict[str, StepPolicy], reporter: Reporter) -> GpuPool | None:
    """The GPUs the run hands out, or None (checked before anything starts)."""
    asks = {step: p.local_gpus for step, p in policies.items() if p.local_gpus}
    if not asks:
        return None
    devices = visible_gpus()
    if not devices:
        steps = ", ".join(sorted(asks))
        reporter.line(
            f"Warning: this machine has no GPU; the steps that ask for one ({steps}) run "
            "without, as in Metaflow's local runs."
        )
    return plan_gpus(asks, devices)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM stops a run like Ctrl-C: tasks are stopped and the run is recorded as failed."""
    raise KeyboardInterrupt


def start_writer(settings: Settings) -> RecordWriter:
    """Fork the metadata writer now: it gets ready on the other core meanwhile."""
    return RecordWriter(settings.resolved_metadata_url)


def _run(
    request: RunRequest,
    writer: RecordWriter,
    executor: Executor,
    reporter: Reporter,
    gpus: GpuPool | None,
    live: LiveMetrics | None = None,
) -> int:
    settings = request.settings
    flow_name = request.flow_cls.__name__
    blobs = open_blobs(settings.resolved_datastore_url)
    run_id = new_run_id()
    origin_id = request.resume.origin_run_id if request.resume else None
    user, tags = settings.user, request.tags
    lock = RunLock.acquire(settings.home_path, flow_name, run_id)  # before the run is recorded
    writer.create_run(
        flow_name,
        run_id=run_id,
        user=user,
        tags=tags,
        system_tags=[*system_tags(user), *request.extra_system_tags],
        origin_run_id=origin_id,
        scheduler_pid=os.getpid(),
        hostname=socket.gethostname(),
        datastore_url=settings.resolved_datastore_url,
        created_at=time.time(),
    )
    status: RunStatus = "failed"
    message = ""
    try:
        origin = _origin(request, settings, blobs)
        for warning in origin.warnings if origin is not None else ():
            reporter.line(warning)
        if request.resume is None:
            with blobs.batch():  # one write to a remote store; recorded once it is written
                parameters = _store_parameters(request, writer, blobs, run_id)
        else:
            parameters = _clone_parameters(writer, origin, run_id)
        # The run and its parameters go to the writer in one sending (one transaction) before
        # any task starts; the writer commits what it was sent even if this process dies.
        writer.send()
        if request.run_id_file:
            _write_run_id(request.run_id_file, run_id)
        if request.runner_attribute_file:
            write_runner_attributes(request.runner_attribute_file, request, run_id)
        reporter.run_started(run_id)
        code_key, graph_info = _store_code_and_graph(request, writer, blobs, run_id)
        failure = Scheduler(
            graph=request.graph,
            base_spec=_base_spec(request, run_id, parameters, graph_info, code_key),
            writer=writer,
            executor=executor,
            reporter=reporter,
            options=RunOptions(settings.max_workers, settings.max_num_splits),
            policies=request.policies,
            origin=origin,
            gpus=gpus,
            live=live,
        ).run()
        if failure is None:
            status = "completed"
        else:
            message = failure
    except KeyboardInterrupt:
        message = "The run was interrupted (Ctrl-C); resume it with 'resume'."
    except KetchException as exc:
        message = exc.format()
    finally:
        finished = time.time()
        writer.finish_run(run_id, status, finished)
        try:
            writer.flush()
        except KetchException as exc:
            status, message = "failed", exc.format()
        if lock is not None:
            lock.release()
    reporter.run_finished(status == "completed")
    if status != "completed":
        print(message, file=sys.stderr)
        return 1
    return 0


def _write_run_id(path: str, run_id: int) -> None:
    """Write the run id file (its path was checked before the run started)."""
    try:
        Path(path).write_text(str(run_id))
    except OSError as exc:
        raise UserError(
            f"--run-id-file '{path}' could not be written: {exc.strerror or exc}.",
            hint="Check the path and its permissions.",
        ) from None


def write_runner_attributes(path: str, request: RunRequest, run_id: int) -> None:
    """What ``ketch.Runner`` reads to find the run: written whole (rename) once the run's
    record is sent, so a reader never sees half of it."""

    settings = request.settings
    record = {
        "flow_name": request.flow_cls.__name__,
        "run_id": str(run_id),
        "metadata": f"local@{settings.home_path.parent}",  # Metaflow's field (a hint here)
        "home": str(settings.home_path),
        "metadata_url": settings.metadata_url,
        "datastore_url": settings.datastore_url,
    }
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


def _origin(request: RunRequest, settings: Settings, blobs: BlobStore) -> Origin | None:
    """For resume, the index of the origin run's reusable tasks (read synchronously)."""
    if request.resume is None:
        return None
    with open_store(settings.resolved_metadata_url) as store:
        return Origin(store, blobs, request.resume.origin_run_id, request.resume.rerun)


def _base_spec(
    request: RunRequest,
    run_id: int,
    parameters: dict[str, ArtifactRecord],
    graph_info: dict[str, Any],
    code_key: str,
) -> TaskSpec:
    name = request.flow_cls.__name__
    return TaskSpec(
        flow_name=name,
        flow_file=str(request.flow_file),
        flow_class=name,
        run_id=run_id,
        step_name="",
        task_id=0,
        attempt=0,
        inputs=(),
        parameters=parameters,
        frames=(),
        var_keys=(),
        datastore_url=request.settings.resolved_datastore_url,
        username=request.settings.user,
        tags=frozenset(request.tags),
        namespace=request.namespace,
        # current.origin_run_id in the tasks of a resumed run
        origin_run_id=request.resume.origin_run_id if request.resume else None,
        cwd=os.getcwd(),
        graph_info=graph_info,
        code_package=code_key,  # a task elsewhere loads the flow from it
        env=with_env(request.flow_cls),  # user decorators given by --with, for such a task
        flow_fields=request.flow_fields,
    )


def _store_code_and_graph(
    request: RunRequest, writer: RecordWriter, blobs: BlobStore, run_id: int
) -> tuple[str, dict[str, Any]]:
    """Store the code package and the graph; the package's key and the graph's description."""
    code_key = blobs.put_bytes(
        build_code_package(request.flow_file), pack=False, label="the code package"
    )
    graph_info = graph_to_dict(request.graph)
    graph_info["configs"] = sorted(flow_configs(request.flow_cls))  # shown apart in the UI
    for name, policy in request.policies.items():
        graph_info["steps"][name]["decorator_specs"] = list(policy.decorators)
        if policy.environment is not None:  # the lock of its @pypi/@conda environment
            graph_info["steps"][name]["environment"] = policy.environment
    graph_key = blobs.put_bytes(json.dumps(graph_info).encode(), label="the graph")
    writer.set_code_key(run_id, code_key)
    writer.set_graph_key(run_id, graph_key)
    return code_key, graph_info


def _parameters_task(
    writer: RecordWriter,
    run_id: int,
    records: dict[str, ArtifactRecord],
    parameters: list[ParameterRecord],
    origin_run_id: int | None = None,
) -> None:
    """Record the ``_parameters`` pseudo-task (task 0) that holds parameters and constants."""
    now = time.time()
    origin_task = None if origin_run_id is None else 0

    writer.set_parameters(run_id, parameters)
    writer.upsert_task(
        TaskRecord(
            run_id,
            PARAMETERS_STEP,
            0,
            "completed",
            now,
            now,
            origin_run_id=origin_run_id,
            origin_task_id=origin_task,
        ),
    )
    writer.upsert_attempt(AttemptRecord(run_id, 0, 0, "completed", now, now, exit_code=0))
    writer.add_artifacts(run_id, 0, 0, list(records.values()))


def _store_parameters(
    request: RunRequest, writer: RecordWriter, blobs: BlobStore, run_id: int
) -> dict[str, ArtifactRecord]:
    """Persist parameters, class constants and the flow name as the ``_parameters`` task."""
    values: dict[str, Any] = {"name": request.flow_cls.__name__}
    values.update(request.flow_cls._constants())
    values.update(request.parameters)
    records = {name: save_value(blobs, name, value) for name, value in values.items()}
    parameters = [
        ParameterRecord(name, _json(request.parameters[name]), records[name].key)
        for name in request.parameters
    ]
    _parameters_task(writer, run_id, records, parameters)
    return records


def _clone_parameters(
    writer: RecordWriter, origin: Origin | None, run_id: int
) -> dict[str, ArtifactRecord]:
    """Resume keeps the origin's parameters: copy its ``_parameters`` task by reference."""
    assert origin is not None
    records = origin.parameter_artifacts
    _parameters_task(writer, run_id, records, origin.parameters, origin.run_id)
    return records


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return json.dumps(repr(value))
