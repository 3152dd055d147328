"""Records the scheduler writes, turned into tracker calls.

The scheduler's writer already carries every event of a run: ``create_run`` and
``set_parameters`` (the run starts), ``upsert_task`` (a task runs, or ended: ``completed`` or
``failed`` is its final status), ``add_metrics`` (points, live or at the task's end) and
``finish_run``. A :class:`Translator` follows them and says which :class:`Tracker` calls they
make, in order; the ``_parameters`` pseudo-task is not a task to a tracker.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..metadata._records import PARAMETERS_STEP, ParameterRecord, TaskRecord
from ._api import RunInfo, TaskInfo

if TYPE_CHECKING:
    from ..runtime._writer import Op

Event = tuple[str, tuple[Any, ...]]  # (Tracker method, its arguments)


class Translator:
    """Follows one run's records; :meth:`events` gives the tracker calls they make."""

    def __init__(self) -> None:
        self._created: dict[str, Any] | None = None
        self.run: RunInfo | None = None
        self.tasks: dict[int, TaskInfo] = {}
        self._ended: set[int] = set()
        self._finished = False

    def events(self, ops: list[Op]) -> list[Event]:
        """The calls a sending of records makes. A task's end comes after the sending's other
        calls: the scheduler records the points a task's result carries after its status."""
        found: list[Event] = []
        ends: list[Event] = []
        for method, args, kwargs in ops:
            handler = getattr(self, f"_on_{method}", None)
            if handler is not None:
                for event in handler(*args, **kwargs):
                    (ends if event[0] == "end_task" else found).append(event)
        ends_run = [e for e in found if e[0] == "end_run"]
        return [e for e in found if e[0] != "end_run"] + ends + ends_run

    def finish(self) -> list[Event]:
        """The run's end where no ``finish_run`` came (the launching process is stopping)."""
        if self.run is None or self._finished:
            return []
        self._finished = True
        return [("end_run", ("killed",))]

    def _on_create_run(self, flow_name: str, **kwargs: Any) -> list[Event]:
        self._created = {"flow_name": flow_name, **kwargs}
        return []

    def _on_set_parameters(self, run_id: int, parameters: list[ParameterRecord]) -> list[Event]:
        created = self._created
        if created is None or self.run is not None:
            return []
        self.run = RunInfo(
            flow_name=created["flow_name"],
            run_id=run_id,
            user=created["user"],
            tags=tuple(created["tags"]),
            system_tags=tuple(created["system_tags"]),
            parameters={p.name: p.value for p in parameters},
            created_at=created.get("created_at") or 0.0,
        )
        return [("start_run", (self.run,))]

    def _on_upsert_task(self, task: TaskRecord) -> list[Event]:
        if self.run is None or task.step_name == PARAMETERS_STEP:
            return []
        found: list[Event] = []
        info = self.tasks.get(task.task_id)
        if info is None:
            info = TaskInfo(
                flow_name=self.run.flow_name,
                run_id=self.run.run_id,
                step_name=task.step_name,
                task_id=task.task_id,
                created_at=task.created_at,
                foreach_indices=tuple(frame.index for frame in task.foreach_stack),
                attempt=task.attempt,
            )
            found.append(("start_task", (info,)))
        elif info.attempt != task.attempt:
            info = replace(info, attempt=task.attempt)
        self.tasks[task.task_id] = info
        if task.status != "running" and task.task_id not in self._ended:
            self._ended.add(task.task_id)
            found.append(("end_task", (info, task.status)))
        return found

    def _on_add_metrics(
        self, run_id: int, task_id: int, attempt: int, step_name: str, points: Any, *_: Any
    ) -> list[Event]:
        info = self.tasks.get(task_id)
        if info is None or not points:
            return []
        return [("log_metrics", (info, tuple(points)))]

    def _on_finish_run(self, run_id: int, status: str, finished_at: float) -> list[Event]:
        if self.run is None or self._finished:
            return []
        self._finished = True
        return [("end_run", (status,))]
