"""Run a step inside its user step decorators (``UserStepDecorator``), as Metaflow does.

With wrappers ``w1`` (outermost) ... ``wn``: ``w1.pre_step`` ... ``wn.pre_step``, then the step
(or the callable a ``pre_step`` returned, and then no inner ``pre_step`` runs; or nothing, when a
wrapper asked to skip the step), then ``post_step`` from the innermost that ran outwards; each
sees the exception so far and says which one stands (None: the step succeeded). When the step
did not call ``self.next`` itself (skipped, replaced, or its exception swallowed), the
transition is made here: the step's own targets, or the ``self.next`` arguments a wrapper gave.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import DecoratorError
from ..flow._user_decorators import UserStepDecorator


def run_wrapped(
    wrappers: list[UserStepDecorator],
    flow: Any,
    step_name: str,
    call: Callable[[], Any],
    inputs: Any,
    targets: tuple[tuple[str, ...], str | None],
) -> None:
    """Call the step (``call``) inside ``wrappers`` (innermost first, as stored)."""
    if not wrappers:
        call()
        return
    ran: list[UserStepDecorator] = []
    replacement: Callable[..., Any] | None = None
    next_args: Any = None
    for wrapper in reversed(wrappers):
        replacement = wrapper.pre_step(step_name, flow, inputs)
        ran.append(wrapper)
        if wrapper.skip_step:
            next_args = wrapper.skip_step
            break
        if replacement is not None:
            break
    error: BaseException | None = None
    raised = False
    try:
        if not next_args:
            if replacement is None:
                call()
            else:
                args = (flow,) if inputs is None else (flow, inputs)
                next_args = replacement(*args) or None
    except Exception as exc:
        error, raised = exc, True
    for wrapper in reversed(ran):
        error, next_args = _after(wrapper, step_name, flow, error, next_args)
    if error is not None:
        raise error
    if (next_args is not None and next_args is not False) or raised:
        _fake_next(flow, next_args, targets)


def _after(
    wrapper: UserStepDecorator, step_name: str, flow: Any, error: BaseException | None, args: Any
) -> tuple[BaseException | None, Any]:
    try:
        answer = wrapper.post_step(step_name, flow, error)
    except Exception as exc:
        return exc, args
    if answer is None:
        return None, args
    if isinstance(answer, BaseException):
        return answer, args
    if isinstance(answer, tuple) and len(answer) == 2:
        return answer[0], answer[1] if answer[1] is not None else args
    raise DecoratorError(
        f"post_step of @{wrapper.decorator_name} returned {answer!r}.",
        hint="Return None, an exception, or (exception, next_arguments).",
    )


def _fake_next(flow: Any, args: Any, targets: tuple[tuple[str, ...], str | None]) -> None:
    """Take the step's transition for it (it was skipped, replaced or its error swallowed)."""
    out_funcs, foreach = targets
    if not out_funcs:
        return
    state = flow.__dict__["_ketch"]
    state.transition = None
    steps = [getattr(flow, name) for name in out_funcs]
    if isinstance(args, dict) and args:
        flow.next(*steps, **args)
    elif args is True or args == {} or args is None:
        flow.next(*steps, **({"foreach": foreach} if foreach else {}))
    else:
        raise DecoratorError(
            f"A user step decorator gave {args!r} as the arguments of self.next().",
            hint="Give True, or a dict of self.next() keyword arguments.",
        )
