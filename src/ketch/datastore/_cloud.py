"""Connecting to an object store named by a URL: ``s3://``, ``gs://``, ``az://``.

The transfers go through obstore (Rust's ``object_store``: in-process, parallel multipart
uploads, no subprocess, no gzip). Where the store is and who we are come from the places its
users already configure:

- S3: ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``,
  ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``; and where the
  environment has no keys, or ``AWS_PROFILE`` names a profile, boto3 resolves them as it
  always does (profiles, ``~/.aws/config`` and ``credentials``, SSO, instance roles), and its
  profile's ``region`` and ``endpoint_url`` apply too.
- Google Cloud Storage and Azure Blob: the variables obstore reads (``GOOGLE_*``,
  ``AZURE_STORAGE_*``); these two are built in but not tested here (no server runs offline).

Nothing here opens a connection: a store connects on its first request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..exceptions import UserError

if TYPE_CHECKING:
    from obstore.store import ObjectStore

CLOUD_SCHEMES = ("s3", "gs", "az")


@dataclass(frozen=True)
class Location:
    """Where a datastore URL points: the scheme, the bucket, the prefix in it, and (S3) the
    endpoint it is reached at, for messages."""

    url: str
    scheme: str
    bucket: str
    prefix: str
    endpoint: str

    def describe(self) -> str:
        """``s3://bucket/prefix at http://127.0.0.1:9000``, for messages."""
        return f"{self.url} at {self.endpoint}" if self.endpoint else self.url


def parse(url: str) -> Location:
    """Split a cloud datastore URL; a :class:`UserError` for one that names no bucket."""
    parts = urlsplit(url)
    scheme, bucket, prefix = parts.scheme.lower(), parts.netloc, parts.path.strip("/")
    if not bucket:
        raise UserError(
            f"The datastore URL {url!r} names no bucket.",
            hint=f"Write it as {scheme}://BUCKET/PREFIX (the prefix is optional).",
            headline="Bad datastore URL",
        )
    endpoint = _s3_endpoint() if scheme == "s3" else ""
    return Location(url.rstrip("/"), scheme, bucket, prefix, endpoint)


def connect(where: Location) -> ObjectStore:
    """An obstore store over ``where``'s bucket and prefix. Its own retries are off: the
    caller retries (see ``_objectstore``), with a message the user sees."""
    from obstore.store import AzureStore, GCSStore, S3Store

    client: dict[str, Any] = {"connect_timeout": "5s", "timeout": "120s"}
    retry: dict[str, Any] = {"max_retries": 0, "retry_timeout": timedelta(seconds=1)}
    prefix = where.prefix or None
    if where.scheme == "gs":
        return GCSStore(where.bucket, prefix=prefix, client_options=client, retry_config=retry)  # type: ignore[arg-type]
    if where.scheme == "az":
        return AzureStore(where.bucket, prefix=prefix, client_options=client, retry_config=retry)  # type: ignore[arg-type]
    config, provider = _s3_config(where)
    if config.get("endpoint", "").startswith("http://"):
        client["allow_http"] = True
    return S3Store(
        where.bucket,
        prefix=prefix,
        config=config,  # type: ignore[arg-type]
        client_options=client,  # type: ignore[arg-type]
        retry_config=retry,  # type: ignore[arg-type]
        credential_provider=provider,
    )


def _s3_endpoint() -> str:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or ""


def _s3_config(where: Location) -> tuple[dict[str, str], Any]:
    """The endpoint and region, and a boto3 credential provider where the environment holds
    no keys (or names a profile). The environment's own keys obstore reads itself."""
    config: dict[str, str] = {}
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if where.endpoint:
        config["endpoint"] = where.endpoint
    provider = None
    has_keys = bool(os.environ.get("AWS_ACCESS_KEY_ID"))
    if not has_keys or os.environ.get("AWS_PROFILE"):
        session = _boto3_session()
        if session is not None:
            from obstore.auth.boto3 import Boto3CredentialProvider

            profile = session._session.get_scoped_config()
            region = region or session.region_name
            if not where.endpoint and profile.get("endpoint_url"):
                config["endpoint"] = str(profile["endpoint_url"])
            if not has_keys:
                provider = Boto3CredentialProvider(session)
    config["region"] = region or "us-east-1"
    return config, provider


def _boto3_session() -> Any:
    try:
        import boto3
    except ImportError:
        return None
    return boto3.Session()


def require_obstore(url: str) -> None:
    """A clear error when the client library for cloud datastores is not installed."""
    try:
        import obstore  # noqa: F401
    except ImportError:
        raise UserError(
            f"The datastore URL {url!r} names an object store, and the library ketch reaches "
            "object stores with (obstore) is not installed.",
            hint="Install it with: pip install 'ketch[s3]'",
            headline="Object storage support is not installed",
        ) from None
