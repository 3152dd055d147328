"""The Ray executor: the :class:`~ketch.runtime.Executor` protocol over a Ray cluster.

Each task is one Ray task (:func:`._ray_worker.run_task`, a streaming generator) sized by the
step's ``@resources`` and ``@on_ray``; it loads the flow from the run's code package and reads
and writes artifacts through the run's datastore, never through Ray's object store, and never
touches the run database: the scheduler, here, stays its only writer. One thread per running
task follows its generator: the task's output is echoed live and kept, its result resolves
the future. A task that Ray reports failed without a result from ketch (its worker or node
died, Ray's memory monitor killed it, it was cancelled) resolves with a failed result that
says why, and its output as received so far is stored as its logs here. The followers are a
pool of threads that live as long as the executor (a thread per task would leave the driver's
memory growing with the number of tasks: each new thread's allocations land in fresh arenas).

Ray's own retries are off (``max_retries=0``): ``@retry`` decides, and each attempt's record
says why the previous one failed.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..datastore import open_blobs
from ..runtime._executor import CANCELLED_BEFORE_START, keep, whole_lines, with_logs
from ..runtime._executor_api import OutputCallback, StartCallback
from ..runtime._gang import with_gang_env
from ..runtime._spec import TaskResult, TaskSpec
from ._ray_cluster import Cluster, failure, task_options
from ._ray_gang import GANG_PORT_SECONDS, bundles, free_port_here, gang_infeasible
from ._ray_worker import run_task

if TYPE_CHECKING:
    from ..datastore import BlobStore
    from ..settings import Settings

_FORCE_AFTER_SECONDS = 10.0  # a cancelled task still running then has its worker killed
_NODE_DEATH_WAIT_SECONDS = 3.0  # how long a crashed worker's node may take to be seen dead
_CLOSE_WAIT_SECONDS = 15.0


@dataclass
class _Remote:
    spec: TaskSpec
    future: Future[TaskResult]
    ref: Any  # the task's ObjectRefGenerator
    out: dict[str, bytearray] = field(
        default_factory=lambda: {"stdout": bytearray(), "stderr": bytearray()}
    )
    node_id: str | None = None
    pid: int | None = None
    cancelled: bool = False


@dataclass
class _Placing:
    """A gang whose placement group Ray has not reserved yet."""

    specs: list[TaskSpec]
    futures: list[Future[TaskResult]]
    options: dict[str, Any]
    group: Any = None
    cancelled: bool = False


class RayExecutor:
    """Runs tasks on the Ray cluster at ``settings.ray_address`` (else Ray's ``RAY_ADDRESS``)."""

    def __init__(
        self,
        flow_cls: Any = None,
        *,
        on_output: OutputCallback | None = None,
        on_start: StartCallback | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.on_output = on_output
        self.on_start = on_start
        self.cluster = Cluster(settings.ray_address if settings is not None else "")
        self._task = self.cluster.ray.remote(run_task)
        self._remote: dict[Future[TaskResult], _Remote] = {}
        self._follows: queue.SimpleQueue[_Remote] = queue.SimpleQueue()
        # One follower per running task: the scheduler runs at most max_workers at once.
        most = settings.max_workers if settings is not None else 16
        for n in range(most + 2):
            threading.Thread(target=self._follower, name=f"ketch-ray-{n}", daemon=True).start()
        self._lock = threading.Lock()
        self._blobs: dict[str, BlobStore] = {}
        self._placing: dict[Future[TaskResult], _Placing] = {}  # gangs not yet placed
        self._stopping = False
        self._closed = False

    def submit(self, spec: TaskSpec) -> Future[TaskResult]:
        future: Future[TaskResult] = Future()
        now = time.time()
        if self._stopping:
            future.set_result(TaskResult(ok=False, exception=CANCELLED_BEFORE_START))
            return future
        options = task_options(spec)
        problem = self.cluster.infeasible(spec, options)
        if problem is not None:
            exception = f"InfeasibleResources: {problem}"
            future.set_result(
                TaskResult(ok=False, exception=exception, started_at=now, finished_at=now)
            )
            return future
        ref = self._task.options(num_returns="streaming", max_retries=0, **options).remote(spec)
        remote = _Remote(spec, future, ref)
        with self._lock:
            self._remote[future] = remote
        self._follows.put(remote)
        return future

    def submit_gang(self, specs: list[TaskSpec]) -> list[Future[TaskResult]]:
        """Start the tasks of a gang together, through a placement group (see ``_ray_gang``);
        the group is reserved on a thread of its own, so the scheduler does not wait."""
        futures: list[Future[TaskResult]] = [Future() for _ in specs]
        options = task_options(specs[0])
        gang = specs[0].gang
        assert gang is not None
        problem = None if self._stopping else self._gang_problem(specs[0], options)
        if self._stopping or problem is not None:
            exception = CANCELLED_BEFORE_START if problem is None else problem
            now = time.time()
            for future in futures:
                future.set_result(
                    TaskResult(ok=False, exception=exception, started_at=now, finished_at=now)
                )
            return futures
        placing = _Placing(specs, futures, options)
        with self._lock:
            for future in futures:
                self._placing[future] = placing
        threading.Thread(target=self._place, args=(placing,), daemon=True).start()
        return futures

    def _gang_problem(self, spec: TaskSpec, options: dict[str, Any]) -> str | None:
        assert spec.gang is not None
        need = bundles(options, 1)[0]
        problem = gang_infeasible(
            self.cluster, spec, need, spec.gang.num_nodes, spec.gang.placement
        )
        return None if problem is None else f"InfeasibleResources: {problem}"

    def _place(self, placing: _Placing) -> None:
        """Reserve the gang's placement group, then start its tasks in it."""
        started = False
        try:
            if self._reserve(placing):
                self._start_gang(placing)
                started = True
        except Exception as exc:  # the gang fails, saying why; never leave a future hanging
            failed = TaskResult(
                ok=False, exception=f"GangPlacementFailed: {exc}", finished_at=time.time()
            )
            for future in placing.futures:
                if not future.done():
                    future.set_result(failed)
        with self._lock:
            for future in placing.futures:
                self._placing.pop(future, None)
        if not started and placing.group is not None:
            self._remove_group(placing.group)
        elif placing.cancelled:  # cancelled while its tasks were being started
            for future in placing.futures:
                self.cancel(future)

    def _reserve(self, placing: _Placing) -> bool:
        """Wait until Ray reserves the gang's placement group; False: cancelled meanwhile."""
        ray = self.cluster.ray
        gang = placing.specs[0].gang
        assert gang is not None
        group = placing.group = ray.util.placement_group(
            bundles(placing.options, gang.num_nodes), strategy=gang.placement
        )
        while not placing.cancelled:  # Ray reserves the bundles once the cluster has room
            ready, _ = ray.wait([group.ready()], timeout=1.0)
            if ready:
                return True
        for future in placing.futures:
            future.set_result(TaskResult(ok=False, exception=CANCELLED_BEFORE_START))
        return False

    def _start_gang(self, placing: _Placing) -> None:
        """Start the gang's tasks, one per bundle, told the control task's node and port."""
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        ray, group = self.cluster.ray, placing.group
        in_bundle = PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=0)
        probe = ray.remote(free_port_here).options(
            num_cpus=0, scheduling_strategy=in_bundle, max_retries=0
        )
        main_ip, port = ray.get(probe.remote(), timeout=GANG_PORT_SECONDS)
        remotes = []
        for index, spec in enumerate(with_gang_env(placing.specs, main_ip, port)):
            strategy = PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=index)
            options = {**placing.options, "scheduling_strategy": strategy}
            ref = self._task.options(num_returns="streaming", max_retries=0, **options).remote(spec)
            remotes.append(_Remote(spec, placing.futures[index], ref))
        pending = [len(remotes)]

        def release(_: Future[TaskResult]) -> None:  # the group goes with the gang's last task
            with self._lock:
                pending[0] -= 1
                last = pending[0] == 0
            if last:
                self._remove_group(group)

        for remote in remotes:
            with self._lock:
                self._remote[remote.future] = remote
            remote.future.add_done_callback(release)
            self._follows.put(remote)

    def _remove_group(self, group: Any) -> None:
        with contextlib.suppress(Exception):  # the cluster may be gone already
            self.cluster.ray.util.remove_placement_group(group)

    def cancel(self, task: Future[TaskResult]) -> None:
        """Cancel the Ray task behind ``task``: ketch kills the task's process group on the
        worker; a task that has not ended ``_FORCE_AFTER_SECONDS`` later has its worker killed."""
        with self._lock:
            placing = self._placing.get(task)
            if placing is not None:  # a gang still waiting for its placement group
                placing.cancelled = True
            remote = self._remote.get(task)
        if remote is not None and not remote.cancelled:
            remote.cancelled = True
            self._cancel(remote.ref, force=False)
            timer = threading.Timer(_FORCE_AFTER_SECONDS, self._force, args=(remote,))
            timer.daemon = True
            timer.start()

    def cancel_all(self) -> None:
        self._stopping = True
        with self._lock:
            futures = list(self._remote) + list(self._placing)
        for future in futures:
            self.cancel(future)

    def close(self) -> None:
        """Cancel every task, wait until each has ended (at most ``_CLOSE_WAIT_SECONDS``),
        and disconnect from the cluster."""
        if self._closed:
            return
        self._closed = True
        self.cancel_all()
        deadline = time.monotonic() + _CLOSE_WAIT_SECONDS
        with self._lock:
            futures = list(self._remote)
        for future in futures:
            with contextlib.suppress(Exception):
                future.exception(timeout=max(0.0, deadline - time.monotonic()))
        self.cluster.shutdown()

    # -- the follower threads ---------------------------------------------------------------
    def _follower(self) -> None:
        while True:
            remote = self._follows.get()
            try:
                self._follow(remote)
            except BaseException as exc:  # never leave a future hanging, nor lose a follower
                if not remote.future.done():
                    remote.future.set_exception(exc)

    def _follow(self, remote: _Remote) -> None:
        ray = self.cluster.ray
        result: TaskResult | None = None
        error: BaseException | None = None
        try:
            for ref in remote.ref:
                item = ray.get(ref)
                if item[0] == "start":
                    remote.pid, remote.node_id = item[1], item[2]
                    if self.on_start is not None:
                        self.on_start(remote.spec, item[1])
                elif item[0] == "output":
                    self._output(remote, item[1])
                elif item[0] == "result":
                    result = item[1]
        except Exception as exc:  # Ray's report of a task that ended without a result
            error = exc
        try:
            self._deliver(remote, result, error)
        finally:
            with self._lock:
                self._remote.pop(remote.future, None)

    def _output(self, remote: _Remote, lines: list[tuple[str, bytes]]) -> None:
        for stream, line in lines:
            keep(remote.out[stream], line + b"\n", stream)
            if self.on_output is not None:
                self.on_output(remote.spec, stream, line)

    def _deliver(
        self, remote: _Remote, result: TaskResult | None, error: BaseException | None
    ) -> None:
        node = None if remote.node_id is None else f"ray:{remote.node_id}"
        if result is not None:
            remote.future.set_result(replace(result, node=node))
            return
        if remote.cancelled:
            exception = "TaskCancelled: the task was cancelled"
        elif error is not None:
            exception = failure(self.cluster.ray, error, self._node_lost(remote, error))
        else:
            exception = "TaskDied: the Ray task ended without reporting a result"
        whole_lines(remote.out["stderr"])  # the note starts a line of its own
        remote.out["stderr"] += f"Task failed: {exception}.\n".encode()
        # A cancelled task that had started was SIGKILLed by the worker (with its group).
        killed = remote.cancelled and remote.pid is not None
        failed = TaskResult(
            ok=False,
            exception=exception,
            pid=remote.pid,
            finished_at=time.time(),
            node=node,
            exit_code=-signal.SIGKILL if killed else None,
        )
        try:
            failed = with_logs(failed, remote.out, self._store(remote.spec))
        except Exception as exc:  # the logs could not be stored (a full disk): the run fails
            remote.future.set_exception(exc)
            return
        remote.future.set_result(failed)

    def _node_lost(self, remote: _Remote, error: BaseException) -> bool:
        """Whether the node the task ran on is gone (it may take Ray a moment to notice)."""
        if remote.node_id is None or not isinstance(
            error, self.cluster.ray.exceptions.WorkerCrashedError
        ):
            return False
        deadline = time.monotonic() + _NODE_DEATH_WAIT_SECONDS
        while True:
            if not self.cluster.is_alive(remote.node_id):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.25)

    def _store(self, spec: TaskSpec) -> BlobStore:
        with self._lock:
            blobs = self._blobs.get(spec.datastore_url)
            if blobs is None:
                blobs = self._blobs[spec.datastore_url] = open_blobs(spec.datastore_url)
            return blobs

    def _cancel(self, ref: Any, *, force: bool) -> None:
        try:
            self.cluster.ray.cancel(ref, force=force)
        except Exception:  # noqa: S110 - it ended already, or Ray cannot force this one
            pass

    def _force(self, remote: _Remote) -> None:
        if not remote.future.done():
            self._cancel(remote.ref, force=True)
