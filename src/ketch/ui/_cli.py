"""The ``ui`` command, shared by ``ketch ui`` and ``python flow.py ui``."""

from __future__ import annotations

import click

from ._server import DEFAULT_HOST, DEFAULT_PORT


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
        "--port", type=int, default=DEFAULT_PORT, show_default=True, help="Port (0: any free one)."
    )
    def ui(host: str, port: int) -> None:
        from ._server import serve

        serve(host=host, port=port, flow=flow_name, echo=click.echo)

    return ui
