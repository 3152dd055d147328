"""Step decorators: ``@retry``, ``@catch``, ``@timeout``, ``@environment``, ``@resources``,
``@card``, ``@parallel`` (a gang step), and where a step runs: ``@on_ray`` (on the Ray
cluster) and ``@local``.

A decorator only records its arguments on the step function; they are checked when the flow
is checked (``validate``), so a bad argument is reported like a lint error, with file and line,
instead of as a traceback at import. ``--with name:key=value,...`` attaches one to every step.
"""

from __future__ import annotations

import json
import numbers
import re
import sys
from collections.abc import Callable
from typing import Any, ClassVar

from ..exceptions import DecoratorError

MAX_ATTEMPTS = 6


class ArgumentsDecorator:
    """What step and flow decorators share: a name, declared defaults, the given arguments and
    their check, reported as a user error naming the decorator, its target and its line."""

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    allow_multiple: ClassVar[bool] = False  # may a target carry several (told apart by key())?
    target: ClassVar[str] = ""  # "step" or "flow", for messages

    def __init__(self, *, _origin: str = "", **attributes: Any) -> None:
        self.given = dict(attributes)
        self.attributes = {**self.defaults, **attributes}
        self.origin = _origin  # "file:line" of the decorator, or "--with"

    def validate(self, target_name: str) -> None:
        """Check the arguments (raises :class:`~ketch.exceptions.DecoratorError`)."""
        unknown = sorted(set(self.given) - set(self.defaults))
        if unknown:
            self.fail(
                target_name,
                f"got unknown argument(s) {', '.join(unknown)}",
                f"@{self.name} accepts {', '.join(self.defaults) or 'no arguments'}.",
            )
        self.check(target_name)

    def check(self, target_name: str) -> None:
        """Subclasses check their own arguments here."""

    def fail(self, target_name: str, what: str, hint: str) -> None:
        where = f" ({self.origin})" if self.origin else ""
        raise DecoratorError(
            f"@{self.name} on {self.target} '{target_name}'{where} {what}.", hint=hint
        )


class StepDecorator(ArgumentsDecorator):
    """Base class of step decorators."""

    target = "step"

    def _number(self, step: str, key: str, *, minimum: float = 0, integer: bool = False) -> float:
        value = self.attributes[key]
        valid = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if integer:
            valid = valid and float(value).is_integer()
        if not valid or value < minimum:
            kind = "an integer" if integer else "a number"
            self.fail(step, f"{key}={value!r} is invalid", f"{key} must be {kind} >= {minimum}.")
        return float(value)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "attributes": self.attributes}

    def key(self) -> str:
        """What makes two decorators on one step the same one (for duplicates and --with)."""
        return self.name

    def __repr__(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.given.items())
        return f"@{self.name}" + (f"({args})" if args else "")


class RetryDecorator(StepDecorator):
    name = "retry"
    defaults = {"times": 3, "minutes_between_retries": 2}

    def check(self, step_name: str) -> None:
        times = self._number(step_name, "times", integer=True)
        self._number(step_name, "minutes_between_retries")
        if times > MAX_ATTEMPTS - 2:
            self.fail(
                step_name,
                f"times={int(times)} is too large",
                f"At most {MAX_ATTEMPTS - 2} retries are allowed.",
            )


class CatchDecorator(StepDecorator):
    name = "catch"
    defaults = {"var": None, "print_exception": True}

    def check(self, step_name: str) -> None:
        var = self.attributes["var"]
        if var is not None and (not isinstance(var, str) or not var.isidentifier()):
            self.fail(step_name, f"var={var!r} is invalid", "var names an attribute, e.g. 'error'.")


class TimeoutDecorator(StepDecorator):
    name = "timeout"
    defaults = {"seconds": 0, "minutes": 0, "hours": 0}

    def check(self, step_name: str) -> None:
        total = sum(
            self._number(step_name, k) * m
            for k, m in (("seconds", 1), ("minutes", 60), ("hours", 3600))
        )
        if total <= 0:
            self.fail(
                step_name,
                "has a zero timeout",
                "Give seconds=, minutes= or hours= a positive value.",
            )

    @property
    def seconds(self) -> float:
        a = self.attributes
        return float(a["seconds"]) + 60 * float(a["minutes"]) + 3600 * float(a["hours"])


class EnvironmentDecorator(StepDecorator):
    name = "environment"
    defaults: ClassVar[dict[str, Any]] = {"vars": {}}

    def check(self, step_name: str) -> None:
        env = self.attributes["vars"]
        if not isinstance(env, dict) or not all(isinstance(k, str) for k in env):
            self.fail(step_name, f"vars={env!r} is invalid", "vars is a dict of name -> value.")


