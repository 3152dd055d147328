"""The Ray side of a ketch task: what runs inside a Ray worker process for each task.

:func:`run_task` is a Ray streaming generator. It hands the task to a local executor of this
worker process (made once per run and flow, see ``LocalExecutor.for_spec``: a fork server
spawned in a fresh interpreter that loaded the flow from the run's code package, so each task
is a forked process of its own and no module state leaks from one task to the next), and
yields what the driver needs, in order:

* ``("start", pid, node_id)`` once the task's process runs;
* ``("output", [(stream, line), ...])`` batches of the task's output as it prints it;
* ``("beat",)`` every ``_BEAT_SECONDS`` without output: Ray cancels a generator only where it
  yields, so a quiet task must yield to be cancellable;
* ``("result", TaskResult)`` last; the task's logs are stored by then (``stdout_key``).

Ray cancelling the generator (``ray.cancel``) closes it at its next ``yield``: the task's
process group is killed before the generator ends. The worker's death ends the fork server
(parent-death signal), which ends its tasks (see ``runtime._lifeline``).
"""

from __future__ import annotations

import os
import queue
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from ..runtime._executor import LocalExecutor
from ..runtime._spec import TaskResult, TaskSpec

# What Ray sets in a worker for the accelerators it gave the task; passed on to the task.
_ACCELERATOR_VARS = (
    "CUDA_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
    "NEURON_RT_VISIBLE_CORES",
    "TPU_VISIBLE_CHIPS",
)
# The environment variable that tells a task which Ray node it runs on.
NODE_VAR = "KETCH_RAY_NODE_ID"
_BATCH_SECONDS = 0.02  # output lines that arrive this close together travel in one item
_BEAT_SECONDS = 0.5  # how often a quiet task's generator yields (lets a cancellation in)
_CANCEL_WAIT_SECONDS = 10.0

_Key = tuple[int, str, int, int]
_executors: dict[tuple[str | None, str, str], LocalExecutor] = {}
_channels: dict[_Key, queue.SimpleQueue[tuple[Any, ...]]] = {}


def _key(spec: TaskSpec) -> _Key:
    return (spec.run_id, spec.step_name, spec.task_id, spec.attempt)


def _on_output(spec: TaskSpec, stream: str, line: bytes) -> None:
    channel = _channels.get(_key(spec))
    if channel is not None:
        channel.put(("line", stream, line))


def _on_start(spec: TaskSpec, pid: int) -> None:
    channel = _channels.get(_key(spec))
    if channel is not None:
        channel.put(("start", pid))


def _executor(spec: TaskSpec) -> LocalExecutor:
    """This worker's local executor for ``spec``'s flow (made on the first task)."""
    key = (spec.code_package, spec.flow_class, spec.datastore_url)
    executor = _executors.get(key)
    if executor is None:
        executor = LocalExecutor.for_spec(spec, on_output=_on_output, on_start=_on_start)
        _executors[key] = executor
    return executor


def run_task(spec: TaskSpec) -> Iterator[tuple[Any, ...]]:
    """Run one task in this Ray worker; see the module's docstring for what it yields."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    env = {name: os.environ[name] for name in _ACCELERATOR_VARS if name in os.environ}
    spec = replace(spec, env={**spec.env, **env, NODE_VAR: node_id}, load_from_package=True)
    channel: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
    _channels[_key(spec)] = channel
    try:
        executor = _executor(spec)
        future = executor.submit(spec)
        future.add_done_callback(lambda done: channel.put(("done",)))
        try:
            yield from _follow(channel, future, node_id)
        except BaseException:  # cancelled: Ray closed the generator (GeneratorExit)
            executor.cancel(future)
            _wait(future)
            raise
    finally:
        _channels.pop(_key(spec), None)


def _follow(
    channel: queue.SimpleQueue[tuple[Any, ...]], future: Future[TaskResult], node_id: str
) -> Iterator[tuple[Any, ...]]:
    lines: list[tuple[str, bytes]] = []
    while True:
        try:
            event = channel.get(timeout=_BATCH_SECONDS if lines else _BEAT_SECONDS)
        except queue.Empty:
            yield ("output", lines) if lines else ("beat",)
            lines = []
            continue
        if event[0] == "line":
            lines.append((event[1], event[2]))
        elif event[0] == "start":
            if lines:  # a spawned task may print before its pid is known
                yield ("output", lines)
                lines = []
            yield ("start", event[1], node_id)
        else:
            if lines:
                yield ("output", lines)
            yield ("result", future.result())
            return


def _wait(future: Future[TaskResult]) -> None:
    try:
        future.result(timeout=_CANCEL_WAIT_SECONDS)
    except BaseException:  # noqa: S110 - the task is killed either way; Ray reports the cancel
        pass
