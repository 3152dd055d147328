"""The scheduler: holds a run's state, decides which tasks are ready, records what happens.

It is the only writer of its run's metadata. Ready tasks go to the executor, at most
``max_workers`` at once; the loop wakes on task completion (no polling) and writes the records
of everything that happened in one turn in one transaction.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace

from ..datastore import BlobStore
from ..exceptions import TooManySplitsError
from ..graph import FlowGraph
from ..metadata import MetadataStore
from ..metadata._records import ArtifactRecord, AttemptRecord, ForeachFrame, TaskRecord
from ._console import Reporter
from ._spec import InputRef, TaskResult, TaskSpec

HEARTBEAT_SECONDS = 5.0


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


@dataclass
class _JoinWait:
    expected: int
    arrived: dict[int, _Done] = field(default_factory=dict)  # position -> parent


class Scheduler:
    """Runs one run of a flow to completion (or to its first failure)."""

    def __init__(
        self,
        *,
        graph: FlowGraph,
        base_spec: TaskSpec,
        store: MetadataStore,
        blobs: BlobStore,
        submit: Callable[[TaskSpec], Future[TaskResult]],
        kill_all: Callable[[], None],
        reporter: Reporter,
        options: RunOptions,
    ) -> None:
        self.graph = graph
        self.base = base_spec
        self.store = store
        self.blobs = blobs
        self.submit = submit
        self.kill_all = kill_all
        self.reporter = reporter
        self.options = options
        self.run_id = base_spec.run_id
        self._next_task_id = 1
        self._queue: deque[TaskSpec] = deque()
        self._running: dict[Future[TaskResult], tuple[TaskSpec, float]] = {}
        self._joins: dict[tuple[str, tuple[int, ...]], _JoinWait] = {}
        self._failure: str | None = None
        self._last_beat = 0.0

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> str | None:
        """Run until the end step finishes or a task fails; returns the failure, if any."""
        self._enqueue(self.graph.start, (), (), ())
        try:
            while (self._queue or self._running) and self._failure is None:
                with self.store.batch():
                    self._launch_ready()
                done, _ = wait(list(self._running), timeout=HEARTBEAT_SECONDS,
                               return_when=FIRST_COMPLETED)  # fmt: skip
                with self.store.batch():
                    for future in done:
                        self._finished(future)
                    self._heartbeat()
        except KeyboardInterrupt:
            self._failure = "The run was interrupted (Ctrl-C)."
            self._abort()
            raise
        if self._failure is not None:
            self._abort()
        return self._failure

    def _heartbeat(self) -> None:
        now = time.time()
        if now - self._last_beat >= HEARTBEAT_SECONDS:
            self.store.heartbeat(self.run_id, now)
            self._last_beat = now

    def _launch_ready(self) -> None:
        while self._queue and len(self._running) < self.options.max_workers:
            spec = self._queue.popleft()
            started = time.time()
            self.store.upsert_task(
                TaskRecord(
                    run_id=self.run_id,
                    step_name=spec.step_name,
                    task_id=spec.task_id,
                    status="running",
                    created_at=started,
                    attempt=spec.attempt,
                    foreach_stack=spec.frames,
                    input_task_ids=tuple(ref.task_id for ref in spec.inputs),
                )
            )
            self.store.upsert_attempt(
                AttemptRecord(self.run_id, spec.task_id, spec.attempt, "running", started)
            )
            self._running[self.submit(spec)] = (spec, started)

    def _abort(self) -> None:
        """Fail fast: stop every running task and record it as failed."""
        if self._running:
            self.reporter.line(f"Terminating {len(self._running)} active tasks...")
        self.kill_all()
        with self.store.batch():
            for future, (spec, started) in list(self._running.items()):
                result = future.result(timeout=30)
                self._record(spec, started, replace(result, ok=False))
        self._running.clear()

    # -- results ----------------------------------------------------------------------------
    def _finished(self, future: Future[TaskResult]) -> None:
        spec, started = self._running.pop(future)
        result = future.result()
        self._record(spec, started, result)
        if not result.ok:
            self._failure = f"Step {spec.step_name} (task {spec.pathspec}) failed: {result.exception}"
            return
        done = _Done(spec.step_name, spec.task_id, result.artifacts, spec.frames, spec.var_keys)
        try:
            self._successors(spec, result, done)
        except TooManySplitsError as exc:
            self.reporter.line(exc.format())
            self._failure = str(exc)

    def _record(self, spec: TaskSpec, started: float, result: TaskResult) -> None:
        status = "completed" if result.ok else "failed"
        finished = result.finished_at or time.time()
        self.store.upsert_attempt(
            AttemptRecord(
                run_id=self.run_id,
                task_id=spec.task_id,
                attempt=spec.attempt,
                status=status,
                started_at=started,
                finished_at=finished,
                exit_code=result.exit_code,
                exception=result.exception,
                traceback=result.traceback,
                stdout_key=self.blobs.put_bytes(result.stdout),
                stderr_key=self.blobs.put_bytes(result.stderr),
                pid=result.pid,
            )
        )
        if result.ok:
            self.store.add_artifacts(
                self.run_id, spec.task_id, spec.attempt, list(result.artifacts.values())
            )
        self.store.upsert_task(
            TaskRecord(
                run_id=self.run_id,
                step_name=spec.step_name,
                task_id=spec.task_id,
                status=status,
                created_at=started,
                finished_at=finished,
                attempt=spec.attempt,
                foreach_stack=spec.frames,
                input_task_ids=tuple(ref.task_id for ref in spec.inputs),
            )
        )
        self.reporter.task_finished(spec, result.ok, "" if result.ok else result.exception or "")

    def _successors(self, spec: TaskSpec, result: TaskResult, done: _Done) -> None:
        node = self.graph[spec.step_name]
        if node.type == "end" or spec.step_name == self.graph.end:
            return
        if node.type == "foreach":
            self._fan_out(spec, result, done)
            return
        for child in node.out_funcs:
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
        for index in range(n):
            frame = ForeachFrame(spec.step_name, result.foreach_var, n, index,
                                 result.foreach_values[index])  # fmt: skip
            self._enqueue(
                child, (done,), spec.frames + (frame,), spec.var_keys + (result.foreach_key,)
            )

    def _arrive(self, join: str, parent: _Done) -> None:
        split = self.graph.closing_split(join)
        frames, var_keys = parent.frames, parent.var_keys
        if split is not None and self.graph[split].type == "foreach":
            expected, position = frames[-1].num_splits, frames[-1].index
            frames, var_keys = frames[:-1], var_keys[:-1]
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
    ) -> None:
        node = self.graph[step_name]
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
        )
        self._next_task_id += 1
        self._queue.append(spec)
