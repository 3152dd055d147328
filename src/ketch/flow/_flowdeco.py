"""Flow decorators: a decorator on the flow class (``@project(name="x")``) rather than on a step.

Like a step decorator, a flow decorator only records its arguments when it is applied; they
are checked when the flow is checked (:meth:`FlowDecorator.validate`), so that a bad argument
is reported as a user error that names the decorator's file and line. The decorators of a
class are kept, in the order they were applied, under a dunder attribute (so that they are
never taken for a class constant and persisted as an artifact).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from ..exceptions import DecoratorError
from ._decorators import ArgumentsDecorator

_ATTRIBUTE = "__ketch_flow_decorators__"


class FlowDecorator(ArgumentsDecorator):
    """Base class of flow decorators: subclasses set ``name`` and ``defaults`` and override
    :meth:`check`."""

    target = "flow"

    def __repr__(self) -> str:
        args = ",".join(f"{k}={v!r}" for k, v in self.given.items())
        return f"@{self.name}" + (f"({args})" if args else "")


def flow_decorators(flow_cls: type[Any]) -> list[FlowDecorator]:
    """The flow decorators of ``flow_cls`` (those of its base classes too), in applied order."""
    return list(getattr(flow_cls, _ATTRIBUTE, ()))


D = TypeVar("D", bound="FlowDecorator")


def find_flow_decorator(flow_cls: type[Any], kind: type[D]) -> D | None:
    """The decorator of type ``kind`` on ``flow_cls``, or None."""
    return next((d for d in flow_decorators(flow_cls) if isinstance(d, kind)), None)


def add_flow_decorator(flow_cls: type[Any], deco: FlowDecorator) -> None:
    """Attach ``deco`` to ``flow_cls`` (refused when the class has one of that name already)."""
    own = list(vars(flow_cls).get(_ATTRIBUTE, ()))
    inherited = [d for d in flow_decorators(flow_cls) if d not in own]
    if not deco.allow_multiple and any(d.name == deco.name for d in own):
        where = f" ({deco.origin})" if deco.origin else ""
        raise DecoratorError(
            f"Flow '{flow_cls.__name__}' has @{deco.name} more than once{where}.",
            hint=f"Keep one @{deco.name} on the flow.",
        )
    kept = [d for d in inherited if deco.allow_multiple or d.name != deco.name]
    setattr(flow_cls, _ATTRIBUTE, (*kept, *own, deco))


def _origin() -> str:
    """file:line of the code that applied the decorator (two frames up)."""
    try:
        frame = sys._getframe(2)
    except ValueError:
        return ""
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def flow_decorator_factory(cls: type[FlowDecorator]) -> Callable[..., Any]:
    """The user-facing decorator of ``cls``: ``@name`` or ``@name(key=value, ...)``."""

    def decorator(flow_cls: Any = None, **attributes: Any) -> Any:
        origin = _origin()

        def attach(klass: Any) -> Any:
            if not isinstance(klass, type):
                raise DecoratorError(
                    f"@{cls.name} ({origin}) decorates a flow class, not {klass!r}.",
                    hint=f"Put @{cls.name}(...) right above 'class ...(FlowSpec):'.",
                )
            add_flow_decorator(klass, cls(_origin=origin, **attributes))
            return klass

        return attach(flow_cls) if flow_cls is not None else attach

    decorator.__name__ = cls.name
    decorator.__qualname__ = cls.name
    decorator.__doc__ = cls.__doc__
    return decorator
