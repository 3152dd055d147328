"""Run parameters: ``Parameter``, ``JSONType`` and ``IncludeFile``."""

from __future__ import annotations

import json
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import FlowDefinitionError, ParameterError

_PACKAGE = str(Path(__file__).resolve().parent.parent) + "/"


class _JSONTypeClass:
    """Parameter type whose command-line value is parsed as JSON."""

    name = "JSON"

    def convert(self, value: Any, param_name: str) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ParameterError(
                f"Invalid value for '--{param_name}': {value!r} is not valid JSON ({exc}).",
                hint="Quote the value in the shell, e.g. --" + param_name + " '{\"a\": 1}'.",
            ) from None

    def __repr__(self) -> str:
        return "JSONType"


JSONType = _JSONTypeClass()


@dataclass(frozen=True)
class ParameterContext:
    """What a callable default receives (the fields of Metaflow's ``ParameterContext``)."""

    flow_name: str
    user_name: str
    parameter_name: str
    logger: Callable[..., None] = print
    ds_type: str = "local"
    configs: Any = None


_RESERVED = {
    "params",
    "with",
    "tag",
    "namespace",
    "obj",
    "tags",
    "decospecs",
    "run-id-file",
    "max-num-splits",
    "max-workers",
    "max-log-size",
    "user-namespace",
    "run-id",
    "task-id",
    "runner-attribute-file",
}


def _definition_site() -> tuple[str, int] | None:
    """(file, line) of the code that called ``Parameter(...)``: the first frame outside ketch."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
    return None if frame is None else (frame.f_code.co_filename, frame.f_lineno)


def check_parameter_names(parameters: dict[str, Parameter]) -> None:
    """Refuse a parameter whose name is one of the run command's own options."""
    for attr, parameter in parameters.items():
        if parameter.name.replace("_", "-") not in _RESERVED:
            continue
        where = ""
        if parameter.defined_at is not None:
            where = f" ({parameter.defined_at[0]}, line {parameter.defined_at[1]})"
        held = f" of attribute '{attr}'" if attr != parameter.name else ""
        raise FlowDefinitionError(
            f"Parameter '{parameter.name}'{held}{where} has a name that ketch's command line "
            f"uses itself (--{parameter.name}).",
            hint=f"Rename the parameter. Reserved names: {', '.join(sorted(_RESERVED))}.",
            headline="Reserved parameter name",
        )


class Parameter:
    """A flow parameter, set on the command line as ``--name value``.

    Parameters
    ----------
    name : str
        The command-line name (``--name``).
    default : any, optional
        The value when none is given; a callable is called with a :class:`ParameterContext`
        when the run starts.
    type : type, optional
        ``str``, ``int``, ``float``, ``bool`` or ``JSONType``; inferred from ``default``.
    help : str, optional
        Shown by ``python flow.py run --help``.
    required : bool, optional
        The run refuses to start without a value (ignored when there is a default).

    Examples
    --------
    >>> class TrainFlow(FlowSpec):
    ...     alpha = Parameter("alpha", default=0.01, help="learning rate")
    """

    IS_INCLUDE_FILE = False

    def __init__(
        self,
        name: str,
        default: Any = None,
        type: Any = None,
        help: str | None = None,
        required: bool | None = None,
        show_default: bool | None = True,
        separator: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.name = name
        self.default = default
        self.help = help or ""
        self.required = bool(required) and default is None
        self.show_default = show_default
        self.separator = separator
        self.kwargs = kwargs
        self.type = self._infer_type(type, default)
        # Where the flow defines it: a reserved name is reported when the flow's parameters
        # are read (see check_parameter_names), not here, where an error would be a
        # traceback from the middle of the flow file's import.
        self.defined_at = _definition_site()

    @staticmethod
    def _infer_type(type_: Any, default: Any) -> Any:
        if type_ is not None:
            return type_
        if default is None or callable(default):
            return str
        if isinstance(default, bool):
            return bool
        if isinstance(default, (int, float, str)):
            return builtins_type(default)
        return JSONType if isinstance(default, (dict, list)) else str

    def convert(self, value: Any) -> Any:
        """Convert a command-line string into the parameter's type."""
        if self.type is JSONType:
            return JSONType.convert(value, self.name)
        if self.separator and isinstance(value, str):
            return [self._convert_one(v) for v in value.split(self.separator)]
        return self._convert_one(value)

    def _convert_one(self, value: Any) -> Any:
        if not isinstance(value, str) or self.type is str:
            return value
        try:
            if self.type is bool:
                return _parse_bool(value)
            return self.type(value)
        except (TypeError, ValueError):
            type_name = getattr(self.type, "__name__", str(self.type))
            raise ParameterError(
                f"Invalid value for '--{self.name}': {value!r} is not a valid {type_name}.",
                hint=f"Pass a {type_name}, e.g. --{self.name} <{type_name}>.",
            ) from None

    def resolve_default(self, flow_name: str, user_name: str, configs: Any = None) -> Any:
        if callable(self.default):
            ctx = ParameterContext(flow_name, user_name, self.name, configs=_configs_view(configs))
            return self.convert(self.default(ctx))
        return self.default

    def __repr__(self) -> str:
        return f"Parameter({self.name!r}, default={self.default!r})"


def _configs_view(configs: Any) -> Any:
    """``ParameterContext.configs``: the flow's configs by name, with attribute access."""
    if configs is None:
        return None
    from ._config import ConfigValue

    return ConfigValue(configs)


def builtins_type(value: Any) -> Callable[[str], Any]:
    constructor: Callable[[str], Any] = type(value)
    return constructor


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "t", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "f", "no", "n", "off"):
        return False
    raise ValueError(value)


