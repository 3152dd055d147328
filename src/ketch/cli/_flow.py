"""The flow command line: ``python flow.py run | check | show | dump | logs | tag | card``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .._tags import check_tags
from ..exceptions import KetchException, ParameterError, UserError
from ..settings import resolve
from ..ui import ui_command
from ._compat import EnvOption, apply_datastore, env_name_of, metaflow_top_options
from ._configs import config_options, configure_flow
from ._errors import exit_now, invoke, report
from ._inspect import dump_command, logs_command, tag_group
from ._paths import check_output_file
from ._project import project_fields, project_options


def main(flow_cls: type[Any]) -> None:
    """Entry point used by ``FlowSpec.__init__`` when a flow script is run."""
    flow_file = flow_file_of(flow_cls)
    try:
        cli = build_cli(flow_cls, flow_file, sys.argv[1:])  # checks the flow's parameters
    except KetchException as exc:
        exit_now(report(exc))
    exit_now(invoke(cli, sys.argv[1:], prog_name=flow_file.name))


def flow_file_of(flow_cls: type[Any]) -> Path:
    """The file that defines the flow class (found through its step functions' code, which
    stays right even when ``__main__`` is not the flow script, e.g. under a profiler)."""
    for value in vars(flow_cls).values():
        code = getattr(value, "__code__", None)
        if code is not None and getattr(value, "is_step", False):
            return Path(code.co_filename).resolve()
    module = sys.modules[flow_cls.__module__]
    return Path(getattr(module, "__file__", sys.argv[0])).resolve()


def _say(ctx: click.Context, message: str) -> None:
    """ketch's own messages on stderr, which --quiet drops (as Metaflow's; task output stays)."""
    if not ctx.obj["quiet"]:
        click.echo(message, err=True)


def _graph(
    ctx: click.Context, flow_cls: type[Any], with_specs: tuple[str, ...] = ()
) -> tuple[Any, dict[str, Any]]:
    """Build, lint and check the decorators of the flow; returns (graph, step policies)."""
    from ..flow import parse_with
    from ..flow._config_apply import finish_mutation
    from ..flow._user_decorators import attach_with
    from ..graph import build_graph, lint
    from ..runtime import build_policies

    _say(ctx, "Validating your flow...")
    graph = build_graph(flow_cls)
    lint(graph)
    own = attach_with(flow_cls, list(with_specs))  # user step decorators go on the steps
    finish_mutation(flow_cls)  # the mutators' mutate stage sees them, as in Metaflow
    policies = build_policies(flow_cls, graph, [parse_with(s) for s in own])
    _say(ctx, "    The graph looks good!")
    from ..pyenv import step_requests

    step_requests(flow_cls, policies, _environment(ctx))  # @pypi needs --environment=pypi
    return graph, policies


def _environment(ctx: click.Context) -> str:
    """The run's --environment (Metaflow's option), else the environment setting."""
    return str(ctx.meta.get("ketch.environment") or resolve().environment)


def _with_specs(ctx: click.Context, local: tuple[str, ...]) -> tuple[str, ...]:
    """Run-level --with specs win over top-level ones for the same decorator."""
    names = {s.partition(":")[0] for s in local}
    top = tuple(s for s in ctx.obj["with"] if s.partition(":")[0] not in names)
    return top + local


def _env_option(*decls: str, **attrs: Any) -> Callable[[Any], Any]:
    """``click.option`` whose environment variable may also be ``METAFLOW_...``."""
    return click.option(*decls, cls=EnvOption, **attrs)


def _run_options(func: Any) -> Any:
    """Options shared by ``run`` and ``resume``."""
    for option in reversed(
        [
            _env_option("--tag", "tags", multiple=True, help="Tag the run (repeatable)."),
            _env_option("--max-workers", type=int, default=None, help="Most tasks at once (16)."),
            _env_option(
                "--max-num-splits", type=int, default=None, help="Most tasks per foreach (100)."
            ),
            _env_option(
                "--with",
                "with_specs",
                multiple=True,
                help="Add a decorator to every step: name[:key=value,...].",
            ),
            _env_option("--run-id-file", default=None, help="Write the run id to this file."),
            _env_option(
                "--runner-attribute-file",
                default=None,
                hidden=True,
                help="Write the run's flow, id and store to this file, as JSON (for Runner).",
            ),
            _env_option(
                "--namespace",
                "user_namespace",
                default=None,
                help="The Client's namespace inside the tasks (default: your user; an empty "
                "string sees every run). Tags written are unchanged.",
            ),
            _env_option(
                "--executor",
                default=None,
                help="How tasks start: auto (fork unless unsafe), fork, spawn, or ray (on the "
                "Ray cluster at --ray-address).",
            ),
            _env_option(
                "--ray-address",
                default=None,
                help="The Ray cluster for --executor ray and @on_ray steps (default: RAY_ADDRESS).",
            ),
        ]
    ):
        func = option(func)
    return func


def _settings(
    max_workers: int | None,
    max_num_splits: int | None,
    executor: str | None,
    create: bool,
    ray_address: str | None = None,
) -> Any:
    settings = resolve(
        {
            "max_workers": max_workers,
            "max_num_splits": max_num_splits,
            "executor": executor,
            "ray_address": ray_address,
        },
        create_home=create,
    )
    _validate_limits(settings.max_workers, settings.max_num_splits)
    return settings


if TYPE_CHECKING:
    _ParamTypeBase = click.ParamType[Any]
else:  # ParamType is generic only from click 8.4 on; subscripting it fails before that.
    _ParamTypeBase = click.ParamType


class _JSONParam(_ParamTypeBase):
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
    options: list[click.Option] = []
    for attr, parameter in flow_cls._parameters().items():
        if getattr(parameter, "IS_CONFIG_PARAMETER", False):
            continue  # a top-level --config option, read before the command line is built
        default = parameter.default
        shown = None if callable(default) else default
        options.append(
            EnvOption(
                [f"--{parameter.name}", attr] if attr != parameter.name else [f"--{attr}"],
                env_names=(env_name_of(parameter.name),),
                type=_click_type(parameter),
                required=parameter.required,
                help=parameter.help + (f"  [default: {shown}]" if shown is not None else ""),
            )
        )
    return options


def _resolve_parameters(flow_cls: type[Any], given: dict[str, Any], user: str) -> dict[str, Any]:
    from ..flow._config_apply import applied_configs, config_scope

    configs = applied_configs(flow_cls) or {}
    scope = config_scope(flow_cls, configs)
    values: dict[str, Any] = {}
    for attr, parameter in flow_cls._parameters().items():
        if getattr(parameter, "IS_CONFIG_PARAMETER", False):
            values[attr] = configs.get(attr)
            continue
        value = given.get(attr)
        if value is None:
            value = parameter.resolve_default(flow_cls.__name__, user, scope)
            if isinstance(value, str) and (parameter.type is not str or parameter.separator):
                value = parameter.convert(value)
        elif parameter.separator and isinstance(value, str):
            value = parameter.convert(value)
        if parameter.IS_INCLUDE_FILE:
            value = parameter.load(value)
        values[attr] = value
    return values


class _FlowGroup(click.Group):
    """The flow's commands; those in ``lazy`` are built (and their modules imported) only
    when used or listed, so that ``run`` does not pay for them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, Callable[[], click.Command]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        build = self.lazy.pop(cmd_name, None)
        if build is not None:
            self.add_command(build(), cmd_name)
        return super().get_command(ctx, cmd_name)


