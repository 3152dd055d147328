"""Tasks and their artifacts: ``Task``, ``DataArtifact``, ``.data`` and ``.artifacts``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..datastore import content_hash, load_artifact
from ..exceptions import DataIntegrityError, NotFoundError, UserError
from ..flow._decorators import ExceptionWrapper
from ..metadata._records import ArtifactRecord, AttemptRecord, TaskRecord, TaskSnapshot
from ._base import _Base, _split, _time
from ._code import KetchCode
from ._failure import attempt_exception
from ._metadata import Metadata, task_metadata
from ._metrics import Metrics, metrics_of

if TYPE_CHECKING:
    from ._objects import Run, Step

_OWN_RECORD_WAIT_S = 5.0


class Task(_Base):
    """One task: its artifacts, logs, status and foreach position."""

    _snapshot: TaskSnapshot | None = None

    def __init__(self, pathspec: str, attempt: int | None = None, _namespace_check: bool = True):
        from ._objects import Run  # Run makes Tasks: imported when first needed

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
        if record is None and _is_running_task(run, step, task_id):
            record = _wait_for_own_record(run, int(task_id))
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
        self._attempt_chosen = attempt is not None
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
    def exception(self) -> ExceptionWrapper | None:
        """The exception that failed the task (its latest attempt, or the one chosen).

        None while it runs, when it succeeded, and when ``@catch`` handled the exception.
        As in Metaflow, ``.type`` is the qualified class name, ``.exception`` the message,
        ``.stacktrace`` the traceback, and ``str()`` the traceback.

        Examples
        --------
        >>> err = Task("TrainFlow/12/train/3").exception  # doctest: +SKIP
        >>> err.type, err.exception  # doctest: +SKIP
        ('builtins.ValueError', 'bad row 0')
        """
        attempt = self._attempt_record()
        if attempt is None or attempt.status != "failed" or not attempt.exception:
            return None
        return attempt_exception(attempt)

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
        return bytes(self._run._blobs.get(key)).decode("utf-8", errors="replace")

    @property
    def stdout(self) -> str:
        return self._log("stdout")

    def loglines(
        self, stream: str, as_unicode: bool = True, meta_dict: dict[str, Any] | None = None
    ) -> Iterator[tuple[datetime | None, str | bytes]]:
        """The lines of the task's ``stream`` (``"stdout"`` or ``"stderr"``), one pair each.

        As Metaflow's ``Task.loglines``, each pair is (timestamp, line), the line without its
        newline, as bytes with ``as_unicode=False``. ketch stores a task's output whole,
        without a time per line: the timestamp is None (``Task.finished_at`` says when the
        attempt ended). ``meta_dict`` is accepted for Metaflow's signature and not needed.

        Examples
        --------
        >>> [line for _, line in Task("TrainFlow/12/train/3").loglines("stdout")]  # doctest: +SKIP
        ['epoch 1 loss 0.41', 'epoch 2 loss 0.27']
        """
        if stream not in ("stdout", "stderr"):
            raise UserError(
                f"Task.loglines: no stream {stream!r}.", hint="Use 'stdout' or 'stderr'."
            )
        for line in self._log(stream).splitlines():
            yield None, line if as_unicode else line.encode("utf-8")

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
    def user_tags(self) -> frozenset[str]:
        return self._run.user_tags

    @property
    def system_tags(self) -> frozenset[str]:
        return self._run.system_tags

    @property
    def origin_pathspec(self) -> str | None:
        r = self._record
        if r.origin_run_id is None:
            return None
        return f"{self._run._record.flow_name}/{r.origin_run_id}/{r.step_name}/{r.origin_task_id}"

    @property
    def metrics(self) -> Metrics:
        """What this task logged with ``log_metric`` in its latest attempt (or the attempt
        chosen with ``Task(pathspec, attempt=N)``), in the order logged (a list of `Metric`;
        ``.to_pandas()`` makes a DataFrame)."""
        attempt = self._attempt if self._attempt_chosen else None
        records = self._run._backend.store.list_metrics(
            self._record.run_id, self._record.task_id, attempt
        )
        return metrics_of(self._run.pathspec, records)

    @property
    def parent(self) -> Step:
        from ._objects import Step

        return Step._make(self._run, self._record.step_name)

    @property
    def metadata(self) -> list[Metadata]:
        """The task's metadata entries, of every attempt (or of the chosen one only).

        Entries are ``Metadata(name, value, created_at, type, task)`` tuples, as in Metaflow;
        see ``ketch.client._metadata`` for the names ketch records.
        """
        attempts = self._run._backend.store.list_attempts(self._record.run_id, self._record.task_id)
        if self._attempt_chosen:
            attempts = [a for a in attempts if a.attempt == self._attempt]
        run = self._run._record
        return task_metadata(self, run, self._record, attempts, self._run._graph_info())

    @property
    def metadata_dict(self) -> dict[str, Any]:
        """Each metadata name with its latest value (the latest attempt's, for a retried task).

        Examples
        --------
        >>> Task("TrainFlow/12/train/3").metadata_dict["attempt"]  # doctest: +SKIP
        '0'
        """
        return {m.name: m.value for m in sorted(self.metadata, key=lambda m: m.created_at)}

    @property
    def environment_info(self) -> dict[str, Any]:
        """The @pypi/@conda environment the task ran in: ``type``, ``env_id`` (its lock's
        hash), ``python_version``, ``pins`` (the lock: exact versions, a requirements file),
        ``path`` and ``interpreter``; ``{}`` for a task that ran in the launching interpreter.

        Examples
        --------
        >>> Task("TrainFlow/12/train/3").environment_info["python_version"]  # doctest: +SKIP
        '3.11.7'
        """
        steps = (self._run._graph_info() or {}).get("steps") or {}
        env = (steps.get(self._record.step_name) or {}).get("environment")
        return dict(env) if isinstance(env, dict) else {}

    @property
    def parent_task_pathspecs(self) -> list[str]:
        """The tasks this one took its inputs from (for a join, every branch or split)."""
        return [t.pathspec for t in self.parent_tasks]

    @property
    def parent_tasks(self) -> list[Task]:
        store = self._run._backend.store
        records = [store.get_task(self._record.run_id, i) for i in self._record.input_task_ids]
        return [Task._make(self._run, r) for r in records if r is not None]

    @property
    def child_task_pathspecs(self) -> list[str]:
        """The tasks that took this one as an input: every task of a foreach split, both
        branches of a split, the join of a foreach (one for all the splits), or the next step.
        Empty for the end task and for a task whose successors have not started."""
        return [t.pathspec for t in self.child_tasks]

    @property
    def child_tasks(self) -> list[Task]:
        store = self._run._backend.store
        run_id, task_id = self._record.run_id, self._record.task_id
        steps = self._run._successor_steps(self._record.step_name)
        records = (
            [r for step in steps for r in store.list_tasks(run_id, step)]
            if steps is not None
            else store.list_tasks(run_id)  # no stored graph: look at every task of the run
        )
        return [Task._make(self._run, r) for r in records if task_id in r.input_task_ids]


def _is_running_task(run: Run, step: str, task_id: str) -> bool:
    """Whether the task asked for is the one running in this process."""
    from ..flow._current import task_context

    ctx = task_context()
    return ctx is not None and ctx.pathspec == f"{run.pathspec}/{step}/{task_id}"


def _wait_for_own_record(run: Run, task_id: int) -> TaskRecord | None:
    """The record of the running task: the scheduler writes it as the task starts, through
    its batching writer, so it may land a few milliseconds after the task asks for itself."""
    deadline = time.monotonic() + _OWN_RECORD_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(0.01)
        record = run._backend.store.get_task(run._record.run_id, task_id)
        if record is not None:
            return record
    return None


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
            return load_artifact(self._task._run._blobs, self._art.key)
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
        return content_hash(self._art.key)

    @property
    def type(self) -> str:
        return self._art.type_name

    @property
    def finished_at(self) -> datetime | None:
        return self._task.finished_at

    @property
    def parent(self) -> Task:
        return self._task

    @property
    def tags(self) -> frozenset[str]:
        """The tags of its run, as in Metaflow (``user_tags``, ``system_tags`` too)."""
        return self._task.tags

    @property
    def user_tags(self) -> frozenset[str]:
        return self._task.user_tags

    @property
    def system_tags(self) -> frozenset[str]:
        return self._task.system_tags


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
    """Attribute access to a task's public artifacts: ``task.data.accuracy``.

    Private artifacts (names starting with ``_``) are not attributes, as in Metaflow: read
    them with ``task["_name"].data``.
    """

    def __init__(self, task: Task) -> None:
        self._task = task
        self._records = {r.name: r for r in task._artifact_records() if not r.name.startswith("_")}
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
        return list(self._records)

    def __repr__(self) -> str:
        return f"<MetaflowData: {', '.join(sorted(self.__dir__()))}>"
