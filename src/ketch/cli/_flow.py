"""The flow command line: ``python flow.py run | check | show | dump | logs | tag``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..exceptions import ParameterError, UserError
from ..settings import resolve
from ._errors import invoke
from ._inspect import dump_command, logs_command, tag_group


def main(flow_cls: type[Any]) -> None:
    """Entry point used by ``FlowSpec.__init__`` when a flow script is run."""
    module = sys.modules[flow_cls.__module__]
    flow_file = Path(getattr(module, "__file__", sys.argv[0])).resolve()
    cli = build_cli(flow_cls, flow_file)
    sys.exit(invoke(cli, sys.argv[1:], prog_name=flow_file.name))


def _graph(flow_cls: type[Any], *, announce: bool = True) -> Any:
    from ..graph import build_graph, lint

    if announce:
        click.echo("Validating your flow...", err=True)
    graph = build_graph(flow_cls)
    lint(graph)
    if announce:
        click.echo("    The graph looks good!", err=True)
    return graph


class _JSONParam(click.ParamType):
    name = "JSON"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        import json

        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            self.fail(f"{value!r} is not valid JSON: {exc}", param, ctx)


def _click_type(parameter: Any) -> Any:
    from ..flow import JSONType

    if parameter.IS_INCLUDE_FILE:
        return click.STRING
    if parameter.type is JSONType:
        return _JSONParam()
    return {int: click.INT, float: click.FLOAT, bool: click.BOOL}.get(parameter.type, click.STRING)


def _parameter_options(flow_cls: type[Any]) -> list[click.Option]:
    options = []
    for attr, parameter in flow_cls._parameters().items():
        default = parameter.default
        shown = None if callable(default) else default
        options.append(
            click.Option(
                [f"--{parameter.name}", attr] if attr != parameter.name else [f"--{attr}"],
                type=_click_type(parameter),
                required=parameter.required,
                help=parameter.help + (f"  [default: {shown}]" if shown is not None else ""),
            )
        )
    return options


def _resolve_parameters(flow_cls: type[Any], given: dict[str, Any], user: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for attr, parameter in flow_cls._parameters().items():
        value = given.get(attr)
        if value is None:
            value = parameter.resolve_default(flow_cls.__name__, user)
            if isinstance(value, str) and (parameter.type is not str or parameter.separator):
                value = parameter.convert(value)
        elif parameter.separator and isinstance(value, str):
            value = parameter.convert(value)
        if parameter.IS_INCLUDE_FILE:
            value = parameter.load(value)
        values[attr] = value
    return values


def build_cli(flow_cls: type[Any], flow_file: Path) -> click.Group:
    @click.group(
        invoke_without_command=True,
        help=(flow_cls.__doc__ or f"Commands of {flow_cls.__name__}.").strip(),
        context_settings={"auto_envvar_prefix": "KETCH"},
    )
    @click.option("--quiet/--not-quiet", default=False, help="Print less.")
    @click.option("--pylint/--no-pylint", default=False, hidden=True, help="Accepted; unused.")
    @click.pass_context
    def cli(ctx: click.Context, quiet: bool, pylint: bool) -> None:
        ctx.obj = {"quiet": quiet}
        if ctx.invoked_subcommand is None:
            click.echo(ctx.get_help())

    @cli.command(help="Check that the flow's graph is valid.")
    @click.option("--warnings", is_flag=True, hidden=True)
    def check(warnings: bool) -> None:
        _graph(flow_cls)

    @cli.command(help="Show the structure of the flow.")
    def show() -> None:
        from ..graph import build_graph, format_show

        click.echo(format_show(build_graph(flow_cls)))

    @cli.command(help="Run the flow locally.", params=_parameter_options(flow_cls))
    @click.option("--tag", "tags", multiple=True, help="Tag the run (repeatable).")
    @click.option("--max-workers", type=int, default=None, help="Most tasks at once (16).")
    @click.option("--max-num-splits", type=int, default=None, help="Most tasks per foreach (100).")
    @click.option("--run-id-file", default=None, help="Write the run id to this file.")
    @click.option("--namespace", "user_namespace", default=None, help="Client namespace.")
    @click.option("--executor", type=click.Choice(["fork", "spawn"]), default=None)
    @click.pass_context
    def run(
        ctx: click.Context,
        tags: tuple[str, ...],
        max_workers: int | None,
        max_num_splits: int | None,
        run_id_file: str | None,
        user_namespace: str | None,
        executor: str | None,
        **params: Any,
    ) -> None:
        from ..runtime import RunRequest, execute_run

        settings = resolve(
            {"max_workers": max_workers, "max_num_splits": max_num_splits, "executor": executor},
            create_home=False,
        )
        _validate_limits(settings.max_workers, settings.max_num_splits)
        click.echo(f"ketch executing {flow_cls.__name__} for user:{settings.user}", err=True)
        graph = _graph(flow_cls)
        values = _resolve_parameters(flow_cls, params, settings.user)
        settings = resolve(
            {"max_workers": max_workers, "max_num_splits": max_num_splits, "executor": executor},
            create_home=True,
        )
        request = RunRequest(
            flow_cls=flow_cls,
            graph=graph,
            flow_file=flow_file,
            settings=settings,
            parameters=values,
            tags=tags,
            run_id_file=run_id_file,
            quiet=ctx.obj["quiet"],
        )
        code = execute_run(request)
        if code:
            ctx.exit(code)

    cli.add_command(dump_command(flow_cls.__name__))
    cli.add_command(logs_command(flow_cls.__name__))
    cli.add_command(tag_group(flow_cls.__name__))
    return cli


def _validate_limits(max_workers: int, max_num_splits: int) -> None:
    if max_workers < 1:
        raise ParameterError(
            f"--max-workers must be at least 1, got {max_workers}.", hint="Pass --max-workers 1 or more."
        )
    if max_num_splits < 1:
        raise UserError(f"--max-num-splits must be at least 1, got {max_num_splits}.")
