"""``self.next({...}, condition="var")`` at run time: pick the one step the switch takes."""

from __future__ import annotations

from typing import Any

from ..exceptions import InvalidNextError

Transition = tuple[tuple[str, ...], str | None]


def take_switch(
    flow: Any,
    step: str,
    earlier: Transition | None,
    targets: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Transition:
    """The transition of a switch: the step whose case key equals ``self.<condition>``.

    Raises ``InvalidNextError`` for a malformed call and, as Metaflow does, ``RuntimeError``
    when the condition's value names no case.
    """
    condition = kwargs.pop("condition", None)
    _check_shape(step, earlier, targets, kwargs, condition)
    try:
        value = getattr(flow, condition)
    except AttributeError:
        raise InvalidNextError(
            f"Step '{step}': condition variable '{condition}' is not set.",
            hint=f"Assign self.{condition} in this step before calling self.next().",
        ) from None
    cases: dict[Any, Any] = targets[0]
    try:
        found = value in cases
    except TypeError:  # an unhashable value matches no key
        found = False
    if not found:
        raise RuntimeError(
            f"Switch condition variable '{condition}' has value '{value}' which is not in "
            f"the available cases: {list(cases)}"
        )
    return (_step_name(flow, step, cases[value]),), None


def _check_shape(
    step: str,
    earlier: Transition | None,
    targets: tuple[Any, ...],
    kwargs: dict[str, Any],
    condition: Any,
) -> None:
    """Raise ``InvalidNextError`` unless the call is one dict of cases and a condition name."""
    if kwargs:
        bad = sorted(kwargs)
        raise InvalidNextError(
            f"Step '{step}': a switch cannot be combined with {', '.join(bad)} "
            f"(self.next() got {bad}).",
            hint="A switch takes one dict of steps and condition='attribute', nothing else.",
        )
    if earlier is not None:
        raise InvalidNextError(
            f"Step '{step}' called self.next() more than once.",
            hint="Call self.next() exactly once, as the last statement of the step.",
        )
    if len(targets) != 1 or not isinstance(targets[0], dict) or not targets[0]:
        raise InvalidNextError(
            f"Step '{step}' has an invalid switch transition: it needs exactly one non-empty "
            "dict mapping condition values to steps.",
            hint="Write self.next({'a': self.a, 'b': self.b}, condition='mode').",
        )
    if condition is None:
        raise InvalidNextError(
            f"Step '{step}': a dict passed to self.next() needs condition='attribute'.",
            hint="Write self.next({'a': self.a, 'b': self.b}, condition='mode').",
        )
    if not isinstance(condition, str):
        raise InvalidNextError(f"Step '{step}': condition must be the name of an attribute.")


def _step_name(flow: Any, step: str, target: Any) -> str:
    name = getattr(target, "__name__", None)
    if name is None or not getattr(getattr(type(flow), name, None), "is_step", False):
        raise InvalidNextError(
            f"Step '{step}': switch case {target!r} is not a step of {type(flow).__name__}.",
            hint="Map each case to a step written as self.<step_name>.",
        )
    return str(name)
