"""Read-only views of past runs.

The classes are ``Metaflow``, ``Flow``, ``Run``, ``Step``, ``Task`` and ``DataArtifact``.

Objects are addressed by pathspec (``Flow/run/step/task``), as in Metaflow. Each object keeps
the project store it was read from (the one of the working directory when it was made), so its
children and properties read from the same place.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from .._tags import check_tags
from ..datastore import BlobStore, load_json_object
from ..exceptions import NotFoundError, UserError
from ..metadata import effective_status
from ..metadata._records import (
    PARAMETERS_STEP,
    RunLinkRecord,
    RunRecord,
    TaskRecord,
    TaskSnapshot,
)
from ._base import _Base, _in_namespace, _load_run, _run_id, _split, _time
from ._code import KetchCode
from ._context import Backend, backend, get_namespace
from ._metadata import is_control_task
from ._metrics import Metrics, metrics_of
from ._task import MetaflowData, Task


class Metaflow:
    """Entry point to every flow in the project's store."""

    @property
    def flows(self) -> list[Flow]:
        return list(self)

    def __iter__(self) -> Iterator[Flow]:
        source = backend()
        for record in source.store.list_flows():
            yield Flow._make(record.flow_name, source)

    def __getitem__(self, name: str) -> Flow:
        return Flow(name)

    def __repr__(self) -> str:
        return "Metaflow()"


class Flow(_Base):
    """A flow and its runs, newest first.

    Examples
    --------
    >>> run = Flow("TrainFlow").latest_successful_run  # doctest: +SKIP
    """

    def __init__(self, pathspec: str, _namespace_check: bool = True) -> None:
        self.pathspec = _split(pathspec, 1, "flow")[0]
        self._backend = backend()
        names = {f.flow_name for f in self._backend.store.list_flows()}
        if self.pathspec not in names:
            raise NotFoundError(
                f"Flow '{self.pathspec}' does not exist in this project's store.",
                hint="Run it first, or check the name (flow names are class names).",
            )

    @classmethod
    def _make(cls, name: str, source: Backend) -> Flow:
        flow = cls.__new__(cls)
        flow.pathspec = name
        flow._backend = source
        return flow

    def _records(self, tags: tuple[str, ...] = ()) -> list[RunRecord]:
        ns = get_namespace()
        return [
            r
            for r in self._backend.store.list_runs(self.pathspec, tags=tags)
            if _in_namespace(r, ns)
        ]

    def _listed(self, records: list[RunRecord]) -> list[Run]:
        listing = _Listing(self._backend, [r.run_id for r in records])
        return [Run._from_record(r, self._backend, listing) for r in records]

    def __iter__(self) -> Iterator[Run]:
        return iter(self._listed(self._records()))

    def runs(self, *tags: str) -> list[Run]:
        """Runs carrying every one of ``tags``, newest first."""
        return self._listed(self._records(tags))

    def __getitem__(self, run_id: str) -> Run:
        return Run._load(self._backend, self.pathspec, run_id, True)

    def __contains__(self, run_id: object) -> bool:
        try:
            self[str(run_id)]
        except NotFoundError:
            return False
        return True

    @property
    def latest_run(self) -> Run | None:
        records = self._records()
        return Run._from_record(records[0], self._backend) if records else None

    @property
    def latest_successful_run(self) -> Run | None:
        for run in self:
            if run.successful:
                return run
        return None

    @property
    def parent(self) -> None:
        return None

    @property
    def tags(self) -> frozenset[str]:
        """A flow has no tags (its runs do), as in Metaflow."""
        return frozenset()

    user_tags = tags
    system_tags = tags


