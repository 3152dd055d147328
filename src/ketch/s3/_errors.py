"""The errors of the ``S3`` helper, under the names Metaflow flows catch.

Metaflow's are siblings (each a direct subclass of ``MetaflowException``), so a flow that
catches ``MetaflowS3Exception`` does not catch a missing key; they are siblings here too,
under :class:`S3Error`, which is a ketch :class:`~ketch.exceptions.UserError`: an uncaught one
in a step fails the task with its headline and hint, without a traceback of ketch's code.
"""

from __future__ import annotations

from ..exceptions import UserError


class S3Error(UserError):
    """The common base of the helper's errors (Metaflow has none but MetaflowException)."""

    headline = "S3 access failed"


class MetaflowS3Exception(S3Error):
    """A request failed for another reason than the ones below (the server unreachable)."""

    headline = "S3 access failed"


class MetaflowS3NotFound(S3Error):
    """The object (or its bucket, or a local file to upload) does not exist."""

    headline = "S3 object not found"


class MetaflowS3AccessDenied(S3Error):
    """The store refused the credentials, or they may not do this."""

    headline = "S3 access denied"


class MetaflowS3URLException(S3Error):
    """A key or URL that cannot be used where it was given."""

    headline = "Invalid address"


class MetaflowS3InvalidRange(S3Error):
    """An ``S3GetObject`` range that starts past the end of the object."""

    headline = "S3 invalid range"


class MetaflowS3InvalidObject(S3Error):
    """A value to upload that is neither text, bytes nor a readable, seekable file."""

    headline = "Not a string-like object"


class MetaflowS3InsufficientDiskSpace(S3Error):
    """The disk under ``tmproot`` filled up while downloading."""

    headline = "Insufficient disk space"
