"""The ``ketch`` command: the flow verbs with the flow file as argument, plus ``ketch runs``."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from ..ui import ui_command
from ._ci import ci_group
from ._errors import exit_now, invoke

FLOW_VERBS = ("run", "resume", "check", "show", "output-dot", "dump", "logs", "tag")


def _flow_verb(verb: str) -> click.Command:
    @click.command(
        name=verb,
        help=(
            f"'{verb}' a flow: ketch {verb} FLOW_FILE [ARGS]... (same as python FLOW_FILE {verb})."
        ),
        context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
        add_help_option=False,
    )
    @click.argument("flow_file", type=click.Path())
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(flow_file: str, args: tuple[str, ...]) -> None:
        from ..flow._load import load_flow_class
        from ._configs import move_config_options
        from ._flow import build_cli

        flow_cls = load_flow_class(flow_file)
        top, rest = move_config_options(args)  # ketch run flow.py --config cfg c.json ...
        argv = [*top, verb, *rest]
        cli = build_cli(flow_cls, Path(flow_file).resolve(), argv)
        sys.argv = [flow_file, *argv]
        exit_now(invoke(cli, argv, prog_name=Path(flow_file).name))

    return command


@click.group(help="ketch: Metaflow-compatible workflows at the speed of the machine.")
@click.version_option(package_name="ketch")
def cli() -> None:
    pass


for _verb in FLOW_VERBS:
    cli.add_command(_flow_verb(_verb))
cli.add_command(ui_command())
cli.add_command(ci_group())


@cli.command(help="List the most recent runs of this project.")
@click.option("--flow", "flow_name", default=None, help="Only runs of this flow.")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--all-users", is_flag=True, help="Include other users' runs.")
def runs(flow_name: str | None, limit: int, all_users: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..client._context import backend
    from ..metadata import effective_status
    from ..settings import resolve

    store = backend().store
    user_tag = f"user:{resolve().user}"
    records = [
        r
        for r in store.list_runs(flow_name, limit=None if not all_users else limit)
        if all_users or user_tag in r.system_tags
    ][:limit]
    table = Table(box=None, header_style="bold")
    for column in ("run", "status", "started", "duration", "user", "tags"):
        table.add_column(column)
    for r in records:
        started = datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M:%S")
        duration = f"{r.finished_at - r.created_at:.1f}s" if r.finished_at else "-"
        table.add_row(
            f"{r.flow_name}/{r.run_id}",
            effective_status(r),
            started,
            duration,
            r.user,
            ", ".join(sorted(r.tags)),
        )
    if not records:
        click.echo("No runs yet. Start one with: python flow.py run")
        return
    Console().print(table)


def main() -> None:
    exit_now(invoke(cli, sys.argv[1:], prog_name="ketch"))
