"""Metaflow's ``S3`` helper: ``from ketch import S3`` (Metaflow: ``from metaflow import S3``),
and the rest of ``metaflow.plugins.datatools.s3``: ``from ketch.s3 import MetaflowS3NotFound``.

Needs obstore (``pip install 'ketch[s3]'``), like an S3 datastore.
"""

from __future__ import annotations

from ._client import S3
from ._errors import (
    MetaflowS3AccessDenied,
    MetaflowS3Exception,
    MetaflowS3InsufficientDiskSpace,
    MetaflowS3InvalidObject,
    MetaflowS3InvalidRange,
    MetaflowS3NotFound,
    MetaflowS3URLException,
    S3Error,
)
from ._object import RangeInfo, S3GetObject, S3Object, S3PutObject

__all__ = [
    "MetaflowS3AccessDenied",
    "MetaflowS3Exception",
    "MetaflowS3InsufficientDiskSpace",
    "MetaflowS3InvalidObject",
    "MetaflowS3InvalidRange",
    "MetaflowS3NotFound",
    "MetaflowS3URLException",
    "RangeInfo",
    "S3",
    "S3Error",
    "S3GetObject",
    "S3Object",
    "S3PutObject",
]