class Run(_Base):
    """One run of a flow: its steps, status, tags and code."""

    _listing: _Listing | None = None
    _graph: dict[str, Any] | None = None
    _graph_read = False

    def __init__(self, pathspec: str, _namespace_check: bool = True) -> None:
        flow, run_id = _split(pathspec, 2, "run")
        self._backend = backend()
        self._record = _load_run(self._backend, flow, _run_id(run_id, flow), _namespace_check)
        self.pathspec = f"{flow}/{run_id}"

    @classmethod
    def _load(cls, source: Backend, flow: str, run_id: str, check_namespace: bool) -> Run:
        record = _load_run(source, flow, _run_id(run_id, flow), check_namespace)
        return cls._from_record(record, source)

    @classmethod
    def _from_record(
        cls, record: RunRecord, source: Backend, listing: _Listing | None = None
    ) -> Run:
        run = cls.__new__(cls)
        run._record = record
        run._backend = source
        run._listing = listing
        run.pathspec = f"{record.flow_name}/{record.run_id}"
        return run

    @property
    def _blobs(self) -> BlobStore:
        """Where this run's bytes are (see `Backend.blobs_of`)."""
        return self._backend.blobs_of(self._record)

    def _refresh(self) -> RunRecord:
        record = self._backend.store.get_run(self._record.run_id)
        if record is not None:
            self._record = record
        return self._record

    def __iter__(self) -> Iterator[Step]:
        steps = self._backend.store.list_steps(self._record.run_id)
        for step in reversed(steps):
            if step.step_name != PARAMETERS_STEP:
                yield Step._make(self, step.step_name)

    def steps(self, *tags: str) -> list[Step]:
        return list(self) if all(t in self.tags for t in tags) else []

    def __getitem__(self, step_name: str) -> Step:
        # A step exists once it has a task: one query that the Step then reuses.
        records = self._backend.store.list_tasks(self._record.run_id, step_name)
        if not records or step_name == PARAMETERS_STEP:
            raise NotFoundError(f"Step '{self.pathspec}/{step_name}' does not exist.")
        return Step._make(self, step_name, records)

    def __contains__(self, step_name: object) -> bool:
        try:
            self[str(step_name)]
        except NotFoundError:
            return False
        return True

    @property
    def end_task(self) -> Task | None:
        snapshot = None if self._listing is None else self._listing.end_task(self._record.run_id)
        if snapshot is not None:
            return Task._make(self, snapshot.task, snapshot)
        try:
            return self["end"].task
        except NotFoundError:
            return None

    @property
    def data(self) -> MetaflowData | None:
        task = self.end_task
        return task.data if task is not None else None

    @property
    def successful(self) -> bool:
        task = self.end_task
        return task is not None and task.successful

    @property
    def finished(self) -> bool:
        task = self.end_task
        return task is not None and task.finished

    @property
    def finished_at(self) -> datetime | None:
        task = self.end_task
        return task.finished_at if task is not None else None

    @property
    def created_at(self) -> datetime:
        return _time(self._record.created_at)  # type: ignore[return-value]

    @property
    def status(self) -> str:
        """``running``, ``completed`` or ``failed`` (also when its scheduler died)."""
        return effective_status(self._refresh())

    @property
    def user_tags(self) -> frozenset[str]:
        return self._refresh().tags

    @property
    def system_tags(self) -> frozenset[str]:
        return self._record.system_tags

    @property
    def tags(self) -> frozenset[str]:
        return self.user_tags | self.system_tags

    @property
    def origin_pathspec(self) -> str | None:
        """``Flow/run_id`` of the run this one was resumed from; None for a run not resumed.

        (Metaflow returns ``"Flow/None"`` for a run that was not resumed.)
        """
        origin = self._record.origin_run_id
        return None if origin is None else f"{self._record.flow_name}/{origin}"

    @property
    def metrics(self) -> Metrics:
        """What the run's tasks logged with ``log_metric`` (each task's latest attempt), task
        by task in the order logged; each `Metric` names its task in ``pathspec``."""
        records = self._backend.store.list_metrics(self._record.run_id)
        return metrics_of(self.pathspec, records)

    @property
    def trackers(self) -> dict[str, RunLinkRecord]:
        """Where experiment trackers keep this run (docs/trackers.md), by tracker name: each
        with ``external_id`` (an MLflow run id, a Comet experiment key) and ``url`` (empty when
        the tracker has no page for it).

        >>> Run("TrainFlow/12").trackers["mlflow"].external_id  # doctest: +SKIP
        'e3b0c44298fc4c1...'
        """
        links = self._backend.store.list_run_links(self._record.run_id)
        return {link.tracker: link for link in links}

    @property
    def code(self) -> KetchCode | None:
        key = self._refresh().code_key
        return None if key is None else KetchCode(key, self._record.flow_name, self._blobs)

    def _graph_info(self) -> dict[str, Any] | None:
        """The graph stored with the run (read once); None when it has none or it is damaged."""
        if not self._graph_read:
            key = self._record.graph_key or self._refresh().graph_key
            found = None if key is None else load_json_object(self._blobs, key, "graph")
            self._graph = None if found is None else found[0]
            self._graph_read = True
        return self._graph

    def _successor_steps(self, step_name: str) -> list[str] | None:
        """The steps ``step_name`` leads to in the run's graph; None when the graph is unknown."""
        node = ((self._graph_info() or {}).get("steps") or {}).get(step_name)
        return None if node is None else [str(name) for name in node.get("next", [])]

    @property
    def parent(self) -> Flow:
        return Flow._make(self._record.flow_name, self._backend)

    def is_in_namespace(self) -> bool:
        return _in_namespace(self._record, get_namespace())

    def add_tag(self, tag: str | list[str] | tuple[str, ...]) -> None:
        # A list is accepted too, as Metaflow still accepts it (deprecated there).
        self.add_tags(list(tag) if isinstance(tag, (list, tuple)) else [tag])

    def add_tags(self, tags: list[str] | tuple[str, ...]) -> None:
        added, existing = check_tags(tags), self.user_tags
        check_tags(existing | set(added), existing=existing)
        self._backend.tag_store().add_tags(self._record.run_id, added)
        self._refresh()

    def remove_tag(self, tag: str | list[str] | tuple[str, ...]) -> None:
        self.remove_tags(list(tag) if isinstance(tag, (list, tuple)) else [tag])

    def remove_tags(self, tags: list[str] | tuple[str, ...]) -> None:
        tags = check_tags(tags)
        system = [t for t in tags if t in self.system_tags]
        if system:
            raise UserError(
                f"System tags cannot be removed: {', '.join(system)}.",
                hint="Only tags added with --tag or add_tag() can be removed.",
            )
        self._backend.tag_store().remove_tags(self._record.run_id, tags)
        self._refresh()

    def replace_tag(
        self, old: str | list[str] | tuple[str, ...], new: str | list[str] | tuple[str, ...]
    ) -> None:
        self.replace_tags(
            list(old) if isinstance(old, (list, tuple)) else [old],
            list(new) if isinstance(new, (list, tuple)) else [new],
        )

    def replace_tags(self, remove: list[str], add: list[str]) -> None:
        if not remove and not add:
            raise UserError(
                "replace_tags needs a tag to remove or a tag to add.",
                hint="Pass at least one tag.",
            )
        remove, add, existing = check_tags(remove), check_tags(add), self.user_tags
        check_tags((existing - set(remove)) | set(add), existing=existing)
        store = self._backend.tag_store()
        with store.batch():
            store.remove_tags(self._record.run_id, remove)
            store.add_tags(self._record.run_id, add)
        self._refresh()


