"""``--branch`` and ``--production``: the top-level options a flow with ``@project`` has."""

from __future__ import annotations

from typing import Any

import click

from ..flow._current import set_flow_fields
from ..flow._project import ProjectDecorator, project_of
from ._compat import EnvOption

_BRANCH, _PRODUCTION = "ketch.project_branch", "ketch.project_production"


def _keep(key: str) -> Any:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        ctx.meta[key] = value

    return callback


def project_options(flow_cls: type[Any]) -> list[click.Option]:
    """The options ``@project`` adds to the flow's command line (none without it); they also
    read ``KETCH_BRANCH`` / ``METAFLOW_BRANCH`` and ``KETCH_PRODUCTION`` /
    ``METAFLOW_PRODUCTION``."""
    if project_of(flow_cls) is None:
        return []
    return [
        EnvOption(
            ["--branch"],
            default=None,
            expose_value=False,
            callback=_keep(_BRANCH),
            help="Run in this @project branch (test.<branch>, or prod.<branch> with "
            "--production). Default: user.<your user name>.",
        ),
        EnvOption(
            ["--production"],
            is_flag=True,
            default=False,
            expose_value=False,
            callback=_keep(_PRODUCTION),
            help="Run in the @project's production branch (prod).",
        ),
    ]


def project_fields(ctx: click.Context, flow_cls: type[Any], user: str) -> dict[str, Any]:
    """What ``@project`` adds to a run (``RunRequest`` fields), said on the console; also
    set in ``current`` of this process, for parameters' default functions. Empty without
    ``@project``."""
    deco: ProjectDecorator | None = project_of(flow_cls)
    if deco is None:
        return {}
    info = deco.resolve(
        flow_cls.__name__,
        branch=ctx.find_root().meta.get(_BRANCH),
        production=bool(ctx.find_root().meta.get(_PRODUCTION)),
        user=user,
    )
    if not ctx.obj["quiet"]:
        click.echo(f"Project: {info.project_name}, Branch: {info.branch_name}", err=True)
    fields = info.current_fields()
    set_flow_fields(fields)
    return {"extra_system_tags": tuple(info.system_tags()), "flow_fields": fields}
