"""The one exception tree of ketch.

::

    KetchException                    base; ``exit_code`` 1; shown as headline + detail + hint
    ├── UserError                     the user can fix it; shown without a traceback
    │   ├── FlowDefinitionError       the flow file cannot be loaded (syntax error, no FlowSpec)
    │   ├── LintError                 the graph breaks a rule; names file:line and the step
    │   ├── ParameterError            a bad parameter value (exit code 2, like click)
    │   ├── ConfigError               a Config has no value or a bad one (exit code 2)
    │   ├── InvalidNextError          ``self.next`` called wrongly at run time
    │   ├── NotFoundError             a flow, run, step, task or artifact does not exist (also a
    │   │   │                         ``KeyError``, which ``run["step"]`` raises in Metaflow)
    │   │   └── NamespaceMismatchError  it exists, but outside the current namespace
    │   ├── StoreNotFoundError        no ``.ketch`` directory where one is needed
    │   ├── StoreAccessError          the store's place cannot be used: KETCH_HOME is a file, a
    │   │                             directory cannot be made or written (read-only, /proc)
    │   ├── StoreFullError            no space left on the disk that holds the store
    │   ├── StoreUnreachableError     the object store of the datastore did not answer
    │   ├── UnpicklableArtifactError  an artifact cannot be serialized
    │   ├── MergeArtifactsError       ``merge_artifacts`` found conflicts or missing names
    │   ├── TooManySplitsError        a foreach exceeds ``--max-num-splits``
    │   ├── DecoratorError            a decorator got a bad argument
    │   ├── EnvironmentSetupError     a step's @pypi/@conda environment cannot be built
    │   └── RunnerError               Runner could not start a run (the command exited before
    │       │                         the run began)
    │       ├── RunnerOptionError     an option the command does not have (also a ``ValueError``)
    │       └── RunnerTypeError       an option value of the wrong type (also a ``TypeError``)
    ├── TaskFailedError               a run ended because a task failed
    ├── MulticoreError                a child of ``parallel_map`` failed (names the item)
    ├── TimeoutException              raised inside a step that ran longer than its @timeout
    ├── FailureHandledByCatch         what @catch records when a task's process died
    ├── DataIntegrityError            a blob is missing or corrupt, or the database is damaged
    │   └── StoreDamagedError         the run database is damaged (names the file and the repair)
    └── InternalError                 a bug in ketch; keeps its traceback

Every ketch exception carries a one-line ``headline``, an optional ``detail`` paragraph and an
optional ``hint`` saying how to fix it; ``format()`` renders the three for a terminal.
"""

from __future__ import annotations


class KetchException(Exception):
    """Base class of every error ketch raises on purpose."""

    headline: str = "ketch failed"
    exit_code: int = 1
    show_traceback: bool = False

    def __init__(self, detail: str = "", *, hint: str = "", headline: str | None = None) -> None:
        super().__init__(detail or headline or self.headline)
        self.detail = detail
        self.hint = hint
        if headline is not None:
            self.headline = headline

    def format(self) -> str:
        """Render headline, detail and hint as a short paragraph for a terminal."""
        parts = [f"{self.headline}"]
        if self.detail:
            parts.append(f"    {self.detail}")
        if self.hint:
            parts.append(f"    Hint: {self.hint}")
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.detail or self.headline


class UserError(KetchException):
    headline = "Error"


class FlowDefinitionError(UserError):
    headline = "The flow could not be loaded"


class LintError(UserError):
    """A graph rule is broken. ``file`` and ``line`` point at the offending code."""

    headline = "The flow's graph is invalid"

    def __init__(
        self, detail: str, *, file: str = "", line: int = 0, step: str = "", hint: str = ""
    ) -> None:
        super().__init__(detail, hint=hint)
        self.file = file
        self.line = line
        self.step = step

    def format(self) -> str:
        where = f"{self.file}, line {self.line}" if self.file else "the flow"
        step = f" (step '{self.step}')" if self.step else ""
        text = f"Validity checker found an issue in {where}{step}:\n    {self.detail}"
        if self.hint:
            text += f"\n    Hint: {self.hint}"
        return text