# The most bytes an IncludeFile reads unless it says otherwise (its ``max_bytes``): the
# content is held in memory, by the run's start and by every task that reads it.
INCLUDE_FILE_MAX_BYTES = 1 << 30


class IncludeFile(Parameter):
    """A parameter naming a local file whose content is stored with the run.

    The file is read when the run starts; steps see its content (``str``, or ``bytes`` with
    ``is_text=False``, or what ``parser`` returns) as a read-only artifact. It must be a
    regular file (or a pipe, as ``<(command)`` gives) of at most ``max_bytes`` bytes
    (default 1 GiB; ketch's addition to Metaflow's arguments).
    """

    IS_INCLUDE_FILE = True

    def __init__(
        self,
        name: str,
        required: bool | None = None,
        is_text: bool | None = None,
        encoding: str | None = None,
        help: str | None = None,
        parser: Callable[[Any], Any] | str | None = None,
        default: Any = None,
        max_bytes: int = INCLUDE_FILE_MAX_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, default=default, type=str, help=help, required=required, **kwargs)
        self.is_text = True if is_text is None else is_text
        self.encoding = encoding or "utf-8"
        self.parser = parser
        self.max_bytes = max_bytes

    def convert(self, value: Any) -> Any:
        return value

    def load(self, path: Any) -> Any:
        """Read the file named on the command line (a snapshot taken at run start)."""
        if path is None:
            return None
        raw = self._read(Path(str(path)).expanduser(), str(path))
        content: Any = raw.decode(self.encoding) if self.is_text else raw
        parser = _resolve_parser(self.parser)
        return parser(content) if parser else content

    def _read(self, file: Path, shown: str) -> bytes:
        """The file's bytes: a regular file or a pipe, and no more than ``max_bytes``."""
        try:
            info = file.stat()
            mode = info.st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
                raise ParameterError(
                    f"Invalid value for '--{self.name}': '{shown}' is {_kind(mode)}, not a "
                    "regular file.",
                    hint="Pass the path of a regular file.",
                )
            if stat.S_ISREG(mode) and info.st_size > self.max_bytes:
                raise self._too_big(shown)
            with file.open("rb") as fh:
                raw = fh.read(self.max_bytes + 1)
        except OSError as exc:
            raise ParameterError(
                f"Invalid value for '--{self.name}': cannot read file '{shown}' ({exc.strerror}).",
                hint="Pass the path of an existing, readable file.",
            ) from None
        if len(raw) > self.max_bytes:
            raise self._too_big(shown)
        return raw

    def _too_big(self, shown: str) -> ParameterError:
        return ParameterError(
            f"Invalid value for '--{self.name}': '{shown}' is larger than "
            f"{_bytes(self.max_bytes)}, the most IncludeFile '{self.name}' reads.",
            hint=f"Pass a smaller file, or raise the limit where the flow defines it: "
            f"IncludeFile({self.name!r}, max_bytes=...).",
        )


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def _resolve_parser(parser: Callable[[Any], Any] | str | None) -> Callable[[Any], Any] | None:
    if parser is None or callable(parser):
        return parser
    module, _, attr = parser.rpartition(".")
    import importlib

    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
