"""Gang scheduling: the ``num_parallel`` tasks of a ``@parallel`` step start together.

A ``self.next(self.train, num_parallel=N)`` transition fans out like a foreach over the node
indices, and every task of ``train`` carries its :class:`~._spec.Gang`. The scheduler holds the
N tasks back until it can start them all at once (a gang larger than ``--max-workers`` starts
alone, and the run says so: its tasks wait for each other, so they cannot take turns), gives
each the environment of its place in the gang (``MF_PARALLEL_*`` and ``torch.distributed``'s
``MASTER_ADDR``/``MASTER_PORT``/``WORLD_SIZE``/``RANK``, with a free port of this machine; a
cluster executor places the gang and rewrites the address, see ``submit_gang``), and lets the
gang's join start only when all N succeeded.

One failed task fails the step: the others are stopped. Where ``@retry`` allows another
attempt, the whole gang runs again (its tasks rendezvous with each other, so one task cannot be
retried alone). On ``resume``, a gang is cloned only when every task of it succeeded in the
origin run; otherwise it runs again, whole.
"""

from __future__ import annotations

import socket
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..exceptions import UserError
from ..flow._parallel import LOCAL_IP, gang_env
from ._gpu import VISIBLE, GpuPool
from ._spec import Gang, TaskResult, TaskSpec

if TYPE_CHECKING:
    from ..graph import FlowGraph
    from ._console import Reporter
    from ._executor_api import Executor
    from ._origin import Origin
    from ._policy import StepPolicy


@dataclass
class GangState:
    """The tasks of one attempt of a gang, as they end."""

    size: int
    results: dict[int, tuple[TaskSpec, TaskResult]] = field(default_factory=dict)
    retry: list[TaskSpec] | None = None  # the next attempt, once one task failed
    failed: bool = False  # a task failed and no attempt is left: the run fails