class ResourcesDecorator(StepDecorator):
    name = "resources"
    defaults = {"cpu": 1, "gpu": None, "disk": None, "memory": 4096, "shared_memory": None}

    def check(self, step_name: str) -> None:
        self._number(step_name, "cpu", minimum=0)
        self._number(step_name, "memory", minimum=1)
        for key in ("gpu", "disk", "shared_memory"):
            if self.attributes[key] is not None:
                self._number(step_name, key, minimum=0, integer=key == "gpu")


RAY_STRATEGIES = ("DEFAULT", "SPREAD")


class OnRayDecorator(StepDecorator):
    """``@on_ray``: run this step's tasks on the Ray cluster (the rest of the run stays where it
    is). ``cpu``, ``gpu`` and ``memory`` (MB) add to ``@resources`` (the larger value wins, as
    with Metaflow's ``@kubernetes``); ``resources`` are custom Ray resources such as
    ``{"accelerator_type:H100": 1}``; ``runtime_env`` is a Ray runtime environment for the task's
    worker; ``scheduling_strategy`` is Ray's ``"DEFAULT"`` (fill the nodes in turn) or
    ``"SPREAD"`` (spread the step's tasks over the nodes). Named so that it does not shadow a
    flow's own ``import ray``."""

    name = "on_ray"
    defaults: ClassVar[dict[str, Any]] = {
        "cpu": None,
        "gpu": None,
        "memory": None,
        "resources": {},
        "runtime_env": None,
        "scheduling_strategy": "DEFAULT",
    }

    def check(self, step_name: str) -> None:
        for key in ("cpu", "gpu", "memory"):
            if self.attributes[key] is not None:
                minimum = 1 if key == "memory" else 0
                self._number(step_name, key, minimum=minimum, integer=key == "gpu")
        custom = self.attributes["resources"]
        valid = isinstance(custom, dict) and all(
            isinstance(k, str) and _amount(v) for k, v in custom.items()
        )
        if not valid:
            self.fail(
                step_name,
                f"resources={custom!r} is invalid",
                'resources maps Ray resource names to amounts, e.g. {"accelerator_type:H100": 1}.',
            )
        env = self.attributes["runtime_env"]
        if env is not None and not isinstance(env, dict):
            self.fail(
                step_name,
                f"runtime_env={env!r} is invalid",
                'runtime_env is a dict, as for Ray, e.g. {"pip": ["polars"]}.',
            )
        strategy = self.attributes["scheduling_strategy"]
        if strategy not in RAY_STRATEGIES:
            self.fail(
                step_name,
                f"scheduling_strategy={strategy!r} is invalid",
                f"Use one of: {', '.join(RAY_STRATEGIES)}.",
            )


def _amount(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value) >= 0


class LocalDecorator(StepDecorator):
    """``@local``: run this step's tasks on the launching machine, also under
    ``--executor ray`` or ``--with on_ray``."""

    name = "local"


GANG_STRATEGIES = ("PACK", "SPREAD", "STRICT_SPREAD", "STRICT_PACK")


class ParallelDecorator(StepDecorator):
    """``@parallel``: the step runs as a gang of ``num_parallel`` tasks that start together
    (see ``docs/parallel.md``). ``placement`` tells a cluster executor how to place the gang
    (Ray's placement group strategies); a local run ignores it."""

    name = "parallel"
    defaults: ClassVar[dict[str, Any]] = {"placement": "PACK"}

    def check(self, step_name: str) -> None:
        if self.attributes["placement"] not in GANG_STRATEGIES:
            self.fail(
                step_name,
                f"placement={self.attributes['placement']!r} is invalid",
                f"Use one of: {', '.join(GANG_STRATEGIES)}.",
            )


CARD_TYPES = ("default", "blank")
_CARD_ID = re.compile(r"[A-Za-z0-9_]+")


class CardDecorator(StepDecorator):
    """``@card``: render an HTML card after the step; see :mod:`ketch.cards`."""

    name = "card"
    allow_multiple = True
    defaults: ClassVar[dict[str, Any]] = {
        "type": "default",
        "id": None,
        "options": {},
        "timeout": 45,
        "refresh_interval": 5,
        "customize": False,
        "save_errors": True,
    }

    def check(self, step_name: str) -> None:
        a = self.attributes
        if a["type"] not in CARD_TYPES:
            self.fail(
                step_name, f"type={a['type']!r} is unknown", f"Card types: {', '.join(CARD_TYPES)}."
            )
        card_id = a["id"]
        if card_id is not None and not (isinstance(card_id, str) and _CARD_ID.fullmatch(card_id)):
            self.fail(
                step_name,
                f"id={card_id!r} is invalid",
                "A card id is a name of letters, digits and _, e.g. 'summary'.",
            )
        if not isinstance(a["options"], dict):
            self.fail(step_name, f"options={a['options']!r} is invalid", "options is a dict.")
        if self._number(step_name, "timeout") <= 0:
            self.fail(step_name, "has a zero timeout", "Give timeout= a positive number.")
        self._number(step_name, "refresh_interval")

    def key(self) -> str:
        return f"card(type={self.attributes['type']}, id={self.attributes['id']})"


