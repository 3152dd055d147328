"""Read-only views of past runs.

The classes are ``Metaflow``, ``Flow``, ``Run``, ``Step``, ``Task`` and ``DataArtifact``.

Objects are addressed by pathspec (``Flow/run/step/task``), as in Metaflow. Each object keeps
the project store it was read from (the one of the working directory when it was made), so its
children and properties read from the same place.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from ..datastore import load_artifact
from ..exceptions import DataIntegrityError, NamespaceMismatchError, NotFoundError, UserError
from ..metadata import effective_status
from ..metadata._records import (
    ArtifactRecord,
    AttemptRecord,
    RunRecord,
    TaskRecord,
    TaskSnapshot,
)
from ._code import KetchCode
from ._context import Backend, backend, get_namespace

PARAMETERS_STEP = "_parameters"
_CURRENT = object()  # "the namespace in effect now"


def _time(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


def _split(pathspec: str, parts: int, kind: str) -> list[str]:
    items = pathspec.strip("/").split("/")
    if len(items) != parts or not all(items):
        example = "/".join(["FlowName", "run_id", "step", "task_id"][:parts])
        raise UserError(
            f"'{pathspec}' is not a valid {kind} pathspec.", hint=f"Use the form {example}."
        )
    return items


def _run_id(text: str, flow: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise NotFoundError(f"Run '{flow}/{text}' does not exist: run ids are integers.") from None


def _load_run(source: Backend, flow: str, run_id: int, check_namespace: bool) -> RunRecord:
    record = source.store.get_run(run_id)
    if record is None or record.flow_name != flow:
        raise NotFoundError(
            f"Run '{flow}/{run_id}' does not exist.",
            hint=f"List the runs of the flow with Flow('{flow}').runs() or 'ketch runs'.",
        )
    if check_namespace and not _in_namespace(record):
        raise NamespaceMismatchError(
            f"Run '{flow}/{run_id}' is not in the current namespace ({get_namespace()}).",
            hint="Switch with namespace(None) to see every run, or namespace('user:<name>').",
        )
    return record


def _in_namespace(record: RunRecord, ns: str | None | object = _CURRENT) -> bool:
    if ns is _CURRENT:
        ns = get_namespace()
    return ns is None or ns in record.tags or ns in record.system_tags


class _Base:
    pathspec: str

    @property
    def id(self) -> str:
        return self.pathspec.rsplit("/", 1)[-1]

    @property
    def path_components(self) -> list[str]:
        return self.pathspec.split("/")

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self.pathspec}')"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Base)
            and type(other) is type(self)
            and other.pathspec == self.pathspec
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.pathspec))


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


class Run(_Base):
    """One run of a flow: its steps, status, tags and code."""

    _listing: _Listing | None = None

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
        origin = self._record.origin_run_id
        return None if origin is None else f"{self._record.flow_name}/{origin}"

    @property
    def code(self) -> KetchCode | None:
        key = self._refresh().code_key
        return None if key is None else KetchCode(key, self._record.flow_name)

    @property
    def parent(self) -> Flow:
        return Flow._make(self._record.flow_name, self._backend)

    def is_in_namespace(self) -> bool:
        return _in_namespace(self._record)

    def add_tag(self, tag: str) -> None:
        self.add_tags([tag])

    def add_tags(self, tags: list[str] | tuple[str, ...]) -> None:
        self._backend.store.add_tags(self._record.run_id, tags)
        self._refresh()

    def remove_tag(self, tag: str) -> None:
        self.remove_tags([tag])

    def remove_tags(self, tags: list[str] | tuple[str, ...]) -> None:
        system = [t for t in tags if t in self.system_tags]
        if system:
            raise UserError(
                f"System tags cannot be removed: {', '.join(system)}.",
                hint="Only tags added with --tag or add_tag() can be removed.",
            )
        self._backend.store.remove_tags(self._record.run_id, tags)
        self._refresh()

    def replace_tag(self, old: str, new: str) -> None:
        self.replace_tags([old], [new])

    def replace_tags(self, remove: list[str], add: list[str]) -> None:
        store = self._backend.store
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

    def __getitem__(self, task_id: str) -> Task:
        return Task._load(self._run, self._step_name, task_id)

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
    def parent(self) -> Run:
        return self._run


class Task(_Base):
    """One task: its artifacts, logs, status and foreach position."""

    _snapshot: TaskSnapshot | None = None

    def __init__(self, pathspec: str, attempt: int | None = None, _namespace_check: bool = True):
        flow, run_id, step, task_id = _split(pathspec, 4, "task")
        run = Run(f"{flow}/{run_id}", _namespace_check)
        found = Task._load(run, step, task_id)
        self._setup(run, found._record, attempt)

    @classmethod
    def _load(cls, run: Run, step: str, task_id: str) -> Task:
        try:
            record = run._backend.store.get_task(run._record.run_id, int(task_id))
        except ValueError:
            record = None
        if record is None or record.step_name != step:
            raise NotFoundError(f"Task '{run.pathspec}/{step}/{task_id}' does not exist.")
        return cls._make(run, record)

    @classmethod
    def _make(cls, run: Run, record: TaskRecord, snapshot: TaskSnapshot | None = None) -> Task:
        task = cls.__new__(cls)
        task._setup(run, record, None)
        task._snapshot = snapshot
        return task

    def _setup(self, run: Run, record: TaskRecord, attempt: int | None) -> None:
        self._run = run
        self._record = record
        self._attempt = record.attempt if attempt is None else attempt
        self.pathspec = f"{run.pathspec}/{record.step_name}/{record.task_id}"

    def _finished_snapshot(self) -> TaskSnapshot | None:
        """The batch-read state of this task, if it was read finished (it cannot change then)."""
        snap = self._snapshot
        if snap is None or snap.attempt is None or snap.attempt.status == "running":
            return None
        return snap

    def _attempt_record(self) -> AttemptRecord | None:
        snap = self._finished_snapshot()
        if snap is not None:
            return snap.attempt
        store = self._run._backend.store
        for attempt in store.list_attempts(self._record.run_id, self._record.task_id):
            if attempt.attempt == self._attempt:
                return attempt
        return None

    def _artifact_records(self) -> list[ArtifactRecord]:
        snap = self._finished_snapshot()
        if snap is not None:
            return list(snap.artifacts)
        return self._run._backend.store.list_artifacts(
            self._record.run_id, self._record.task_id, self._attempt
        )

    @property
    def data(self) -> MetaflowData:
        return MetaflowData(self)

    @property
    def artifacts(self) -> Artifacts:
        return Artifacts(
            [
                DataArtifact._make(self, a)
                for a in self._artifact_records()
                if not a.name.startswith("_")
            ]
        )

    def __iter__(self) -> Iterator[DataArtifact]:
        return iter(self.artifacts)

    def __getitem__(self, name: str) -> DataArtifact:
        for record in self._artifact_records():
            if record.name == name:
                return DataArtifact._make(self, record)
        raise NotFoundError(f"Artifact '{name}' does not exist in task '{self.pathspec}'.")

    def __contains__(self, name: object) -> bool:
        return any(r.name == name for r in self._artifact_records())

    @property
    def successful(self) -> bool:
        """True when the step ran without an exception (one handled by @catch does not count,
        as in Metaflow)."""
        attempt = self._attempt_record()
        return attempt is not None and attempt.status == "completed" and not attempt.exception

    @property
    def finished(self) -> bool:
        """True once the task completed, also when @catch handled its exception (a failed task
        is not finished, as in Metaflow)."""
        attempt = self._attempt_record()
        return attempt is not None and attempt.status == "completed"

    @property
    def finished_at(self) -> datetime | None:
        attempt = self._attempt_record()
        return None if attempt is None else _time(attempt.finished_at)

    @property
    def created_at(self) -> datetime:
        return _time(self._record.created_at)  # type: ignore[return-value]

    @property
    def exception(self) -> str | None:
        """``"Type: message"`` of the failure of a failed task (None when @catch handled it)."""
        attempt = self._attempt_record()
        if attempt is None or attempt.status == "completed":
            return None
        return attempt.exception

    @property
    def index(self) -> int | None:
        frames = self._record.foreach_stack
        return frames[-1].index if frames else None

    @property
    def current_attempt(self) -> int:
        return self._attempt

    def _log(self, stream: str) -> str:
        attempt = self._attempt_record()
        key = None if attempt is None else getattr(attempt, f"{stream}_key")
        if not key:
            return ""
        return bytes(self._run._backend.blobs.get(key)).decode("utf-8", errors="replace")

    @property
    def stdout(self) -> str:
        return self._log("stdout")

    @property
    def stderr(self) -> str:
        return self._log("stderr")

    @property
    def stdout_size(self) -> int:
        return len(self.stdout.encode())

    @property
    def stderr_size(self) -> int:
        return len(self.stderr.encode())

    @property
    def code(self) -> KetchCode | None:
        return self._run.code

    @property
    def tags(self) -> frozenset[str]:
        return self._run.tags

    @property
    def origin_pathspec(self) -> str | None:
        r = self._record
        if r.origin_run_id is None:
            return None
        return f"{self._run._record.flow_name}/{r.origin_run_id}/{r.step_name}/{r.origin_task_id}"

    @property
    def parent(self) -> Step:
        return Step._make(self._run, self._record.step_name)

    @property
    def parent_task_pathspecs(self) -> list[str]:
        out = []
        for task_id in self._record.input_task_ids:
            rec = self._run._backend.store.get_task(self._record.run_id, task_id)
            if rec is not None:
                out.append(f"{self._run.pathspec}/{rec.step_name}/{task_id}")
        return out

    @property
    def parent_tasks(self) -> list[Task]:
        return [Task(p, _namespace_check=False) for p in self.parent_task_pathspecs]


class DataArtifact(_Base):
    """One stored value; ``.data`` unpickles it on first access."""

    _task: Task
    _art: ArtifactRecord

    def __init__(self, pathspec: str, _namespace_check: bool = True) -> None:
        task_path, name = pathspec.rstrip("/").rsplit("/", 1)
        found = Task(task_path, _namespace_check=_namespace_check)[name]
        self.__dict__.update(found.__dict__)

    @classmethod
    def _make(cls, task: Task, record: ArtifactRecord) -> DataArtifact:
        artifact = cls.__new__(cls)
        artifact._task = task
        artifact._art = record
        artifact.pathspec = f"{task.pathspec}/{record.name}"
        return artifact

    @property
    def data(self) -> Any:
        try:
            return load_artifact(self._task._run._backend.blobs, self._art.key)
        except DataIntegrityError as exc:
            raise DataIntegrityError(
                f"Artifact '{self._art.name}' of task {self._task.pathspec}: {exc.detail}",
                hint=exc.hint,
            ) from None

    @property
    def size(self) -> int:
        return self._art.size

    @property
    def sha(self) -> str:
        return self._art.key

    @property
    def type(self) -> str:
        return self._art.type_name

    @property
    def finished_at(self) -> datetime | None:
        return self._task.finished_at

    @property
    def parent(self) -> Task:
        return self._task


class Artifacts:
    """The public artifacts of a task, by attribute or by iteration."""

    def __init__(self, items: list[DataArtifact]) -> None:
        self._items = {a.id: a for a in items}

    def __iter__(self) -> Iterator[DataArtifact]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __getattr__(self, name: str) -> DataArtifact:
        items = self.__dict__.get("_items", {})
        if name in items:
            return items[name]  # type: ignore[no-any-return]
        raise AttributeError(f"No artifact named '{name}'")

    def _fields(self) -> tuple[str, ...]:
        return tuple(self._items)


class MetaflowData:
    """Attribute access to a task's artifacts: ``task.data.accuracy``."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self._records = {r.name: r for r in task._artifact_records()}
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        records = self.__dict__.get("_records", {})
        if name not in records:
            raise AttributeError(f"Task {self._task.pathspec} has no artifact '{name}'")
        if name not in self._cache:
            self._cache[name] = DataArtifact._make(self._task, records[name]).data
        return self._cache[name]

    def __contains__(self, name: object) -> bool:
        return name in self._records

    def __dir__(self) -> list[str]:
        return [n for n in self._records if not n.startswith("_")]

    def __repr__(self) -> str:
        return f"<MetaflowData: {', '.join(sorted(self.__dir__()))}>"


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
