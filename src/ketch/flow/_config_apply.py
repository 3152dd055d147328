"""Resolve a flow's ``Config`` values and apply them to the flow class.

:func:`read_configs` finds each config's value (command line, environment, defaults) and
:func:`apply_configs` then fixes the class: delayed config expressions in step decorators,
flow decorators and parameter defaults become values, and mutators run. Both happen once per
class and process, before the flow is checked; a task process forked from the one that did it
inherits the result, and another one (spawn, a remote worker) applies the values the run
stored (see :func:`ensure_configs`).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..exceptions import ConfigError, UserError
from ._config import UNPACK_PREFIX, Config, ConfigValue, DelayedValue
from ._parameters import Parameter, ParameterContext

# Where flow decorators (@project...) are kept on the class: their recorded arguments hold
# config expressions to resolve, as step decorators' do.
FLOW_DECORATORS_ATTRIBUTE = "__ketch_flow_decorators__"
# flow class -> attribute -> resolved value (plain JSON-like data), once applied.
_APPLIED: dict[type, dict[str, Any]] = {}
_MUTATED: set[type] = set()  # classes whose mutators' mutate stage ran


def flow_configs(flow_cls: type) -> dict[str, Config]:
    """Attribute name -> ``Config`` of the flow class."""
    params: dict[str, Parameter] = flow_cls._parameters()  # type: ignore[attr-defined]
    return {attr: p for attr, p in params.items() if isinstance(p, Config)}


def applied_configs(flow_cls: type) -> dict[str, Any] | None:
    """The values applied to the class (attribute -> value), or None when not yet applied."""
    return _APPLIED.get(flow_cls)


def config_scope(flow_cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Names a config expression sees: each config by name and by attribute."""
    scope: dict[str, Any] = {}
    for attr, config in flow_configs(flow_cls).items():
        value = config.load_parameter(values.get(attr))
        scope[config.name] = scope[attr] = value
    return scope


# -- reading values -----------------------------------------------------------------------------
def read_configs(
    flow_cls: type,
    files: Mapping[str, str],
    texts: Mapping[str, Any],
    *,
    user: str = "",
) -> dict[str, Any]:
    """Each config's value: from ``texts`` (name -> JSON text or value), from ``files`` (name
    -> path), from its ``default`` file, else from its ``default_value``.

    Raises :class:`ConfigError` naming every config that is wrong at once.
    """
    configs = flow_configs(flow_cls)
    by_name = {c.name: attr for attr, c in configs.items()}
    errors = [
        f"'{name}' is not a config of {flow_cls.__name__}"
        for name in sorted({*files, *texts} - set(by_name))
    ]
    both = sorted(set(files) & set(texts))
    errors += [f"both a file and a value are given for config '{n}'" for n in both]
    values: dict[str, Any] = {}
    for attr, config in configs.items():
        ctx = ParameterContext(flow_cls.__name__, user, config.name)
        try:
            values[attr] = _read_one(config, files.get(config.name), texts.get(config.name), ctx)
        except ConfigError as exc:
            errors.append(exc.detail)
    if errors:
        known = ", ".join(sorted(by_name)) or "none"
        raise ConfigError(
            "; ".join(errors) + ".",
            hint=f"Configs of {flow_cls.__name__}: {known}. Give each one with --config NAME "
            "PATH or --config-value NAME JSON, before the command.",
        )
    return values


def _read_one(config: Config, file: str | None, text: Any, ctx: ParameterContext) -> Any:
    if text is not None:
        return _parse(config, text, "the value")
    if file is not None:
        return _parse(config, _read_file(config, file), f"file '{file}'")
    default_file = config.default_file
    if callable(default_file):
        default_file = default_file(ctx)
    if default_file is not None:
        return _parse(config, _read_file(config, str(default_file), "default "), "default file")
    default = config.default_value
    if callable(default):
        default = default(ctx)
    if default is not None:
        return _parse(config, default, "default_value")
    if config.required:
        raise ConfigError(f"config '{config.name}' is required and has no value")
    return None


def _read_file(config: Config, path: str, kind: str = "") -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(
            f"{kind}file '{path}' of config '{config.name}' cannot be read ({reason})"
        ) from None


def _parse(config: Config, raw: Any, where: str) -> Any:
    if isinstance(raw, str):
        parser = resolve_parser(config)
        if parser is None and config.plain:
            return raw  # plain without a parser: the text as given, as in Metaflow
        try:
            raw = parser(raw) if parser else json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{where} of config '{config.name}' is not valid JSON ({exc})"
            ) from None
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(
                f"the parser of config '{config.name}' failed on {where} "
                f"({type(exc).__name__}: {exc})"
            ) from None
    if isinstance(raw, ConfigValue):
        raw = raw.to_dict()
    if not config.plain and raw is not None and not isinstance(raw, Mapping):
        raise ConfigError(
            f"{where} of config '{config.name}' is a {type(raw).__name__}, not a JSON object; "
            "a config holds a dict unless it is declared with plain=True"
        )
    return raw


def resolve_parser(config: Config) -> Callable[[str], Any] | None:
    parser = config.parser
    if parser is None or callable(parser):
        return parser
    name = f"ketch{parser}" if parser.startswith(".") else parser
    module, _, attr = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(module or "ketch"), attr)
    except (ImportError, AttributeError):
        raise ConfigError(
            f"the parser '{parser}' of config '{config.name}' cannot be imported"
        ) from None
    return found  # type: ignore[no-any-return]


