"""The ``@step`` decorator and the base class of step decorators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])


@overload
def step(func: F) -> F: ...


@overload
def step(*, start: bool = False, end: bool = False) -> Callable[[F], F]: ...


def step(func: F | None = None, *, start: bool = False, end: bool = False) -> F | Callable[[F], F]:
    """Mark a method of a :class:`FlowSpec` as a step of the flow.

    ``@step`` sits closest to the ``def``; other step decorators go above it.

    Examples
    --------
    >>> class HelloFlow(FlowSpec):
    ...     @step
    ...     def start(self):
    ...         self.next(self.end)
    ...     @step
    ...     def end(self):
    ...         pass
    """

    def mark(f: F) -> F:
        f.is_step = True  # type: ignore[attr-defined]
        f.name = f.__name__  # type: ignore[attr-defined]  # as Metaflow: ``{s.name for s in flow}``
        f.step_start = start  # type: ignore[attr-defined]
        f.step_end = end  # type: ignore[attr-defined]
        if not hasattr(f, "decorators"):
            f.decorators = []  # type: ignore[attr-defined]
        return f

    if func is not None:
        return mark(func)
    return mark
