"""What every Client object shares: pathspec parsing, identity, and the namespace check."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..exceptions import NamespaceMismatchError, NotFoundError, UserError
from ..metadata._records import RunRecord
from ._context import Backend, get_namespace


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
    if check_namespace and not _in_namespace(record, get_namespace()):
        raise NamespaceMismatchError(
            f"Run '{flow}/{run_id}' is not in the current namespace ({get_namespace()}).",
            hint="Switch with namespace(None) to see every run, or namespace('user:<name>').",
        )
    return record


def _in_namespace(record: RunRecord, ns: str | None) -> bool:
    """Whether ``record`` is seen from namespace ``ns`` (None: every run)."""
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

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its pathspec, as Metaflow's client objects are (an artifact may hold one,
        # e.g. current.task): unpickled, it reads the store again, outside the namespace check.
        return (_unpickle, (type(self), self.pathspec))


def _unpickle(cls: Any, pathspec: str) -> Any:
    return cls(pathspec, _namespace_check=False)
