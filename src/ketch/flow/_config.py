"""``Config``, ``ConfigValue`` and ``config_expr``: values fixed before the flow is processed.

A ``Config`` is read when the command starts (``--config NAME PATH``, ``--config-value NAME
JSON``, the environment, or its defaults), before the flow's decorators and parameters are
looked at. Until then, ``cfg.a.b`` written in the class body (in a decorator's arguments, a
parameter's default) is a :class:`DelayedValue` that records the access; once the values are
known, :func:`resolve_delayed` turns it into the value (see ``_config_apply``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..exceptions import FlowDefinitionError, UserError
from ._parameters import Parameter

# Key under which ``**cfg`` puts the unresolved config in a call's keyword arguments.
UNPACK_PREFIX = "__ketch_unpack_"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ConfigValue(dict):  # type: ignore[type-arg]
    """An immutable, dict-like config value whose keys are also attributes.

    Nested dicts are ``ConfigValue`` too; ``to_dict()`` gives plain dicts back. Any attempt to
    change it raises ``TypeError("ConfigValue is immutable")``.

    Examples
    --------
    >>> cfg = ConfigValue({"model": {"layers": 3}})
    >>> cfg.model.layers, cfg["model"]["layers"]
    (3, 3)
    """

    def __init__(self, data: Mapping[Any, Any] | None = None) -> None:
        super().__init__({k: _wrap(v) for k, v in (data or {}).items()})

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("ConfigValue is immutable")

    def __delattr__(self, name: str) -> None:
        raise TypeError("ConfigValue is immutable")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError("ConfigValue is immutable")

    def __delitem__(self, key: Any) -> None:
        raise TypeError("ConfigValue is immutable")

    def _immutable(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("ConfigValue is immutable")

    clear = pop = popitem = setdefault = update = __ior__ = _immutable

    def to_dict(self) -> dict[Any, Any]:
        """A plain (mutable) ``dict`` copy, nested values included."""
        return {k: _unwrap(v) for k, v in self.items()}

    def copy(self) -> ConfigValue:
        return self

    def __copy__(self) -> ConfigValue:
        return self

    def __deepcopy__(self, memo: Any) -> ConfigValue:
        return self

    def __reduce__(self) -> Any:
        return (ConfigValue, (self.to_dict(),))

    def __repr__(self) -> str:
        return repr(self.to_dict())

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *(k for k in self if isinstance(k, str))]


def _wrap(value: Any) -> Any:
    if isinstance(value, dict) and not isinstance(value, ConfigValue):
        return ConfigValue(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, ConfigValue):
        return value.to_dict()
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


class DelayedValue(Mapping[str, Any]):
    """An expression over config values, evaluated once the values are known.

    Attribute and item access on it (``cfg.a["b"]``) are recorded, and ``**delayed`` in a
    call puts one entry whose key starts with ``UNPACK_PREFIX``; both are resolved later.
    """

    _expr: str
    _namespace: Mapping[str, Any] | None
    _path: tuple[Any, ...]
    _direct: bool

    def __init__(
        self,
        expr: str,
        namespace: Mapping[str, Any] | None = None,
        path: tuple[Any, ...] = (),
        *,
        direct: bool = False,
    ) -> None:
        object.__setattr__(self, "_expr", expr)
        object.__setattr__(self, "_namespace", namespace)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_direct", direct)  # expr is a config's name, not code

    def _extend(self, key: Any) -> DelayedValue:
        expr = self._expr
        if not self._direct and self._path == () and not _IDENTIFIER.fullmatch(expr):
            expr = f"({expr})"  # config_expr("a or b").x: access on the whole expression
        return DelayedValue(expr, self._namespace, (*self._path, key), direct=self._direct)

    def __getattr__(self, name: str) -> DelayedValue:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._extend(name)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str) and key == self._unpack_key:
            return self
        return self._extend(("item", key))

    @property
    def _unpack_key(self) -> str:
        return f"{UNPACK_PREFIX}{id(self)}"

    def __iter__(self) -> Iterator[str]:
        yield self._unpack_key

    def __len__(self) -> int:
        return 1

    def evaluate(self, configs: Mapping[str, Any]) -> Any:
        """The value of the expression, with ``configs`` (name -> value) in scope."""
        scope = dict(self._namespace or {})
        try:
            if self._direct:
                value = configs[self._expr]
            else:
                value = eval(self._expr, scope, dict(configs))  # noqa: S307 - the flow's code
        except Exception as exc:
            raise UserError(
                f"Config expression '{self._expr}' could not be evaluated: "
                f"{type(exc).__name__}: {exc}.",
                hint="Use the names of the flow's Configs, e.g. config_expr('cfg.key').",
                headline="Bad config expression",
            ) from None
        for key in self._path:
            value = _access(value, key, self._expr)
        return value

    def __repr__(self) -> str:
        return f"config_expr({self._expr!r})" + "".join(
            f"[{k[1]!r}]" if isinstance(k, tuple) else f".{k}" for k in self._path
        )


def _access(value: Any, key: Any, expr: str) -> Any:
    try:
        if isinstance(key, tuple):
            return value[key[1]]
        return value[key] if isinstance(value, dict) else getattr(value, key)
    except (KeyError, AttributeError, TypeError, IndexError):
        shown = key[1] if isinstance(key, tuple) else key
        raise UserError(
            f"Config expression '{expr}': the config has no key {shown!r}.",
            hint="Check the keys of the config value.",
            headline="Bad config expression",
        ) from None


def config_expr(expr: str) -> DelayedValue:
    """An expression over the flow's configs, evaluated once their values are known.

    Use it where a config attribute is not in scope (a flow decorator above the class) or for
    more than attribute access. The expression is evaluated in the module that calls
    ``config_expr``, with the configs (by name) as local variables.

    Examples
    --------
    >>> @retry(times=config_expr("cfg.retries"))     # doctest: +SKIP
    ... @step
    ... def start(self): ...
    """
    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    return DelayedValue(expr, caller.f_globals if caller is not None else None)


class Config(Parameter, Mapping[str, Any]):
    """A configuration of the flow, fixed before the flow is processed.

    Its value comes from ``--config NAME PATH`` or ``--config-value NAME JSON`` (top-level
    options, before ``run``), else from ``KETCH_FLOW_CONFIG`` / ``KETCH_FLOW_CONFIG_VALUE``
    (or Metaflow's ``METAFLOW_FLOW_CONFIG...``), else from the ``default`` file, else from
    ``default_value``. Steps see it as a read-only :class:`ConfigValue` (or, with
    ``plain=True``, the parsed object as is); in the class body, ``cfg.key`` may be used in
    decorator arguments and parameter defaults.

    Parameters
    ----------
    name : str
        The name given to ``--config`` / ``--config-value``.
    default : str or callable, optional
        A file to read when no value is given (a callable gets a ``ParameterContext`` and
        returns the path).
    default_value : str, dict or callable, optional
        The value when neither a value nor a file is given; a string is parsed.
    help : str, optional
        Shown by ``--help``.
    required : bool, optional
        Refuse to start without a value.
    parser : callable or str, optional
        Turns the text into a value (default: JSON); a dotted name is imported, and a name
        that starts with "." is relative to ``ketch`` (``".yaml_parser"``).
    plain : bool, optional
        Give the parsed object as is instead of a ``ConfigValue``.

    Examples
    --------
    >>> class TrainFlow(FlowSpec):                  # doctest: +SKIP
    ...     cfg = Config("cfg", default="config.json")
    ...     @resources(cpu=cfg.cpu)
    ...     @step
    ...     def start(self):
    ...         print(self.cfg.model.layers)
    """

    IS_CONFIG_PARAMETER = True

    def __init__(
        self,
        name: str,
        default: str | Callable[[Any], str] | None = None,
        default_value: Any = None,
        help: str | None = None,
        required: bool | None = None,
        parser: Callable[[str], Any] | str | None = None,
        plain: bool = False,
        **kwargs: Any,
    ) -> None:
        if default is not None and default_value is not None:
            raise FlowDefinitionError(
                f"Config '{name}' is given both default= and default_value=.",
                hint="Give a default file (default=) or a default value (default_value=).",
            )
        super().__init__(name, default=None, type=str, help=help, required=required, **kwargs)
        self.required = bool(required)
        self.default_file = default
        self.default_value = default_value
        self.parser = parser
        self.plain = plain

    def load_parameter(self, value: Any) -> Any:
        """What a step sees for the stored value."""
        if value is None or self.plain:
            return value
        return ConfigValue(value) if isinstance(value, Mapping) else value

    def _delayed(self) -> DelayedValue:
        return DelayedValue(self.name, direct=True)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in _CONFIG_FIELDS or name in _PROBED:
            raise AttributeError(name)
        return getattr(self._delayed(), name)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str) and key.startswith(UNPACK_PREFIX):
            return self._unpacked
        return self._delayed()[key]

    @property
    def _unpacked(self) -> DelayedValue:
        found = self.__dict__.get("_unpack_evaluator")
        if found is None:
            found = self.__dict__["_unpack_evaluator"] = self._delayed()
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._unpacked)

    def __len__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"Config({self.name!r})"


# Attributes ketch looks for on class attributes (is it a step?): never config keys here.
_PROBED = frozenset({"is_step", "decorators", "step_start", "step_end", "is_mutator"})
_CONFIG_FIELDS = frozenset(
    {"default_file", "default_value", "parser", "plain", "kwargs", "defined_at", "_unpacked"}
)
