"""The ``ui`` command, shared by ``ketch ui`` and ``python flow.py ui``."""

from __future__ import annotations

import click

from ._server import DEFAULT_HOST, DEFAULT_PORT

TOKEN_ENV = "KETCH_UI_TOKEN"
ALLOWED_HOSTS_ENV = "KETCH_UI_ALLOWED_HOSTS"


def _host_names(values: tuple[str, ...]) -> list[str]:
    """``--allow-host`` values; each may list several names, split by commas or spaces."""
    return [name for value in values for name in value.replace(",", " ").split()]


def ui_command(flow_name: str | None = None) -> click.Command:
    """The click command that serves the UI (``flow_name``: open at that flow's page)."""

    @click.command(name="ui", help="Browse this project's runs in a local, read-only web UI.")
    @click.option(
        "--host",
        default=DEFAULT_HOST,
        show_default=True,
        help="Address to listen on; the default lets only this machine connect.",
    )
    @click.option(
        "--port",
        type=click.IntRange(0, 65535),
        default=DEFAULT_PORT,
        show_default=True,
        help="Port (0: any free one).",
    )
    @click.option(
        "--allow-host",
        "allow_hosts",
        multiple=True,
        envvar=ALLOWED_HOSTS_ENV,
        metavar="NAME",
        help="Also answer requests addressed to NAME (a proxy's or a tunnel's host name); "
        f"repeatable. Env: {ALLOWED_HOSTS_ENV} (names separated by commas or spaces).",
    )
    @click.option(
        "--token",
        envvar=TOKEN_ENV,
        metavar="TOKEN",
        default=None,
        help="Every request must carry this token (?token= once, or 'Authorization: Bearer'). "
        f"Env: {TOKEN_ENV}. Default: none on 127.0.0.1, a random one when bound beyond it.",
    )
    @click.option(
        "--no-token",
        is_flag=True,
        help="Bound beyond 127.0.0.1, serve WITHOUT a token: anyone who reaches the port "
        "reads every run. Only behind a proxy that authenticates.",
    )
    @click.pass_context
    def ui(
        ctx: click.Context,
        host: str,
        port: int,
        allow_hosts: tuple[str, ...],
        token: str | None,
        no_token: bool,
    ) -> None:
        from ._server import serve

        if no_token and ctx.get_parameter_source("token") != click.core.ParameterSource.COMMANDLINE:
            token = None  # --no-token overrides a token from the environment
        serve(
            host=host,
            port=port,
            flow=flow_name,
            allow_hosts=_host_names(allow_hosts),
            token=token,
            no_token=no_token,
            echo=click.echo,
            warn=lambda message: click.echo(message, err=True),
        )

    return ui
