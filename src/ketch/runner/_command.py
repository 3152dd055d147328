"""Python keyword arguments -> the flow's command line, read off the flow's own click CLI.

``Runner(..., quiet=True).run(alpha=0.5, tags=["a", "b"])`` becomes
``flow.py --quiet run --alpha 0.5 --tag a --tag b``: every keyword is looked up among the
options of the top-level group (``Runner(**kwargs)``) or of the subcommand (``run(**kwargs)``),
by its Python name (``max_workers``), its flag (``max-workers``), or Metaflow's name for it
(``decospecs``, ``tags``). A keyword the command does not have, or a value of the wrong type,
raises :class:`~ketch.exceptions.RunnerError` here, before any process starts.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..exceptions import ConfigError, RunnerError, RunnerOptionError, RunnerTypeError

# Metaflow's Python names for options that ketch names otherwise.
_ALIASES = {
    "with": "with_specs",
    "decospecs": "with_specs",
    "tag": "tags",
    "namespace": "user_namespace",
    "step_to_rerun": "step",
}
# Options the Runner sets itself.
_OWN = {"runner_attribute_file"}


@dataclass(frozen=True)
class FlowCommand:
    """The click CLI of one flow file, and the flow's name."""

    flow_name: str
    cli: click.Group

    def argv(self, top: dict[str, Any], command: str, options: dict[str, Any]) -> list[str]:
        """``[*top-level options, command, *command options]``."""
        sub = self.cli.get_command(click.Context(self.cli), command)
        if sub is None:
            raise RunnerError(f"The flow's command line has no '{command}' command.")
        head = _to_argv(self.cli.params, top, "Runner()")
        return [*head, command, *_to_argv(sub.params, options, f"{command}()")]


_loaded: dict[tuple[str, float], FlowCommand] = {}


def flow_command(flow_file: Path) -> FlowCommand:
    """Import ``flow_file`` (under a private module name, not ``__main__``: its
    ``if __name__ == "__main__"`` block does not run) and build its CLI; once per file version."""
    key = (str(flow_file), flow_file.stat().st_mtime)
    found = _loaded.get(key)
    if found is None:
        found = _loaded[key] = _build(flow_file)
    return found


def _build(flow_file: Path) -> FlowCommand:
    from ..cli._flow import build_cli
    from ..flow._load import find_flow_class

    name = f"_ketch_runner_{len(_loaded)}_{flow_file.stem}"
    spec = importlib.util.spec_from_file_location(name, flow_file)
    if spec is None or spec.loader is None:
        raise RunnerError(f"'{flow_file}' is not a Python file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # for dataclasses and pickles made while the module runs
    sys.path.insert(0, str(flow_file.parent))  # the flow's own imports, as when it is run
    try:
        spec.loader.exec_module(module)
    except SystemExit:
        raise RunnerError(
            f"Importing {flow_file} ran its flow's command line (a FlowSpec() call at its top "
            "level).",
            hint='Put the call under if __name__ == "__main__": as flow files do.',
        ) from None
    except Exception as exc:
        raise RunnerError(
            f"Importing {flow_file} raised {type(exc).__name__}: {exc}",
            hint=f"Run 'python {flow_file.name} check' to see the error in full.",
        ) from None
    finally:
        sys.path.remove(str(flow_file.parent))
    flow_cls = find_flow_class(module)
    try:
        cli = build_cli(flow_cls, flow_file)
    except ConfigError:  # e.g. a required config: the run is given it (config_value=...)
        cli = build_cli(flow_cls, flow_file, configure=False)
    return FlowCommand(flow_cls.__name__, cli)


def _table(params: list[click.Parameter]) -> dict[str, click.Parameter]:
    table: dict[str, click.Parameter] = {}
    for param in params:
        for opt in param.opts:
            table[opt.lstrip("-").replace("-", "_")] = param
        if param.name:
            table[param.name] = param
    return table


def _to_argv(params: list[click.Parameter], given: dict[str, Any], where: str) -> list[str]:
    table = _table(params)
    argv: list[str] = []
    positional: list[str] = []
    for key, value in given.items():
        param = table.get(key) or table.get(_ALIASES.get(key, ""))
        if param is None or param.name in _OWN:
            known = sorted({p.name for p in params if p.name and not _hidden(p)} - _OWN)
            raise RunnerOptionError(
                f"{where} got an unknown option '{key}'.",
                hint=f"The options it takes: {', '.join(known)}.",
            )
        if value is None:
            continue
        if isinstance(param, click.Argument):
            positional.append(str(value))
        else:
            assert isinstance(param, click.Option)
            argv += _option_argv(param, key, value, where)
    return argv + positional


def _hidden(param: click.Parameter) -> bool:
    return bool(getattr(param, "hidden", False))


def _option_argv(param: click.Option, key: str, value: Any, where: str) -> list[str]:
    flag = max(param.opts, key=len)
    if param.is_flag:
        _check_type(key, value, bool, where)
        if value:
            return [flag]
        return [max(param.secondary_opts, key=len)] if param.secondary_opts else []
    if param.nargs == 2:  # config=[(name, path)], config_value=[(name, dict)], as Metaflow's
        return _pairs(flag, key, value, where)
    values = list(value) if param.multiple and isinstance(value, (list, tuple, set)) else [value]
    argv: list[str] = []
    for item in values:
        argv += [flag, _text(param.type, key, item, where)]
    return argv


def _pairs(flag: str, key: str, value: Any, where: str) -> list[str]:
    """``--config NAME PATH`` / ``--config-value NAME JSON`` from (name, value) pairs or a
    dict; a value that is not text (a dict, a ConfigValue) is written as JSON."""
    pairs = list(value.items()) if isinstance(value, dict) else list(value)
    argv: list[str] = []
    for pair in pairs:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise RunnerTypeError(
                f"{where} option '{key}' expects (name, value) pairs, got {pair!r}.",
                hint=f'Pass {key}=[("cfg", ...)] or {key}={{"cfg": ...}}.',
            )
        name, item = pair
        argv += [flag, str(name), item if isinstance(item, str) else json.dumps(item)]
    return argv


def _text(kind: Any, key: str, value: Any, where: str) -> str:
    """The command-line text of ``value`` for an option of click type ``kind``."""
    if kind.name == "JSON":  # a JSONType parameter: any JSON value, or its text
        return value if isinstance(value, str) else json.dumps(value)
    expected: Any = {"integer": int, "float": (int, float), "boolean": bool}.get(kind.name)
    if expected is None:
        expected = (str, int, float)
    _check_type(key, value, expected, where)
    return str(value)


def _check_type(key: str, value: Any, expected: Any, where: str) -> None:
    wrong_bool = isinstance(value, bool) and expected in (int, (int, float))
    if wrong_bool or not isinstance(value, expected):
        names = (
            expected.__name__
            if isinstance(expected, type)
            else " or ".join(t.__name__ for t in expected)
        )
        raise RunnerTypeError(
            f"{where} option '{key}' expects {names}, got {type(value).__name__} {value!r}.",
            hint=f"Pass {key}=<{names}>.",
        )