# -- applying values ----------------------------------------------------------------------------
def apply_configs(flow_cls: type, values: Mapping[str, Any], *, mutate: bool = True) -> None:
    """Fix the flow class with the config values (once per class and process): resolve
    config expressions and run the mutators' ``pre_mutate``, then (unless ``mutate`` is
    False: the command line calls :func:`finish_mutation` once ``--with`` is attached) their
    ``mutate``."""
    if flow_cls in _APPLIED:
        return
    values = dict(values)
    _APPLIED[flow_cls] = values
    from ._mutators import run_mutators

    scope = config_scope(flow_cls, values)
    _resolve_decorators(flow_cls, scope)
    run_mutators(flow_cls, values, pre=True)
    _resolve_after_mutators(flow_cls, scope)
    if mutate:
        finish_mutation(flow_cls)


def finish_mutation(flow_cls: type) -> None:
    """The mutators' ``mutate`` stage (once per class and process), after ``pre_mutate``
    and after ``--with`` decorators are attached, as in Metaflow."""
    from ._mutators import run_mutators

    values = _APPLIED.get(flow_cls)
    if values is None or flow_cls in _MUTATED:
        return
    _MUTATED.add(flow_cls)
    run_mutators(flow_cls, values, pre=False)
    _resolve_after_mutators(flow_cls, config_scope(flow_cls, values))


def _resolve_after_mutators(flow_cls: type, scope: Mapping[str, Any]) -> None:
    _resolve_decorators(flow_cls, scope)  # also those the mutators added
    for parameter in flow_cls._parameters().values():  # type: ignore[attr-defined]
        if not isinstance(parameter, Config):
            _resolve_parameter(parameter, scope)


def _resolve_decorators(flow_cls: type, scope: Mapping[str, Any]) -> None:
    for name in dir(flow_cls):
        func = getattr(flow_cls, name, None)
        if getattr(func, "is_step", False):
            for deco in getattr(func, "decorators", []):
                resolve_decorator(deco, scope)
    for deco in _flow_decorators(flow_cls):
        resolve_decorator(deco, scope)


def _flow_decorators(flow_cls: type) -> list[Any]:
    """Flow-level decorators recorded on the class, wherever the flow package keeps them."""
    found: list[Any] = []
    for attr in (FLOW_DECORATORS_ATTRIBUTE, "_flow_decorators"):
        held = getattr(flow_cls, attr, None)
        if isinstance(held, Mapping):
            for value in held.values():
                found.extend(value if isinstance(value, list) else [value])
        elif isinstance(held, (list, tuple)):
            found.extend(held)
    return found


def resolve_decorator(deco: Any, scope: Mapping[str, Any]) -> None:
    """Resolve the config expressions in a decorator's recorded arguments, in place."""
    for field in ("given", "attributes"):
        held = getattr(deco, field, None)
        if isinstance(held, dict):
            try:
                resolved = resolve_arguments(held, scope)
            except UserError as exc:
                where = getattr(deco, "origin", "")
                raise UserError(
                    f"{exc.detail.rstrip('.')}, in the arguments of {deco!r}"
                    + (f" ({where})." if where else "."),
                    hint=exc.hint,
                    headline=exc.headline,
                ) from None
            held.update(resolved)
            for key in [k for k in held if isinstance(k, str) and k.startswith(UNPACK_PREFIX)]:
                del held[key]


def resolve_arguments(arguments: Mapping[str, Any], scope: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments with config expressions evaluated and ``**config`` unpacked."""
    result: dict[str, Any] = {}
    for key, value in arguments.items():
        if isinstance(key, str) and key.startswith(UNPACK_PREFIX):
            unpacked = resolve_delayed(value, scope)
            if isinstance(unpacked, Mapping):
                result.update(_plain(unpacked))
            continue
        result[key] = resolve_delayed(value, scope)
    return result


def resolve_delayed(value: Any, scope: Mapping[str, Any]) -> Any:
    """``value`` with every config expression in it (also in containers) evaluated."""
    if isinstance(value, Config):
        value = value._delayed()
    if isinstance(value, DelayedValue):
        return _plain(value.evaluate(scope))
    if isinstance(value, dict) and not isinstance(value, ConfigValue):
        return {resolve_delayed(k, scope): resolve_delayed(v, scope) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return type(value)(resolve_delayed(v, scope) for v in value)
    return value


def _plain(value: Any) -> Any:
    return value.to_dict() if isinstance(value, ConfigValue) else value


def _resolve_parameter(parameter: Parameter, scope: Mapping[str, Any]) -> None:
    for attr in ("default", "help", "required", "separator"):
        value = getattr(parameter, attr, None)
        if isinstance(value, (DelayedValue, Config)):
            setattr(parameter, attr, resolve_delayed(value, scope))
            if attr == "default" and parameter.type is str:
                parameter.type = Parameter._infer_type(None, parameter.default)


def ensure_configs(
    flow_cls: type, load: Callable[[str], Any], names: set[str], with_specs: list[str]
) -> None:
    """In a task process that did not resolve the configs itself: apply the values the run
    stored (``load(attribute)``; ``names`` are the stored artifacts) and attach the user
    step decorators given by ``--with`` (``with_specs``), as the run's own process did."""
    if flow_cls in _APPLIED:
        return
    from ._user_decorators import attach_with

    configs = flow_configs(flow_cls)
    values = {attr: load(attr) if attr in names else None for attr in configs}
    apply_configs(flow_cls, values, mutate=False)
    attach_with(flow_cls, with_specs)
    finish_mutation(flow_cls)
