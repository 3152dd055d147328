"""Errors of the metadata store (kept free of SQLAlchemy so the package imports lightly)."""

from __future__ import annotations

from ketch.exceptions import UserError


class StoreUrlError(UserError):
    """The metadata store URL is malformed or names an unsupported database."""

    headline = "Unsupported metadata store URL"


class SchemaVersionError(UserError):
    """The metadata store was written by a newer ketch than the one running."""

    headline = "The metadata store is newer than this version of ketch"