class ParameterError(UserError):
    headline = "Bad parameter"
    exit_code = 2


class ConfigError(UserError):
    headline = "Bad config"
    exit_code = 2


class InvalidNextError(UserError):
    headline = "Invalid self.next() transition"


class NotFoundError(UserError, KeyError):
    """A flow, run, step, task or artifact does not exist.

    It is a ``KeyError`` too: ``run["nostep"]``, ``step["999"]``, ``task["nope"]`` and
    ``Flow("F")["nope"]`` raise ``KeyError`` in Metaflow, and code written for it catches that.
    """

    headline = "Not found"


class NamespaceMismatchError(NotFoundError):
    headline = "Object not in the current namespace"


class StoreNotFoundError(UserError):
    headline = "No ketch store found"


class StoreAccessError(UserError):
    """The store's directory or database file cannot be used for what was asked: it is a
    file, it cannot be created, or it is read-only and the command writes."""

    headline = "The ketch store cannot be used"


class StoreUnreachableError(UserError):
    """The object store that holds the datastore did not answer (down, unreachable, failing),
    even after retries."""

    headline = "The datastore cannot be reached"


class StoreFullError(UserError):
    """No space is left on the disk that holds the store (``ENOSPC``, ``SQLITE_FULL``)."""

    headline = "No space left on device"


class UnpicklableArtifactError(UserError):
    headline = "An artifact could not be serialized"


class MergeArtifactsError(UserError):
    headline = "merge_artifacts failed"


class TooManySplitsError(UserError):
    headline = "Too many foreach splits"


class MetricError(UserError, ValueError):
    """``log_metric`` got a name, value or step it cannot record."""

    headline = "Invalid metric"


class DecoratorError(UserError):
    headline = "Bad decorator"


class RunnerError(UserError):
    """``Runner`` was given an option the flow's command does not have, or the command
    exited before its run began (a lint error, a bad parameter value)."""

    headline = "The Runner could not start the flow"


class RunnerOptionError(RunnerError, ValueError):
    """``Runner`` got a keyword the flow's command has no option for. A ``ValueError`` too,
    as Metaflow's Runner raises."""


class RunnerTypeError(RunnerError, TypeError):
    """``Runner`` got an option value of the wrong type. A ``TypeError`` too, as Metaflow's."""


class EnvironmentSetupError(UserError):
    headline = "Environment error"


class TaskFailedError(KetchException):
    headline = "The run failed"


class MulticoreError(KetchException):
    """A child process of ``parallel_map`` / ``parallel_imap_unordered`` raised or died.
    Metaflow's ``MulticoreException``."""

    headline = "A parallel_map child failed"


class TimeoutException(KetchException):
    """Raised inside a step when its ``@timeout`` expires (from a signal handler), so that
    ``@retry`` and ``@catch`` treat it like any exception of the step. Metaflow's name."""

    headline = "@timeout"
    show_traceback = True  # where the step was when it timed out


class FailureHandledByCatch(KetchException):
    """The exception ``@catch`` records for a task whose process died (killed, crashed, or
    exited), where the step's code raised nothing it could catch. Metaflow's name."""

    headline = "Task execution failed but @catch handled it"


class DataIntegrityError(KetchException):
    headline = "Stored data is corrupt or missing"


class StoreDamagedError(DataIntegrityError):
    """The run database is damaged: SQLite found a malformed page or no database at all.

    ``path`` is the database file. Readers raise it instead of ``sqlite3.DatabaseError``, so
    that a caller (the UI, the CLI) can show a page or a message rather than a traceback.
    """

    headline = "The metadata store is damaged"

    def __init__(self, detail: str = "", *, path: str = "", hint: str = "") -> None:
        super().__init__(detail, hint=hint)
        self.path = path


class InternalError(KetchException):
    headline = "Internal error in ketch (please report it)"
    show_traceback = True