def _spin_command(flow_cls: type[Any], flow_file: Path) -> click.Command:
    from ._spin import spin_command

    return spin_command(flow_cls, flow_file)


def _card_group(flow_name: str) -> click.Command:
    from ..cards._cli import card_group

    return card_group(flow_name)


def build_cli(
    flow_cls: type[Any], flow_file: Path, argv: Sequence[str] = (), *, configure: bool = True
) -> click.Group:
    """The flow's command line; the flow's configs are read from ``argv`` (and the
    environment) and applied first, unless ``configure`` is False (the Runner builds the
    command line only to learn its options; the run's own process reads the configs)."""
    from ..settings import current_user

    if configure:
        configure_flow(flow_cls, argv, _COMMANDS, current_user())

    cli = _flow_group(flow_cls)
    _add_graph_commands(cli, flow_cls)
    cli.add_command(_run_command(flow_cls, flow_file))
    cli.add_command(_resume_command(flow_cls, flow_file))
    cli.params.extend(project_options(flow_cls))
    cli.add_command(dump_command(flow_cls.__name__))
    cli.add_command(logs_command(flow_cls.__name__))
    cli.add_command(tag_group(flow_cls.__name__))
    cli.add_command(ui_command(flow_cls.__name__))
    cli.lazy["card"] = lambda: _card_group(flow_cls.__name__)
    cli.lazy["spin"] = lambda: _spin_command(flow_cls, flow_file)
    return cli


