"""Errors of the metadata store (kept free of SQLAlchemy so the package imports lightly)."""

from __future__ import annotations

from ketch.exceptions import StoreAccessError, StoreFullError, UserError


class StoreUrlError(UserError):
    """The metadata store URL is malformed or names an unsupported database."""

    headline = "Unsupported metadata store URL"


class SchemaVersionError(UserError):
    """The metadata store was written by a newer ketch than the one running."""

    headline = "The metadata store is newer than this version of ketch"


def check_not_newer(version: int, latest: int, url: str) -> None:
    """Refuse a database whose schema ``version`` is newer than this code's ``latest``."""
    if version > latest:
        raise SchemaVersionError(
            f"{url} has schema version {version}; this ketch knows versions up to {latest}.",
            hint="upgrade ketch (pip install -U ketch), or use another metadata store",
        )


def upgrade_for_reader(url: str, version: int, latest: int) -> None:
    """Bring a store that a reader opened read-only to the ``latest`` schema, as a writer
    would (a reader of an older store has always upgraded it), or say why that cannot be done.

    ``version`` 0: the file has no ketch tables yet (a first run is creating them).
    """
    from . import open_store

    try:
        open_store(url).close()
    except (StoreAccessError, StoreFullError) as exc:
        what = (
            "holds no ketch tables yet"
            if version == 0
            else f"has schema version {version}, older than this ketch's {latest}"
        )
        raise StoreAccessError(
            f"{url} {what}, and cannot be upgraded where it is: {exc.detail}",
            hint="Open it once where it can be written (e.g. run 'ketch runs' there), or read "
            "it with the ketch version that wrote it.",
        ) from None