def free_port(host: str = LOCAL_IP) -> int:
    """A TCP port free on ``host`` now, for the gang's rendezvous (the control side's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def with_gang_env(specs: list[TaskSpec], main_ip: str, port: int) -> list[TaskSpec]:
    """The tasks of a gang, each with the environment of its place in it."""
    out = []
    for spec in specs:
        assert spec.gang is not None
        env = gang_env(
            num_nodes=spec.gang.num_nodes,
            node_index=spec.gang.node_index,
            control_task_id=spec.gang.control_task_id,
            main_ip=main_ip,
            port=port,
        )
        out.append(replace(spec, env={**spec.env, **env}))
    return out


class GangScheduling:
    """The scheduler's handling of gangs (mixed into ``Scheduler``, whose state it uses)."""

    graph: FlowGraph
    options: Any  # RunOptions
    executor: Executor
    reporter: Reporter
    policies: dict[str, StepPolicy]
    origin: Origin | None
    gpus: GpuPool | None
    _queue: deque[TaskSpec]
    _running: dict[Future[TaskResult], Any]
    _gangs: dict[int, GangState]
    _cloned: set[int]
    _failure: str | None
    _next_task_id: int

    if TYPE_CHECKING:

        def _submit(
            self, specs: list[TaskSpec], devices: list[tuple[str, ...]] | None = None
        ) -> None: ...
        def _try_clone(self, spec: TaskSpec) -> bool: ...
        def _retry_spec(self, spec: TaskSpec, result: TaskResult) -> TaskSpec | None: ...
        def _after_success(self, spec: TaskSpec, result: TaskResult) -> None: ...
        def _record(
            self, spec: TaskSpec, started: float, result: TaskResult, *, final: bool
        ) -> None: ...

    def _new_gang(self, split: str, child: str, n: int) -> Gang | None:
        """The gang of the ``n`` tasks a ``num_parallel`` split is about to enqueue (their
        ids come next); None for a plain foreach."""
        if not self.graph[split].num_parallel:
            return None
        first = self._next_task_id
        policy = self.policies.get(child)
        placement = policy.gang_placement if policy is not None else "PACK"
        return Gang(tuple(range(first, first + n)), 0, placement)

    # -- starting ---------------------------------------------------------------------------
    def _launch_gang(self, first: TaskSpec) -> bool:
        """Start the gang of ``first`` (taken off the queue with the rest of it), or put it
        back and return False while the run has no room for all its tasks."""
        members = self._take_members(first)
        if self._clone_gang(members):
            return True
        size = len(members)
        busy = len(self._running)
        if busy and busy + size > self.options.max_workers:
            self._queue.extendleft(reversed(members))
            return False
        try:
            devices = self._gang_devices(members)
        except UserError as exc:  # the gang can never start here: the run fails, saying why
            self.reporter.line(exc.format())
            self._failure = str(exc)
            return True
        if devices is None:
            self._queue.extendleft(reversed(members))
            return False
        if size > self.options.max_workers:
            self.reporter.line(
                f"Step {first.step_name}: its gang of {size} tasks starts together although "
                f"--max-workers is {self.options.max_workers} (the tasks of a @parallel step "
                "wait for each other, so they cannot take turns)."
            )
        assert first.gang is not None
        self._gangs[first.gang.control_task_id] = GangState(size)
        specs = with_gang_env(members, LOCAL_IP, free_port())
        specs = [
            replace(spec, env={**spec.env, VISIBLE: ",".join(given)}) if given else spec
            for spec, given in zip(specs, devices, strict=True)
        ]
        self._submit(specs, devices)
        return True

    def _gang_devices(self, members: list[TaskSpec]) -> list[tuple[str, ...]] | None:
        """The GPUs of this machine each task of a local gang gets (``@resources(gpu=N)``:
        N of its own, as one rank per GPU needs), or None: not all free now."""
        first = members[0]
        if self.gpus is None or not first.gpus or first.placement is not None:
            return [() for _ in members]
        need = first.gpus * len(members)
        if need > len(self.gpus.devices):
            raise UserError(
                f"Step '{first.step_name}' is a gang of {len(members)} tasks that ask for "
                f"{first.gpus} GPU(s) each (@resources(gpu={first.gpus})), {need} in all, but "
                f"this machine has {len(self.gpus.devices)}.",
                hint="Lower num_parallel or gpu=, or run the step on a cluster (@on_ray).",
                headline="Not enough GPUs",
            )
        taken = self.gpus.take(need)
        if taken is None:
            return None
        return [taken[i * first.gpus : (i + 1) * first.gpus] for i in range(len(members))]

    def _take_members(self, first: TaskSpec) -> list[TaskSpec]:
        assert first.gang is not None
        ids = set(first.gang.task_ids)
        members = [first] + [s for s in self._queue if s.task_id in ids]
        for spec in members[1:]:
            self._queue.remove(spec)
        members.sort(key=lambda s: s.gang.node_index if s.gang else 0)
        assert len(members) == first.gang.num_nodes, "a gang is queued whole"
        return members

    def _clone_gang(self, members: list[TaskSpec]) -> bool:
        """On resume: clone the whole gang if every task of it succeeded in the origin run."""
        if self.origin is None:
            return False
        if not all(ref.task_id in self._cloned for ref in members[0].inputs):
            return False
        for spec in members:
            if self.origin.lookup(spec.step_name, tuple(f.index for f in spec.frames)) is None:
                return False
        for spec in members:
            self._try_clone(spec)
        return True

    # -- ending -----------------------------------------------------------------------------
    def _gang_finished(self, spec: TaskSpec, started: float, result: TaskResult) -> None:
        assert spec.gang is not None
        state = self._gangs[spec.gang.control_task_id]
        state.results[spec.gang.node_index] = (spec, result)
        if not result.ok and state.retry is None and not state.failed:
            self._gang_failed(spec, result, state)
        final = result.ok or (state.failed and state.retry is None)
        self._record(spec, started, result, final=final)
        if len(state.results) < state.size:
            return
        del self._gangs[spec.gang.control_task_id]
        if state.retry is not None:
            self.reporter.task_line(
                spec, f"Retrying the gang of {state.size} tasks (attempt {spec.attempt + 1})."
            )
            self._queue.extendleft(reversed(state.retry))
        elif not state.failed:
            for member, done in (state.results[i] for i in sorted(state.results)):
                self._after_success(member, done)

    def _gang_failed(self, spec: TaskSpec, result: TaskResult, state: GangState) -> None:
        """The first failure of a gang's attempt: retry the gang or fail the run."""
        retry = self._retry_spec(spec, result)
        if retry is None:
            state.failed = True
            node = spec.gang.node_index if spec.gang else 0
            self._failure = (
                f"Step {spec.step_name} (task {spec.pathspec}, node {node} of its gang) "
                f"failed: {result.exception}"
            )
            return
        state.retry = [
            replace(m, attempt=retry.attempt, fallback_error=retry.fallback_error)
            for m in self._gang_specs(spec)
        ]
        for future in list(self._gang_futures(spec)):  # stop the rest of the attempt
            self.executor.cancel(future)

    def _gang_specs(self, spec: TaskSpec) -> list[TaskSpec]:
        """The specs of the tasks of ``spec``'s gang, in node order (as submitted)."""
        assert spec.gang is not None
        state = self._gangs[spec.gang.control_task_id]
        specs = {s.gang.node_index: s for s, _ in state.results.values() if s.gang}
        for running in self._running.values():
            other: TaskSpec = running.spec
            if other.gang is not None and other.gang.task_ids == spec.gang.task_ids:
                specs[other.gang.node_index] = other
        return [specs[i] for i in sorted(specs)]

    def _gang_futures(self, spec: TaskSpec) -> Iterator[Future[TaskResult]]:
        assert spec.gang is not None
        for future, running in self._running.items():
            other = running.spec
            if other.gang is not None and other.gang.task_ids == spec.gang.task_ids:
                yield future