class ExceptionWrapper(Exception):
    """A picklable record of the exception a step raised, as in Metaflow.

    ``@catch(var=...)`` stores one, and ``Task.exception`` returns one for a failed task.
    ``type`` is the qualified class name (``"builtins.ValueError"``), ``exception`` the message
    (``str()`` of the exception) and ``stacktrace`` the traceback text (empty when none was
    recorded). ``str()`` is the traceback, or ``"[no stacktrace]"`` and the summary line.
    It is an ``Exception`` (it can be raised again), and it unpickles without the class of
    the original exception.

    Examples
    --------
    >>> err = ExceptionWrapper("builtins.KeyError", "'row'")
    >>> err.summary
    "builtins.KeyError: 'row'"
    >>> print(err)
    [no stacktrace]
    builtins.KeyError: 'row'
    """

    def __init__(self, type_name: str, message: str, stacktrace: str = "") -> None:
        super().__init__(type_name, message, stacktrace)
        self.type = type_name
        self.exception = message
        self.stacktrace = stacktrace

    @classmethod
    def of(cls, exc: BaseException, stacktrace: str) -> ExceptionWrapper:
        return cls(f"{type(exc).__module__}.{type(exc).__qualname__}", str(exc), stacktrace)

    @property
    def summary(self) -> str:
        """``"type: message"`` on one line (the message may span more)."""
        return f"{self.type}: {self.exception}"

    def __str__(self) -> str:
        return self.stacktrace or f"[no stacktrace]\n{self.summary}"

    def __repr__(self) -> str:
        return f"ExceptionWrapper({self.type!r}, {self.exception!r})"


DECORATORS: dict[str, type[StepDecorator]] = {
    cls.name: cls
    for cls in (
        RetryDecorator,
        CatchDecorator,
        TimeoutDecorator,
        EnvironmentDecorator,
        ResourcesDecorator,
        CardDecorator,
        OnRayDecorator,
        LocalDecorator,
        ParallelDecorator,
    )
}


def _origin() -> str:
    """file:line of the code that applied the decorator (two frames up)."""
    try:
        frame = sys._getframe(2)
    except ValueError:
        return ""
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _factory(cls: type[StepDecorator]) -> Callable[..., Any]:
    def decorator(func: Any = None, **attributes: Any) -> Any:
        origin = _origin()

        def attach(f: Any) -> Any:
            if not hasattr(f, "decorators"):
                f.decorators = []
            f.decorators.append(cls(_origin=origin, **attributes))
            return f

        return attach(func) if callable(func) else attach

    decorator.__name__ = cls.name
    decorator.__doc__ = f"The @{cls.name} step decorator (defaults: {cls.defaults})."
    return decorator


retry = _factory(RetryDecorator)
catch = _factory(CatchDecorator)
timeout = _factory(TimeoutDecorator)
environment = _factory(EnvironmentDecorator)
resources = _factory(ResourcesDecorator)
card = _factory(CardDecorator)
on_ray = _factory(OnRayDecorator)
local = _factory(LocalDecorator)
parallel = _factory(ParallelDecorator)


def parse_with(spec: str) -> StepDecorator:
    """Parse a ``--with`` spec: ``name`` or ``name:key=value,key=value``."""
    name, _, args = spec.partition(":")
    cls = DECORATORS.get(name.strip())
    if cls is None:
        raise DecoratorError(
            f"--with names an unknown decorator '{name}'.",
            hint=f"Known step decorators: {', '.join(sorted(DECORATORS))}; or a user step "
            "decorator, by its name or as module.name.",
        )
    attributes: dict[str, Any] = {}
    for item in _split_args(args):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise DecoratorError(
                f"--with {spec}: '{item}' is not key=value.",
                hint="Use --with name:key=value,key2=value2.",
            )
        attributes[key.strip()] = _value(raw)
    return cls(_origin="--with", **attributes)


def _split_args(args: str) -> list[str]:
    """Split on commas that are not inside a JSON value."""
    items, depth, current = [], 0, ""
    for ch in args:
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    if current:
        items.append(current)
    return [i for i in items if i.strip()]


def _value(raw: str) -> Any:
    for parse in (json.loads, int, float):
        try:
            return parse(raw)
        except ValueError:
            continue
    return raw