class Step(_Base):
    """One step of a run; iterating it yields its tasks in foreach order."""

    _run: Run
    _records: list[TaskRecord] | None

    def __init__(self, pathspec: str, _namespace_check: bool = True) -> None:
        flow, run_id, step = _split(pathspec, 3, "step")
        run = Run(f"{flow}/{run_id}", _namespace_check)
        found = run[step]
        self.__dict__.update(found.__dict__)

    @classmethod
    def _make(cls, run: Run, step_name: str, records: list[TaskRecord] | None = None) -> Step:
        step = cls.__new__(cls)
        step._run = run
        step.pathspec = f"{run.pathspec}/{step_name}"
        step._records = records
        return step

    @property
    def _step_name(self) -> str:
        return self.pathspec.rsplit("/", 1)[-1]

    def _task_records(self) -> list[TaskRecord]:
        records = self._records
        self._records = None  # fresh on the next call: a running step gains tasks
        if records is None:
            records = self._run._backend.store.list_tasks(self._run._record.run_id, self._step_name)
        return records

    def __iter__(self) -> Iterator[Task]:
        for record in self._task_records():
            yield Task._make(self._run, record)

    def tasks(self, *tags: str) -> list[Task]:
        return list(self) if all(t in self._run.tags for t in tags) else []

    @property
    def task(self) -> Task | None:
        records = self._task_records()
        return Task._make(self._run, records[0]) if records else None

    def control_tasks(self, *tags: str) -> Iterator[Task]:
        """The control tasks of a ``@parallel`` step (node 0 of each gang); none otherwise."""
        for task in self.tasks(*tags):
            if is_control_task(task._record):
                yield task

    @property
    def control_task(self) -> Task | None:
        """The control task of a ``@parallel`` step; None for other steps."""
        return next(self.control_tasks(), None)

    def __getitem__(self, task_id: str) -> Task:
        return Task._load(self._run, self._step_name, task_id)

    @property
    def environment_info(self) -> dict[str, Any] | None:
        """The environment of the step's tasks (see ``Task.environment_info``); None when the
        step has no task."""
        task = self.task
        return None if task is None else task.environment_info

    @property
    def finished_at(self) -> datetime | None:
        times = [r.finished_at for r in self._task_records()]
        return None if not times or None in times else _time(max(t for t in times if t))

    @property
    def created_at(self) -> datetime | None:
        records = self._task_records()
        return _time(min(r.created_at for r in records)) if records else None

    @property
    def tags(self) -> frozenset[str]:
        return self._run.tags

    @property
    def user_tags(self) -> frozenset[str]:
        return self._run.user_tags

    @property
    def system_tags(self) -> frozenset[str]:
        return self._run.system_tags

    @property
    def origin_pathspec(self) -> str | None:
        """``Flow/run_id/step`` in the run this one was resumed from; None if not resumed."""
        origin = self._run.origin_pathspec
        return None if origin is None else f"{origin}/{self._step_name}"

    @property
    def parent_steps(self) -> list[Step]:
        """The steps that lead to this one (none for ``start``), among those that ran."""
        steps = (self._run._graph_info() or {}).get("steps") or {}
        names = [name for name, node in steps.items() if self._step_name in node.get("next", [])]
        return self._existing(names)

    @property
    def child_steps(self) -> list[Step]:
        """The steps this one leads to (none for ``end``), among those that ran."""
        return self._existing(self._run._successor_steps(self._step_name) or [])

    def _existing(self, names: list[str]) -> list[Step]:
        return [self._run[name] for name in names if name in self._run]

    @property
    def parent(self) -> Run:
        return self._run


class _Listing:
    """The runs of one listing (``Flow.runs()``, iterating a ``Flow``). The first time one of
    them needs its end task, the end tasks of all of them are read at once."""

    def __init__(self, source: Backend, run_ids: list[int]) -> None:
        self._source = source
        self._run_ids = run_ids
        self._end: dict[int, list[TaskSnapshot]] | None = None

    def end_task(self, run_id: int) -> TaskSnapshot | None:
        if self._end is None:
            self._end = self._source.store.snapshot_step(self._run_ids, "end")
        found = self._end.pop(run_id, None)  # used once: later reads see later changes
        return found[0] if found else None
