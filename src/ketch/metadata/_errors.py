"""Errors of the metadata store (kept free of SQLAlchemy so the package imports lightly)."""

from __future__ import annotations

from ketch.exceptions import UserError


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
