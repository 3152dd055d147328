"""Metaflow's command-line conventions that the flow CLI accepts.

Two things: the top-level options Metaflow's ``start`` group takes (``--metadata=local``,
``--datastore=local``...), accepted with the values that mean what ketch does and refused with
a :class:`~ketch.exceptions.UserError` otherwise; and ``METAFLOW_<COMMAND>_<OPTION>``
environment variables, read like ``KETCH_<COMMAND>_<OPTION>`` (the ``KETCH_`` one wins).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from ..exceptions import UserError

_STORE_HINT = (
    " ketch keeps runs in the nearest .ketch directory (or where KETCH_HOME points); "
    "KETCH_METADATA_URL may name a PostgreSQL database shared by a team."
)

# option -> (the value ketch supports, what ketch does instead of the others)
_TOP_OPTIONS: dict[str, tuple[str, str]] = {
    "metadata": (
        "local",
        "The {value} metadata provider is not supported yet: ketch records runs in its own "
        "metadata store.",
    ),
    "datastore": (
        "local",
        "ketch stores artifacts in a directory (local) or an object store (s3); the {value} "
        "datastore is not supported.",
    ),
    "environment": (
        "local|pypi|conda|uv",
        "ketch builds step environments with uv: --environment=pypi or conda builds each "
        "step's @pypi/@conda one; local and uv run every step in the interpreter that runs "
        "the flow.",
    ),
    "event_logger": ("nullSidecarLogger", "ketch has no event logger sidecar to choose."),
    "monitor": ("nullSidecarMonitor", "ketch has no monitor sidecar to choose."),
}


def _check_top_option(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None or param.name is None:
        return
    supported, instead = _TOP_OPTIONS[param.name]
    if param.name == "datastore" and value == "s3":
        ctx.meta["ketch.datastore"] = value  # checked with --datastore-root (apply_datastore)
        return
    if param.name == "environment" and value in supported.split("|"):
        ctx.meta["ketch.environment"] = value  # beats the environment setting (see run)
        return
    if value != supported:
        flag = param.opts[0]
        store = _STORE_HINT if param.name in ("metadata", "datastore") else ""
        raise UserError(
            f"{flag}={value} is not supported. " + instead.format(value=value),
            hint=f"Pass {flag}={supported} or leave the option out.{store}",
            headline=f"Unsupported {flag}",
        )


def _keep_datastore_root(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta["ketch.datastore_root"] = value


def apply_datastore(ctx: click.Context, datastore_url: str | None) -> None:
    """Make the datastore that ``--datastore-url`` (or Metaflow's ``--datastore=s3
    --datastore-root=s3://...``) names the one of this command, its tasks and its reads.

    It is set as ``KETCH_DATASTORE_URL`` in this process's environment: the flag then beats
    the environment and ``pyproject.toml`` as any flag does, and reaches every subcommand and
    the task processes without being passed along.
    """
    root = ctx.meta.get("ketch.datastore_root")
    if root is not None:
        if "://" not in root or root.startswith("file://"):
            raise UserError(
                f"--datastore-root={root} is not supported for a directory.",
                hint=f"Set KETCH_HOME={root} instead (the .ketch directory that holds the "
                "runs), or give an object store: --datastore=s3 --datastore-root=s3://BUCKET/PREFIX.",
                headline="Unsupported --datastore-root",
            )
        datastore_url = datastore_url or root
    if ctx.meta.get("ketch.datastore") == "s3":
        chosen = datastore_url or os.environ.get("KETCH_DATASTORE_URL", "")
        if not chosen.startswith("s3://"):
            raise UserError(
                "--datastore=s3 needs the bucket to store runs in.",
                hint="Pass --datastore-root=s3://BUCKET/PREFIX (or --datastore-url), or set "
                "KETCH_DATASTORE_URL=s3://BUCKET/PREFIX.",
                headline="No S3 datastore given",
            )
    if datastore_url:
        os.environ["KETCH_DATASTORE_URL"] = datastore_url


_TOP_HELP = {
    "datastore": "Metaflow's choice of datastore: local, or s3 with --datastore-root.",
    "environment": "pypi or conda: run each step in its @pypi/@conda environment (built with "
    "uv); local (default) or uv: in the interpreter that runs the flow.",
}


def metaflow_top_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add Metaflow's top-level options (accepted and checked; none changes what ketch does)."""
    for name, (supported, _) in reversed(_TOP_OPTIONS.items()):
        flag = "--" + name.replace("_", "-")
        func = click.option(
            flag,
            name,
            default=None,
            expose_value=False,
            callback=_check_top_option,
            metavar="local|s3" if name == "datastore" else supported,
            help=_TOP_HELP.get(name, f"Accepted for Metaflow compatibility: only {supported!r}."),
        )(func)
    return click.option(
        "--datastore-root",
        default=None,
        expose_value=False,
        callback=_keep_datastore_root,
        metavar="s3://BUCKET/PREFIX",
        help="With --datastore=s3: where runs are stored (as --datastore-url).",
    )(func)


class EnvOption(click.Option):
    """An option that also reads ``METAFLOW_<COMMAND>_<NAME>`` when no ``KETCH_`` variable
    is set, as Metaflow's CLI reads it.

    ``env_names`` replaces the ``<NAME>`` part for both prefixes (flow parameters are named
    by the parameter's name, as in Metaflow, rather than by the attribute that holds it).
    """

    def __init__(self, *args: Any, env_names: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env_names = env_names

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        prefix = ctx.auto_envvar_prefix
        if self.envvar or not self.allow_from_autoenv or not prefix or not self.name:
            return super().resolve_envvar_value(ctx)
        names = self.env_names or (self.name.upper(),)
        rest = prefix.removeprefix("KETCH")
        candidates = [f"{prefix}_{n}" for n in names]
        candidates.append(f"{prefix}_{self.name.upper()}")  # click's own name for it
        if rest != prefix:
            candidates += [f"METAFLOW{rest}_{n}" for n in names]
        for envvar in candidates:
            value = os.environ.get(envvar)
            if value:
                return value
        return None


def env_name_of(name: str) -> str:
    """The ``<NAME>`` part of a parameter's environment variable: ``learning-rate`` ->
    ``LEARNING_RATE`` (what click derives from ``--learning-rate``)."""
    return name.replace("-", "_").upper()