def _flow_group(flow_cls: type[Any]) -> _FlowGroup:
    """The flow's top-level command and its options (those before the command)."""

    @click.group(
        cls=_FlowGroup,
        invoke_without_command=True,
        help=(flow_cls.__doc__ or f"Commands of {flow_cls.__name__}.").strip(),
        context_settings={"auto_envvar_prefix": "KETCH"},
    )
    @click.option(
        "--quiet/--not-quiet",
        default=False,
        help="Leave out ketch's own messages (task output is still shown).",
    )
    @click.option("--pylint/--no-pylint", default=False, hidden=True, help="Accepted; unused.")
    @click.option("--with", "with_specs", multiple=True, help="Add a decorator to every step.")
    @click.option(
        "--datastore-url",
        default=None,
        metavar="URL",
        help="Where runs store artifacts, logs and code: a directory or s3://BUCKET/PREFIX "
        "(default: the .ketch directory; also KETCH_DATASTORE_URL).",
    )
    @metaflow_top_options
    @config_options
    @click.pass_context
    def cli(
        ctx: click.Context,
        quiet: bool,
        pylint: bool,
        with_specs: tuple[str, ...],
        datastore_url: str | None,
        config_files: tuple[tuple[str, str], ...],
        config_values: tuple[tuple[str, str], ...],
    ) -> None:
        apply_datastore(ctx, datastore_url)
        ctx.obj = {"quiet": quiet, "with": with_specs}
        if ctx.invoked_subcommand is None:
            click.echo(ctx.get_help())

    assert isinstance(cli, _FlowGroup)
    return cli


def _add_graph_commands(cli: click.Group, flow_cls: type[Any]) -> None:
    """``check``, ``show`` and ``output-dot``: what the flow's graph is."""

    @cli.command(help="Check that the flow's graph is valid.")
    @click.option("--warnings", is_flag=True, hidden=True)
    @click.pass_context
    def check(ctx: click.Context, warnings: bool) -> None:
        _graph(ctx, flow_cls, ctx.obj["with"])

    @cli.command(help="Show the structure of the flow.")
    def show() -> None:
        from ..graph import build_graph, format_show

        click.echo(format_show(build_graph(flow_cls)))

    @cli.command("output-dot", help="Print the flow's graph in Graphviz's dot language.")
    def output_dot() -> None:
        from ..graph import build_graph, format_dot

        click.echo(format_dot(build_graph(flow_cls)), nl=False)


def _run_command(flow_cls: type[Any], flow_file: Path) -> click.Command:
    """``run``: a new run of the flow with its parameters as options."""

    @click.command(help="Run the flow locally.", params=_parameter_options(flow_cls))
    @_run_options
    @click.pass_context
    def run(
        ctx: click.Context,
        /,
        tags: tuple[str, ...],
        max_workers: int | None,
        max_num_splits: int | None,
        with_specs: tuple[str, ...],
        run_id_file: str | None,
        runner_attribute_file: str | None,
        user_namespace: str | None,
        executor: str | None,
        ray_address: str | None,
        **params: Any,
    ) -> None:
        from ..runtime import release_gpu, start_writer

        _check_run_options(tags, run_id_file)
        release_gpu()
        settings = _settings(max_workers, max_num_splits, executor, False, ray_address)
        with start_writer(settings) as writer:  # gets ready while the flow is checked
            _say(ctx, f"ketch executing {flow_cls.__name__} for user:{settings.user}")
            project = project_fields(ctx, flow_cls, settings.user)
            graph, policies = _graph(ctx, flow_cls, _with_specs(ctx, with_specs))
            values = _resolve_parameters(flow_cls, params, settings.user)
            settings = _settings(max_workers, max_num_splits, executor, True, ray_address)
            _execute(
                ctx,
                writer,
                flow_cls,
                flow_file,
                settings=settings,
                graph=graph,
                policies=policies,
                parameters=values,
                tags=tags,
                run_id_file=run_id_file,
                runner_attribute_file=runner_attribute_file,
                namespace=user_namespace,
                **project,
            )

    return run


