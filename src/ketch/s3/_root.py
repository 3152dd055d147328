"""Where ``S3(run=...)`` keeps a run's data: ``<datatools root>/<FlowName>/<run_id>``.

The datatools root is ``KETCH_DATATOOLS_S3ROOT`` (or Metaflow's ``METAFLOW_DATATOOLS_S3ROOT``)
when set, else ``<datastore URL>/data`` when the run's datastore is on S3; read when an ``S3``
is made, never at import.
"""

from __future__ import annotations

import os
from typing import Any

from ._errors import MetaflowS3URLException

ROOT_VARIABLES = ("KETCH_DATATOOLS_S3ROOT", "METAFLOW_DATATOOLS_S3ROOT")


def run_root(run: Any, bucket: str | None, prefix: str | None) -> str:
    """The ``s3://`` root of ``run`` (the running flow's ``self``, or a Client ``Run``);
    ``bucket`` and ``prefix`` replace those of the datatools root, as in Metaflow."""
    flow_name, run_id, datastore_url = _identify(run)
    root = datatools_root(datastore_url)
    rest = root[len("s3://") :]
    root_bucket, _, root_prefix = rest.partition("/")
    parts = [prefix or root_prefix, flow_name, run_id]
    path = "/".join(part.strip("/") for part in parts if part.strip("/"))
    return f"s3://{bucket or root_bucket}/{path}"


def _identify(run: Any) -> tuple[str, str, str]:
    """The flow name, run id and datastore URL of ``run``."""
    from ..flow import FlowSpec
    from ..flow._current import task_context

    if isinstance(run, FlowSpec):
        ctx = task_context()
        if ctx is None:
            raise MetaflowS3URLException(
                "Initializing S3 with a FlowSpec outside of a running flow is not supported.",
                hint="Inside a step, write S3(run=self); elsewhere pass a Client Run "
                "(S3(run=Run('Flow/123'))) or an s3root.",
            )
        return ctx.flow_name, ctx.run_id, ctx.datastore_url
    pathspec = getattr(run, "pathspec", None)
    if not isinstance(pathspec, str) or pathspec.count("/") != 1:
        raise MetaflowS3URLException(
            f"S3(run=...) takes the running flow (self) or a Client Run, not {run!r}.",
            hint="Pass run=self inside a step, or run=Run('FlowName/run_id').",
        )
    flow_name, run_id = pathspec.split("/")
    record = getattr(run, "_record", None)
    return flow_name, run_id, str(getattr(record, "datastore_url", None) or "")


def datatools_root(datastore_url: str = "") -> str:
    """The datatools root, from the variables or from ``datastore_url`` (the run's; the
    settings' when empty)."""
    for name in ROOT_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value:
            if not value.startswith("s3://") or len(value) <= len("s3://"):
                raise MetaflowS3URLException(
                    f"{name} is {value!r}, which is not an s3://BUCKET/PREFIX URL.",
                    hint=f"Set {name} to the S3 prefix under which runs keep their data.",
                )
            return value.rstrip("/")
    if not datastore_url:
        from ..settings import resolve

        datastore_url = resolve().resolved_datastore_url
    if datastore_url.startswith("s3://"):
        return f"{datastore_url.rstrip('/')}/data"
    raise MetaflowS3URLException(
        "S3(run=...) needs an S3 prefix for the data of runs, and the run's datastore "
        f"({datastore_url}) is not on S3.",
        hint="Set KETCH_DATATOOLS_S3ROOT=s3://BUCKET/PREFIX (METAFLOW_DATATOOLS_S3ROOT is "
        "read too), or pass S3(s3root='s3://BUCKET/PREFIX').",
    )
