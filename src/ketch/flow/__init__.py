"""The authoring API: FlowSpec, @step, parameters and ``current``."""

from ._current import Current, TaskContext, current, set_context
from ._decorators import (
    StepDecorator,
    card,
    catch,
    environment,
    local,
    on_ray,
    parse_with,
    resources,
    retry,
    timeout,
)
from ._parameters import IncludeFile, JSONType, Parameter, ParameterContext
from ._pypi import conda, conda_base, pypi, pypi_base
from ._spec import EPHEMERAL, FlowSpec
from ._state import Inputs, InputView, TaskState
from ._step import step

__all__ = [
    "EPHEMERAL",
    "Current",
    "FlowSpec",
    "IncludeFile",
    "InputView",
    "Inputs",
    "JSONType",
    "Parameter",
    "StepDecorator",
    "card",
    "catch",
    "conda",
    "conda_base",
    "environment",
    "local",
    "on_ray",
    "parse_with",
    "pypi",
    "pypi_base",
    "resources",
    "retry",
    "timeout",
    "ParameterContext",
    "TaskContext",
    "TaskState",
    "current",
    "set_context",
    "step",
]
