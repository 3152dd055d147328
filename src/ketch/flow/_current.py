"""``current``: what a running task knows about itself, held in a context variable."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import UserError


@dataclass(frozen=True)
class TaskContext:
    flow_name: str
    run_id: str
    step_name: str
    task_id: str
    retry_count: int
    origin_run_id: str | None
    username: str
    namespace: str
    tags: frozenset[str]
    parameter_names: tuple[str, ...]
    graph: dict[str, Any] = field(default_factory=dict)
    datastore_url: str = ""  # where the run's data is (S3(run=self) roots its keys beside it)
    # Values that flow decorators add for the whole run (@project's project_name, ...).
    flow_fields: Mapping[str, Any] = field(default_factory=dict)
    is_parallel: bool = False  # a task of a @parallel step (see current.parallel)

    @property
    def pathspec(self) -> str:
        return f"{self.flow_name}/{self.run_id}/{self.step_name}/{self.task_id}"


_context: ContextVar[TaskContext | None] = ContextVar("ketch_task_context", default=None)
# The flow decorators' values in the launching process, before any task runs (a parameter's
# default function may read current.project_name).
_run_fields: ContextVar[Mapping[str, Any] | None] = ContextVar("ketch_run_fields", default=None)

_FIELDS = {
    "flow_name",
    "run_id",
    "step_name",
    "task_id",
    "retry_count",
    "origin_run_id",
    "username",
    "namespace",
    "tags",
    "parameter_names",
    "pathspec",
    "graph",
    "is_parallel",
}


class Current:
    """Identity of the running task: ``current.flow_name``, ``current.task_id``, ...

    Outside a running task ``current.is_running_flow`` is False and the other fields raise.

    Examples
    --------
    >>> from ketch import current
    >>> current.is_running_flow
    False
    """

    def _get(self) -> TaskContext:
        ctx = _context.get()
        if ctx is None:
            raise UserError(
                "current is only set inside a running task.",
                hint="Check current.is_running_flow before reading other fields.",
            )
        return ctx

    @property
    def is_running_flow(self) -> bool:
        return _context.get() is not None

    def __getattr__(self, name: str) -> Any:
        extra = self._flow_fields()
        if name in extra:
            return extra[name]
        if name == "tags":  # a set of its own, as Metaflow's (flows call .update on it)
            return set(self._get().tags)
        if name in _FIELDS:
            return getattr(self._get(), name)
        if name in ("task", "run"):
            return self._client_object(name)
        if name == "parallel":
            from ._parallel import current_parallel

            self._get()
            return current_parallel()
        if name == "card":
            from ..cards._collector import current_card

            return current_card()
        raise AttributeError(f"current has no attribute '{name}'")

    def _flow_fields(self) -> Mapping[str, Any]:
        ctx = _context.get()
        if ctx is not None:
            return ctx.flow_fields
        return _run_fields.get() or {}

    def _client_object(self, name: str) -> Any:
        from ..client import Run, Task

        ctx = self._get()
        if name == "run":
            return Run(f"{ctx.flow_name}/{ctx.run_id}", _namespace_check=False)
        return Task(ctx.pathspec, _namespace_check=False)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return getattr(self, key)
        except (AttributeError, UserError):
            return default

    def __contains__(self, key: str) -> bool:
        running = self.is_running_flow and (key in _FIELDS or key in ("task", "run"))
        return running or key in self._flow_fields()

    def __repr__(self) -> str:
        ctx = _context.get()
        return f"<current {ctx.pathspec if ctx else '(not running)'}>"


current = Current()


def set_context(ctx: TaskContext | None) -> None:
    """Install the context of the task this process runs (called once per task process)."""
    _context.set(ctx)


def set_flow_fields(values: Mapping[str, Any]) -> None:
    """Install the values flow decorators add to ``current`` in the launching process (the
    tasks get theirs with their :class:`TaskContext`)."""
    _run_fields.set(dict(values))


def task_context() -> TaskContext | None:
    """The context of the running task, or None outside one (for ketch's own helpers)."""
    return _context.get()
