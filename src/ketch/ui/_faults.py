"""What a page says when something under it fails: a damaged run database, or a bug.

Neither answer carries SQL text or a traceback: those go to the UI's log, where whoever runs
it can read them, and not to whoever browses it.
"""

from __future__ import annotations

import shlex

from ..exceptions import DataIntegrityError, InternalError
from ..metadata._sqlite import is_damage


def database_damage(database_file: str | None, exc: BaseException) -> DataIntegrityError | None:
    """The error to show when ``exc`` comes from SQLite finding ``database_file`` damaged
    ("database disk image is malformed", "file is not a database"), else None.

    The store may have wrapped SQLite's error (SQLAlchemy's ``orig``, or a ketch error raised
    ``from`` it or while handling it): the whole chain is searched.
    """
    cause = _sqlite_damage(exc)
    if cause is None or database_file is None:
        return None
    return DataIntegrityError(
        f"The run database at {database_file} is damaged: SQLite cannot read part of it ({cause}).",
        headline="The run database is damaged",
        hint=recovery_hint(database_file),
    )


def recovery_hint(path: str) -> str:
    quoted, recovered = shlex.quote(path), shlex.quote(path + ".recovered")
    return (
        "Stop the runs that write to it, then copy out what can still be read: "
        f'sqlite3 {quoted} ".recover" | sqlite3 {recovered}. Keep the damaged file (and its '
        "-wal file) aside and move the recovered one into its place. Or restore it from a "
        "backup."
    )


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _sqlite_damage(exc: BaseException) -> BaseException | None:
    for current in exception_chain(exc):
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's
        for candidate in (current, orig):
            if isinstance(candidate, BaseException) and is_damage(candidate):
                return candidate
    return None


def internal_error(exc: Exception) -> InternalError:
    """A bug, as a page shows it: the exception's type and first line. A database error shows
    the driver's message, not SQLAlchemy's, which quotes the statement and its parameters."""
    orig = getattr(exc, "orig", None)
    shown = orig if isinstance(orig, Exception) else exc
    lines = str(shown).strip().splitlines()
    name = type(shown).__name__
    return InternalError(
        f"{name}: {lines[0]}" if lines else name,
        hint="The console where the UI runs shows the traceback.",
    )
