"""``Task.exception``: the failure of a task attempt as Metaflow's exception wrapper."""

from __future__ import annotations

import builtins
import re

from .. import exceptions
from ..flow._decorators import ExceptionWrapper
from ..metadata._records import AttemptRecord

_TRACEBACK = "Traceback (most recent call last):"


def attempt_exception(attempt: AttemptRecord) -> ExceptionWrapper:
    """The wrapper of a failed attempt: ``type`` qualified as Python names it
    (``builtins.KeyError``), ``exception`` the message, ``stacktrace`` the Python traceback
    the task printed (empty when it failed without one: a ketch error such as a merge
    conflict, a killed process or a timeout)."""
    name, _, message = (attempt.exception or "").partition(": ")
    stacktrace = attempt.traceback or ""
    if not stacktrace.startswith(_TRACEBACK):
        stacktrace = ""
    return ExceptionWrapper(_qualified(name, stacktrace), message, stacktrace)


def _qualified(name: str, stacktrace: str) -> str:
    """``module.Class`` for the bare class name the run records keep."""
    if "." in name:
        return name
    for module in (builtins, exceptions):
        found = getattr(module, name, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return f"{module.__name__}.{name}"
    # The last line of a traceback names the class with its module (unless it is __main__).
    line = re.compile(rf"([\w.]+)\.{re.escape(name)}(?::|$)")
    for text in reversed(stacktrace.splitlines()):
        found_line = line.match(text)
        if found_line:
            return f"{found_line.group(1)}.{name}"
    return name
