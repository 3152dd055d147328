"""The scheduler: holds a run's state, decides which tasks are ready, records what happens.

It is the only writer of its run's metadata and does no storage I/O: tasks store their
artifacts, logs and cards, and their results carry the keys. Ready tasks go to the ``Executor``,
at most ``max_workers`` at once; the loop wakes on task completion (no polling) and writes the
records of everything that happened in one turn in one transaction. A failed attempt is retried
as ``@retry`` allows; ``@timeout`` is raised inside the step by the task itself, and enforced
here by killing the process of a step that does not stop (see ``_timeout``); ``resume`` clones
tasks of an origin run instead of running them again.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace

from ..cards._records import CARDS_ARTIFACT
from ..exceptions import TooManySplitsError
from ..flow._decorators import MAX_ATTEMPTS
from ..graph import FlowGraph
from ..metadata._records import (
    ArtifactRecord,
    AttemptRecord,
    ForeachFrame,
    MetricPoint,
    TaskRecord,
    TaskStatus,
)
from ._console import Reporter
from ._executor_api import Executor, submit_gang
from ._gang import GangScheduling, GangState
from ._gpu import VISIBLE, GpuPool
from ._live import LiveMetrics, MetricSeq
from ._origin import Origin, OriginTask
from ._policy import StepPolicy
from ._spec import Gang, InputRef, TaskResult, TaskSpec
from ._timeout import TIMEOUT_GRACE_SECONDS, timeout_message
from ._writer import RecordWriter

HEARTBEAT_SECONDS = 5.0
# Records go to the writer at most this often (each sending is a commit there); the run's
# end, a failure and Ctrl-C send what is left at once.
SEND_SECONDS = 0.025


@dataclass(frozen=True)
class RunOptions:
    max_workers: int = 16
    max_num_splits: int = 100


@dataclass
class _Done:
    """A finished task, kept as long as a successor may still need its outputs."""

    step_name: str
    task_id: int
    artifacts: dict[str, ArtifactRecord]
    frames: tuple[ForeachFrame, ...]
    var_keys: tuple[str, ...]
    iterations: tuple[int, ...] = ()


@dataclass
class _JoinWait:
    expected: int
    arrived: dict[int, _Done] = field(default_factory=dict)  # position -> parent


@dataclass
class _Running:
    spec: TaskSpec
    started: float
    deadline: float | None
    timed_out: bool = False
    devices: tuple[str, ...] = ()  # the GPUs the task was given


class Scheduler(GangScheduling):
    """Runs one run of a flow to completion (or to its first failure)."""

    def __init__(
        self,
        *,
        graph: FlowGraph,
        base_spec: TaskSpec,
        writer: RecordWriter,
        executor: Executor,
        reporter: Reporter,
        options: RunOptions,
        policies: dict[str, StepPolicy],
        origin: Origin | None = None,
        gpus: GpuPool | None = None,
        live: LiveMetrics | None = None,
    ) -> None:
        self.graph = graph
        self.base = base_spec
        self.writer = writer
        self.executor = executor
        self.reporter = reporter
        self.options = options
        self.policies = policies
        self.origin = origin
        self.gpus = gpus
        self.live = live  # metric batches of running tasks (the executor's on_metrics)
        self._metric_seq = MetricSeq()
        self.run_id = base_spec.run_id
        self._next_task_id = 1
        self._queue: deque[TaskSpec] = deque()
        self._running: dict[Future[TaskResult], _Running] = {}
        self._joins: dict[tuple[str, tuple[int, ...]], _JoinWait] = {}
        self._branches = graph.branch_positions()  # (join, parent) -> branch of its split
        self._cloned: set[int] = set()
        self._failure: str | None = None
        self._last_beat = 0.0
        self._gangs: dict[int, GangState] = {}  # by control task id, while a gang runs

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> str | None:
        """Run until the end step finishes or a task fails; returns the failure, if any."""
        self._enqueue(self.graph.start, (), (), ())
        try:
            while (self._queue or self._running) and self._failure is None:
                self._launch_ready()
                due = self.writer.send(every=SEND_SECONDS)
                if not self._running:
                    continue
                timeout = self._wait_time() if due is None else min(self._wait_time(), due)
                done, _ = wait(self._waited(), timeout=timeout, return_when=FIRST_COMPLETED)
                self._write_live()  # first: a finished task's last batches came before it
                for future in done:
                    if future in self._running:
                        self._finished(future)  # type: ignore[arg-type]
                self._enforce_timeouts()
                self._heartbeat()
            if self._failure is not None:
                self._abort()
        except KeyboardInterrupt:
            self._failure = "The run was interrupted (Ctrl-C)."
            self._abort()
            raise
        finally:
            self.writer.flush()
        return self._failure

    def _waited(self) -> list[Future[object]]:
        """The running tasks' futures, and the arrival of live metrics."""
        futures: list[Future[object]] = list(self._running)  # type: ignore[arg-type]
        if self.live is not None:
            futures.append(self.live.arrived())  # type: ignore[arg-type]
        return futures

    def _write_live(self) -> None:
        """Queue the metric batches running tasks sent since the last turn."""
        for spec, points in self.live.take() if self.live is not None else ():
            self._write_metrics(spec, points)

    def _write_metrics(self, spec: TaskSpec, points: tuple[MetricPoint, ...]) -> None:
        first = self._metric_seq.claim(spec.task_id, spec.attempt, len(points))
        self.writer.add_metrics(
            self.run_id, spec.task_id, spec.attempt, spec.step_name, points, first
        )

    def _wait_time(self) -> float:
        now = time.time()
        deadlines = [r.deadline - now for r in self._running.values() if r.deadline is not None]
        return max(0.0, min([HEARTBEAT_SECONDS, *deadlines]))

    def _heartbeat(self) -> None:
        now = time.time()
        if now - self._last_beat >= HEARTBEAT_SECONDS:
            self.writer.heartbeat(self.run_id, now)
            self._last_beat = now

    def _enforce_timeouts(self) -> None:
        now = time.time()
        for future, running in self._running.items():
            if running.deadline is not None and now >= running.deadline and not running.timed_out:
                running.timed_out = True
                self.executor.cancel(future)

    def _launch_ready(self) -> None:
        waiting: list[TaskSpec] = []  # GPU tasks whose devices are all in use, in order
        while self._queue and len(self._running) < self.options.max_workers:
            spec = self._queue.popleft()
            if spec.gang is not None:
                if not self._launch_gang(spec):
                    break  # the gang waits for room, at the head of the queue
                continue
            if self._try_clone(spec):
                continue
            devices = self._devices_for(spec)
            if devices is None:
                waiting.append(spec)
                continue
            if devices:
                spec = replace(spec, env={**spec.env, VISIBLE: ",".join(devices)})
            self._submit([spec], [devices])
        self._queue.extendleft(reversed(waiting))

    def _submit(self, specs: list[TaskSpec], devices: list[tuple[str, ...]] | None = None) -> None:
        """Record the tasks as running and hand them to the executor (a gang all at once);
        ``devices``: the GPUs each was given."""
        started = time.time()
        for spec in specs:
            self._write_task(
                self._task_record(spec, "running", started),
                AttemptRecord(self.run_id, spec.task_id, spec.attempt, "running", started),
            )
        if len(specs) == 1 and specs[0].gang is None:
            futures = [self.executor.submit(specs[0])]
        else:
            futures = submit_gang(self.executor, specs)
        for i, (spec, future) in enumerate(zip(specs, futures, strict=True)):
            deadline = started + spec.timeout + TIMEOUT_GRACE_SECONDS if spec.timeout else None
            given = devices[i] if devices else ()
            self._running[future] = _Running(spec, started, deadline, devices=given)

    def _devices_for(self, spec: TaskSpec) -> tuple[str, ...] | None:
        """The GPUs a task gets, or None: not now. A step that asks for none sees what the
        launching process sees (a flow may touch CUDA when its module is imported). A task
        placed elsewhere gets its devices there."""
        if self.gpus is None or not spec.gpus or spec.placement is not None:
            return ()
        return self.gpus.take(spec.gpus)

    def _release(self, running: _Running) -> None:
        if self.gpus is not None and running.devices:
            self.gpus.give(running.devices)

    def _abort(self) -> None:
        """Fail fast: stop every running task and record it as failed."""
        if self._running:
            self.reporter.line(f"Terminating {len(self._running)} active tasks...")
        self.executor.cancel_all()
        wait(list(self._running), timeout=30)
        for future, running in list(self._running.items()):
            if future.done() and future.exception() is None:
                result = replace(future.result(), ok=False)
            else:
                result = TaskResult(ok=False, exception="TaskKilled: the run was stopped")
            self._record(running.spec, running.started, result, final=True)
            self._release(running)
        self._running.clear()

    # -- results ----------------------------------------------------------------------------
    def _finished(self, future: Future[TaskResult]) -> None:
        running = self._running.pop(future)
        self._release(running)
        spec, result = running.spec, future.result()
        if running.timed_out:
            assert spec.timeout is not None
            result = replace(
                result,
                ok=False,
                exception=f"TimeoutException: {timeout_message(spec.step_name, spec.timeout)} "
                f"(the step did not stop when interrupted, so its process was killed "
                f"{TIMEOUT_GRACE_SECONDS:g} seconds later)",
            )
        if spec.gang is not None:
            self._gang_finished(spec, running.started, result)
            return
        if not result.ok:
            retry = self._retry_spec(spec, result)
            self._record(spec, running.started, result, final=retry is None)
            if retry is not None:
                self.reporter.task_line(spec, f"Retrying (attempt {retry.attempt}).")
                self._queue.appendleft(retry)
            else:
                self._failure = (
                    f"Step {spec.step_name} (task {spec.pathspec}) failed: {result.exception}"
                )
            return
        self._record(spec, running.started, result, final=True)
        self._after_success(spec, result)

    def _after_success(self, spec: TaskSpec, result: TaskResult) -> None:
        done = _Done(
            spec.step_name,
            spec.task_id,
            result.artifacts,
            spec.frames,
            spec.var_keys,
            spec.iterations,
        )
        try:
            self._successors(spec, result, done)
        except TooManySplitsError as exc:
            self.reporter.line(exc.format())
            self._failure = str(exc)

    def _retry_spec(self, spec: TaskSpec, result: TaskResult) -> TaskSpec | None:
        """The next attempt of a failed task, if ``@retry`` or ``@catch`` allow one."""
        if spec.fallback_error is not None or spec.attempt + 1 >= MAX_ATTEMPTS:
            return None
        if spec.attempt < spec.retries:
            return replace(spec, attempt=spec.attempt + 1)
        if spec.catch:  # the process died, so the step could not catch it itself
            return replace(spec, attempt=spec.attempt + 1, fallback_error=result.exception)
        return None

    def _task_record(
        self, spec: TaskSpec, status: TaskStatus, created: float, **extra: object
    ) -> TaskRecord:
        return TaskRecord(
            run_id=self.run_id,
            step_name=spec.step_name,
            task_id=spec.task_id,
            status=status,
            created_at=created,
            attempt=spec.attempt,
            foreach_stack=spec.frames,
            input_task_ids=tuple(ref.task_id for ref in spec.inputs),
            **extra,  # type: ignore[arg-type]
        )

    def _record(self, spec: TaskSpec, started: float, result: TaskResult, *, final: bool) -> None:
        status: TaskStatus = "completed" if result.ok else "failed"
        finished = result.finished_at or time.time()
        attempt = AttemptRecord(
            run_id=self.run_id,
            task_id=spec.task_id,
            attempt=spec.attempt,
            status=status,
            started_at=started,
            finished_at=finished,
            exit_code=result.exit_code,
            exception=result.exception or result.caught,
            traceback=result.traceback,
            stdout_key=result.stdout_key,
            stderr_key=result.stderr_key,
            pid=result.pid,
            node=result.node,
        )
        task_status = status if final else "running"
        self._write_task(
            self._task_record(spec, task_status, started, finished_at=finished if final else None),
            attempt,
            self._with_cards(result),
        )
        self._write_live()  # the points it sent while running come first
        if result.metrics:
            self._write_metrics(spec, result.metrics)
        self.reporter.task_finished(spec, result.ok, "" if result.ok else result.exception or "")

    def _with_cards(self, result: TaskResult) -> list[ArtifactRecord]:
        """The attempt's artifacts plus its ``_cards`` record (stored by the task), which
        belongs to this task only: successors start from ``result.artifacts``."""
        records = dict(result.artifacts)
        if result.cards_artifact is not None:
            records[CARDS_ARTIFACT] = result.cards_artifact
        return list(records.values())

    def _write_task(
        self,
        task: TaskRecord,
        attempt: AttemptRecord,
        artifacts: list[ArtifactRecord] | None = None,
    ) -> None:
        """Queue the records of one task attempt for the writer (task row first)."""
        self.writer.upsert_task(task)
        self.writer.upsert_attempt(attempt)
        if artifacts:
            self.writer.add_artifacts(task.run_id, task.task_id, attempt.attempt, artifacts)

    # -- resume -----------------------------------------------------------------------------
    def _try_clone(self, spec: TaskSpec) -> bool:
        """Reuse the origin run's task at the same position, if resume allows it."""
        if self.origin is None or not all(ref.task_id in self._cloned for ref in spec.inputs):
            return False
        indices = tuple(f.index for f in spec.frames)
        found = self.origin.lookup(spec.step_name, indices, spec.iterations)
        if found is None:
            return False
        chosen = self.origin.chosen(found) if spec.is_switch else None
        if spec.is_switch and chosen not in spec.out_funcs:
            return False  # the origin's choice is unknown: run the switch again
        result = self._clone(spec, found, indices)
        if chosen is not None:
            result = replace(result, transition=(chosen,))
        self._cloned.add(spec.task_id)
        self._after_success(spec, result)
        return True

    def _clone(self, spec: TaskSpec, origin: OriginTask, indices: tuple[int, ...]) -> TaskResult:
        assert self.origin is not None
        attempt = self.origin.attempt(origin)
        now = time.time()
        self._write_task(
            self._task_record(
                spec,
                "completed",
                now,
                finished_at=now,
                origin_run_id=self.origin.run_id,
                origin_task_id=origin.record.task_id,
            ),
            AttemptRecord(
                self.run_id,
                spec.task_id,
                0,
                "completed",
                now,
                now,
                exit_code=0,
                stdout_key=attempt.stdout_key if attempt else None,
                stderr_key=attempt.stderr_key if attempt else None,
            ),
            list(origin.artifacts.values()),
        )
        self.reporter.task_line(spec, f"Cloned from {origin.record.task_id} (resume).")
        # A clone keeps its origin's cards, but they are not passed on to its successors.
        artifacts = {k: v for k, v in origin.artifacts.items() if k != CARDS_ARTIFACT}
        result = TaskResult(ok=True, artifacts=artifacts, transition=spec.out_funcs)
        if spec.foreach_param:
            n, values, key = self.origin.foreach_split(origin, spec.foreach_param, indices)
            result = replace(
                result,
                foreach_var=spec.foreach_param,
                foreach_num_splits=n,
                foreach_values=values,
                foreach_key=key,
            )
        return result

    # -- what comes next --------------------------------------------------------------------
    def _successors(self, spec: TaskSpec, result: TaskResult, done: _Done) -> None:
        node = self.graph[spec.step_name]
        if spec.step_name == self.graph.end:
            return
        if node.type == "foreach":
            self._fan_out(spec, result, done)
            return
        for child in result.transition if node.is_switch else node.out_funcs:
            if self.graph[child].is_join:
                self._arrive(child, done)
            else:
                self._enqueue(child, (done,), spec.frames, spec.var_keys)

    def _fan_out(self, spec: TaskSpec, result: TaskResult, done: _Done) -> None:
        n = result.foreach_num_splits
        if n > self.options.max_num_splits:
            raise TooManySplitsError(
                f"Foreach in step '{spec.step_name}' yielded {n} child tasks, more than the "
                f"maximum of {self.options.max_num_splits}.",
                hint=f"Raise the maximum with --max-num-splits {n} (or set KETCH_MAX_NUM_SPLITS).",
            )
        child = self.graph[spec.step_name].out_funcs[0]
        assert result.foreach_var is not None and result.foreach_key is not None
        gang = self._new_gang(spec.step_name, child, n)
        for index in range(n):
            frame = ForeachFrame(
                spec.step_name, result.foreach_var, n, index, result.foreach_values[index]
            )
            self._enqueue(
                child,
                (done,),
                spec.frames + (frame,),
                spec.var_keys + (result.foreach_key,),
                gang=None if gang is None else replace(gang, node_index=index),
            )

    def _arrive(self, join: str, parent: _Done) -> None:
        split = self.graph.closing_split(join)
        frames, var_keys = parent.frames, parent.var_keys
        if split is not None and self.graph[split].type == "foreach":
            expected, position = frames[-1].num_splits, frames[-1].index
            frames, var_keys = frames[:-1], var_keys[:-1]
        elif (join, parent.step_name) in self._branches:
            expected = len(self.graph[split or join].out_funcs)
            position = self._branches[(join, parent.step_name)]
        else:
            expected = len(self.graph[join].in_funcs)
            position = self.graph[join].in_funcs.index(parent.step_name)
        key = (join, tuple(f.index for f in frames))
        waiting = self._joins.setdefault(key, _JoinWait(expected))
        waiting.arrived[position] = parent
        if len(waiting.arrived) == waiting.expected:
            del self._joins[key]
            parents = tuple(waiting.arrived[i] for i in sorted(waiting.arrived))
            self._enqueue(join, parents, frames, var_keys)

    def _enqueue(
        self,
        step_name: str,
        parents: tuple[_Done, ...],
        frames: tuple[ForeachFrame, ...],
        var_keys: tuple[str, ...],
        *,
        gang: Gang | None = None,
    ) -> None:
        node = self.graph[step_name]
        policy = self.policies.get(step_name, StepPolicy())
        spec = replace(
            self.base,
            step_name=step_name,
            task_id=self._next_task_id,
            attempt=0,
            inputs=tuple(
                InputRef(p.step_name, p.task_id, p.artifacts, p.frames, p.var_keys) for p in parents
            ),
            frames=frames,
            var_keys=var_keys,
            is_join=node.is_join,
            is_end=step_name == self.graph.end,
            out_funcs=node.out_funcs,
            foreach_param=node.foreach_param,
            is_switch=node.is_switch,
            iterations=_iterations(step_name, node.is_recursive, parents),
            env={**self.base.env, **policy.env},
            gang=gang,
            **policy.task_fields(),
        )
        self._next_task_id += 1
        self._queue.append(spec)


def _iterations(step: str, recursive: bool, parents: tuple[_Done, ...]) -> tuple[int, ...]:
    """The ``_iteration_stack`` of a new task: a recursive switch counts its runs from 0, in
    a new task each time; any other step is outside every loop."""
    if not recursive:
        return ()
    parent = parents[0]
    if parent.step_name == step and parent.iterations:
        return (*parent.iterations[:-1], parent.iterations[-1] + 1)
    return (0,)