def _resume_command(flow_cls: type[Any], flow_file: Path) -> click.Command:
    """``resume``: a new run that reuses an earlier run's successful tasks."""

    @click.command(help="Resume the latest run (or --origin-run-id) from its failed step or STEP.")
    @click.argument("step", required=False)
    @click.option("--origin-run-id", default=None, help="The run to resume (default: latest).")
    @_run_options
    @click.pass_context
    def resume(
        ctx: click.Context,
        step: str | None,
        origin_run_id: str | None,
        tags: tuple[str, ...],
        max_workers: int | None,
        max_num_splits: int | None,
        with_specs: tuple[str, ...],
        run_id_file: str | None,
        runner_attribute_file: str | None,
        user_namespace: str | None,
        executor: str | None,
        ray_address: str | None,
    ) -> None:
        from ..metadata import open_store
        from ..runtime import (
            ResumeFrom,
            check_resumable,
            choose_origin,
            release_gpu,
            start_writer,
        )
        from ..settings import require_home

        _check_run_options(tags, run_id_file)
        release_gpu()
        settings = _settings(max_workers, max_num_splits, executor, False, ray_address)
        require_home(settings)
        with start_writer(settings) as writer:
            _say(ctx, f"ketch resuming {flow_cls.__name__} for user:{settings.user}")
            project = project_fields(ctx, flow_cls, settings.user)
            graph, policies = _graph(ctx, flow_cls, _with_specs(ctx, with_specs))
            store = open_store(settings.resolved_metadata_url)
            try:
                origin, rerun = choose_origin(store, graph, origin_run_id, step)
                check_resumable(store, settings.home_path, origin, f"python {flow_file.name} run")
            finally:
                store.close()
            _say(ctx, f"Resuming run {flow_cls.__name__}/{origin}.")
            _execute(
                ctx,
                writer,
                flow_cls,
                flow_file,
                settings=settings,
                graph=graph,
                policies=policies,
                parameters={},
                tags=tags,
                run_id_file=run_id_file,
                runner_attribute_file=runner_attribute_file,
                resume=ResumeFrom(origin, rerun),
                namespace=user_namespace,
                **project,
            )

    return resume


def _execute(
    ctx: click.Context, writer: Any, flow_cls: type[Any], flow_file: Path, **fields: Any
) -> None:
    """Run (or resume) the flow and exit with the run's status."""
    from ..pyenv import prepare_environments
    from ..runtime import RunRequest, execute_run

    settings, resume = fields["settings"], fields.get("resume")
    environment = ctx.meta.get("ketch.environment") or settings.environment  # as above
    origin = None
    if resume is not None and environment in ("pypi", "conda"):
        from ..pyenv import origin_environments

        urls = (settings.resolved_metadata_url, settings.resolved_datastore_url)
        origin = origin_environments(*urls, resume.origin_run_id)
    fields["policies"] = prepare_environments(
        flow_cls,
        fields["policies"],
        environment=environment,
        origin=origin,
        cache=settings.env_cache,
        executor=settings.executor,
        datastore_url=settings.resolved_datastore_url,
        say=lambda line: _say(ctx, line),
    )
    request = RunRequest(flow_cls=flow_cls, flow_file=flow_file, **fields)
    code = execute_run(request, writer)
    if code:
        ctx.exit(code)


# The flow's commands: config options are read from the arguments before the first of these.
_COMMANDS = {"run", "resume", "check", "show", "dump", "logs", "tag", "card", "ui", "step"}


def _check_run_options(tags: tuple[str, ...], run_id_file: str | None) -> None:
    """What ``run`` and ``resume`` check before anything starts or is recorded."""
    check_tags(tags)
    if run_id_file is not None:
        check_output_file(run_id_file, "--run-id-file")


def _validate_limits(max_workers: int, max_num_splits: int) -> None:
    if max_workers < 1:
        raise ParameterError(
            f"--max-workers must be at least 1, got {max_workers}.",
            hint="Pass --max-workers 1 or more.",
        )
    if max_num_splits < 1:
        raise UserError(f"--max-num-splits must be at least 1, got {max_num_splits}.")
