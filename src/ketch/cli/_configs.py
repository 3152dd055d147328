"""The flow's ``Config`` values on the command line: ``--config NAME PATH`` and
``--config-value NAME JSON``, top-level options placed before the command.

They are read from the arguments before the command line is built (:func:`configure_flow`),
because a config may set a parameter's default or a decorator's argument, which the command
line and the checks must already see. click declares them too (:func:`config_options`), so
that they show in ``--help`` and are accepted where they stand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from ..exceptions import ConfigError
from ..settings import flow_config_env

_OPTIONS = ("--config", "--config-value")


def split_config_args(
    argv: Sequence[str], commands: set[str]
) -> tuple[dict[str, str], dict[str, str], str | None]:
    """(files, values, command): the config options given before the command, and the
    command (the first argument that names one)."""
    files: dict[str, str] = {}
    values: dict[str, str] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in commands:
            return files, values, arg
        if arg in _OPTIONS:
            if i + 2 >= len(argv):
                raise ConfigError(
                    f"{arg} needs two arguments, a config name and a "
                    f"{'path' if arg == '--config' else 'value'}.",
                    hint=f"Pass {arg} NAME {'PATH' if arg == '--config' else 'JSON'} before "
                    "the command.",
                )
            (files if arg == "--config" else values)[argv[i + 1]] = argv[i + 2]
            i += 3
            continue
        i += 1
    return files, values, None


def configure_flow(flow_cls: type, argv: Sequence[str], commands: set[str], user: str) -> None:
    """Read the flow's config values and apply them to the class (once per process)."""
    from ..flow._config_apply import applied_configs, apply_configs, flow_configs, read_configs

    if applied_configs(flow_cls) is not None:
        return
    files, values, command = split_config_args(argv, commands)
    if command == "resume":
        if files or values:
            raise ConfigError(
                "--config and --config-value cannot be given to 'resume'.",
                hint="resume uses the configs of the run it resumes; start a new run to "
                "change them.",
            )
        origin = origin_configs(flow_cls, argv) if flow_configs(flow_cls) else None
        if origin is not None:
            apply_configs(flow_cls, origin, mutate=False)
            return
        # No run to resume: the configs are read as for run; resume then says what is wrong.
    if not flow_configs(flow_cls):
        apply_configs(flow_cls, {}, mutate=False)
        if files or values:
            raise ConfigError(
                f"{flow_cls.__name__} has no configs, but --config or --config-value was given.",
                hint="Declare one in the flow: cfg = Config('cfg', ...).",
            )
        return
    env_files, env_values = flow_config_env()  # each option replaces its own variable
    files, values = files or env_files, values or env_values
    apply_configs(flow_cls, read_configs(flow_cls, files, values, user=user), mutate=False)


def config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The two top-level options, for ``--help`` (their values were read already)."""
    func = click.option(
        "--config-value",
        "config_values",
        nargs=2,
        multiple=True,
        metavar="NAME JSON",
        help="The value of a Config of the flow (repeatable; also KETCH_FLOW_CONFIG_VALUE).",
    )(func)
    return click.option(
        "--config",
        "config_files",
        nargs=2,
        multiple=True,
        metavar="NAME PATH",
        help="A file holding the value of a Config (repeatable; also KETCH_FLOW_CONFIG).",
    )(func)


def origin_configs(flow_cls: type, argv: Sequence[str]) -> dict[str, Any] | None:
    """For ``resume``: the config values the run it resumes stored (``--origin-run-id`` in
    ``argv``, else the latest run), so that decorators see what they saw in that run; None
    when there is no such run (resume then reports it)."""
    from ..datastore import load_artifact, open_blobs
    from ..exceptions import KetchException
    from ..flow._config_apply import flow_configs
    from ..graph import build_graph
    from ..metadata import open_store
    from ..runtime import choose_origin
    from ..settings import resolve

    try:
        settings = resolve({})
        store = open_store(settings.resolved_metadata_url)
        try:
            wanted = _option_value(argv, "--origin-run-id")
            origin, _ = choose_origin(store, build_graph(flow_cls), wanted, None)
            stored = {a.name: a.key for task, a in store.iter_run_artifacts(origin) if task == 0}
        finally:
            store.close()
        blobs = open_blobs(settings.resolved_datastore_url, read_only=True)
        configs = flow_configs(flow_cls)
        return {attr: load_artifact(blobs, stored[attr]) for attr in configs if attr in stored}
    except KetchException:
        return None


def _option_value(argv: Sequence[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.partition("=")[2]
    return None


def move_config_options(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(config options, the other arguments): ``ketch run flow.py --config cfg c.json`` takes
    them after the flow file, where ``python flow.py`` takes them before the command."""
    top: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        if args[i] in _OPTIONS and i + 2 < len(args):
            top += args[i : i + 3]
            i += 3
        else:
            rest.append(args[i])
            i += 1
    return top, rest
