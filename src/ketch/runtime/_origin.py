"""What ``resume`` may reuse: the successful tasks of the origin run, by step and foreach index."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..datastore import BlobStore, load_artifact
from ..exceptions import DataIntegrityError, NotFoundError, UserError
from ..graph import FlowGraph
from ..metadata import MetadataStore
from ..metadata._records import (
    PARAMETERS_STEP,
    ArtifactRecord,
    AttemptRecord,
    RunRecord,
    TaskRecord,
)

# Step name, foreach indices (outermost first), and which run of the step this is at those
# indices: 0, except in the loop of a recursive switch, where it is the iteration.
Position = tuple[str, tuple[int, ...], int]


@dataclass(frozen=True)
class OriginTask:
    record: TaskRecord
    artifacts: dict[str, ArtifactRecord]


class Origin:
    """Index of an earlier run's successful tasks, for cloning them into a resumed run.

    Everything is read from ``store`` here, in a few queries; the store is not kept. A task
    whose artifact blobs are not all in the datastore any more is not reused: it runs again
    (and so does everything after it), and `warnings` says so. Resume then gives the run that
    a fresh run would, where cloning would record a successful run with unreadable data.
    """

    def __init__(
        self, store: MetadataStore, blobs: BlobStore, run_id: int, rerun: frozenset[str]
    ) -> None:
        self.blobs = blobs
        self.run_id = run_id
        self.rerun = rerun
        artifacts: dict[int, dict[str, ArtifactRecord]] = defaultdict(dict)
        for task_id, artifact in store.iter_run_artifacts(run_id):
            artifacts[task_id][artifact.name] = artifact
        self._attempts = {(a.task_id, a.attempt): a for a in store.list_attempts(run_id)}
        self._tasks: dict[Position, OriginTask] = {}
        # foreach step (name, indices) -> element texts
        self._splits: dict[tuple[str, tuple[int, ...]], list[str]] = {}
        self._chosen: dict[int, str] = {}  # task id -> the step of a task it was an input of
        runs: dict[tuple[str, tuple[int, ...]], int] = defaultdict(int)
        for task in sorted(store.list_tasks(run_id), key=lambda t: t.task_id):
            for parent in task.input_task_ids:
                self._chosen.setdefault(parent, task.step_name)
            indices = tuple(f.index for f in task.foreach_stack)
            # Iterations of a loop run one after the other, so task ids give their order.
            iteration = runs[(task.step_name, indices)]
            runs[(task.step_name, indices)] += 1
            if task.foreach_stack:
                frame = task.foreach_stack[-1]
                values = self._splits.setdefault(
                    (frame.step, indices[:-1]), [""] * frame.num_splits
                )
                if frame.index < len(values):
                    values[frame.index] = frame.value
            if task.status == "completed":
                self._tasks[(task.step_name, indices, iteration)] = OriginTask(
                    task, artifacts[task.task_id]
                )
        # The _parameters pseudo-task (task 0): parameters and constants, reused as they are.
        self.parameter_artifacts = dict(artifacts[0])
        self.parameters = store.get_parameters(run_id)
        self.warnings = self._drop_tasks_with_missing_blobs(store.get_run(run_id))

    def _drop_tasks_with_missing_blobs(self, run: RunRecord | None) -> list[str]:
        """Check, in one batched look, that the blobs of everything to be cloned exist; the
        tasks that miss some are run again. Missing parameters cannot be made again: raise."""
        where = f"{run.flow_name if run else '?'}/{self.run_id}"
        cloned = {p: t for p, t in self._tasks.items() if p[0] not in self.rerun}
        keys = {a.key for a in self.parameter_artifacts.values()}
        keys.update(a.key for task in cloned.values() for a in task.artifacts.values())
        missing = self.blobs.missing(keys)
        for name, artifact in sorted(self.parameter_artifacts.items()):
            if artifact.key in missing:
                raise DataIntegrityError(
                    f"Run {where} cannot be resumed: "
                    + _lost(f"{where}/_parameters/0", [name], self.parameter_artifacts),
                    hint="Start a new run instead (python flow.py run).",
                )
        warnings = []
        for position, task in sorted(cloned.items(), key=lambda item: item[1].record.task_id):
            lost = sorted(n for n, a in task.artifacts.items() if a.key in missing)
            if lost:
                del self._tasks[position]
                pathspec = f"{where}/{task.record.step_name}/{task.record.task_id}"
                warnings.append(
                    f"Warning: {pathspec} runs again (and what follows it) instead of being "
                    "cloned: " + _lost(pathspec, lost, task.artifacts)
                )
        return warnings

    def lookup(
        self, step: str, indices: tuple[int, ...], iterations: tuple[int, ...] = ()
    ) -> OriginTask | None:
        """The origin's task at this position (``iterations``: the ``_iteration_stack``)."""
        if step in self.rerun:
            return None
        return self._tasks.get((step, indices, iterations[-1] if iterations else 0))

    def chosen(self, task: OriginTask) -> str | None:
        """The step a switch task went on to in the origin run (None: none was started)."""
        return self._chosen.get(task.record.task_id)

    def attempt(self, task: OriginTask) -> AttemptRecord | None:
        return self._attempts.get((task.record.task_id, task.record.attempt))

    def foreach_split(
        self, task: OriginTask, var: str, indices: tuple[int, ...]
    ) -> tuple[int, tuple[str, ...], str]:
        """(num_splits, element texts, blob key of the iterable) of a cloned foreach step."""
        key = task.artifacts[var].key
        values = self._splits.get((task.record.step_name, indices))
        if values is None:  # the origin never started the children: count them again
            items = list(load_artifact(self.blobs, key))
            values = [str(v)[:30] for v in items]
        return len(values), tuple(values), key


def choose_origin(
    store: MetadataStore, graph: FlowGraph, origin_run_id: str | None, step: str | None
) -> tuple[int, frozenset[str]]:
    """The run to resume and the steps to run again, or a clear error."""
    flow = graph.flow_name
    if origin_run_id is not None:
        try:
            run = store.get_run(int(origin_run_id))
        except ValueError:
            run = None
        if run is None or run.flow_name != flow:
            raise NotFoundError(
                f"Run '{flow}/{origin_run_id}' does not exist, so it cannot be resumed.",
                hint=f"Pick a run of {flow} with 'ketch runs --flow {flow}'.",
            )
    else:
        runs = [r for r in store.list_runs(flow) if r.origin_run_id is None]
        if not runs:
            raise NotFoundError(
                f"{flow} has no run to resume.", hint="Start one with 'python flow.py run'."
            )
        run = runs[0]
    if step is not None:
        if step not in graph:
            raise UserError(
                f"Step '{step}' does not exist in {flow}.",
                hint=f"Resume from one of: {', '.join(n.name for n in graph)}.",
            )
        return run.run_id, frozenset(graph.downstream(step))
    origin = [t.step_name for t in store.list_tasks(run.run_id) if t.status != "completed"]
    gone = sorted({s for s in origin if s not in graph and s != PARAMETERS_STEP})
    if gone:
        raise UserError(
            f"Step '{gone[0]}' failed in run {flow}/{run.run_id} but no longer exists in the flow.",
            hint="Name the step to resume from: python flow.py resume <step>.",
        )
    return run.run_id, frozenset()


def _lost(pathspec: str, names: list[str], artifacts: dict[str, ArtifactRecord]) -> str:
    more = f" (and {len(names) - 1} more)" if len(names) > 1 else ""
    return (
        f"the blob {artifacts[names[0]].key} of its artifact {pathspec}/{names[0]}{more} is "
        "missing from the datastore."
    )
