"""The authoring API: FlowSpec, @step, parameters and ``current``."""

from ._config import Config, ConfigValue, config_expr
from ._current import Current, TaskContext, current, set_context
from ._decorators import (
    StepDecorator,
    card,
    catch,
    environment,
    local,
    on_ray,
    parallel,
    parse_with,
    resources,
    retry,
    timeout,
)
from ._flowdeco import FlowDecorator
from ._metrics import log_metric, log_metrics
from ._mutators import FlowMutator, MutableFlow, MutableStep, StepMutator
from ._parameters import IncludeFile, JSONType, Parameter, ParameterContext
from ._parsers import (
    conda_environment_yml_parser,
    pyproject_toml_parser,
    requirements_txt_parser,
    yaml_parser,
)
from ._project import project
from ._pypi import conda, conda_base, pypi, pypi_base
from ._secrets import secrets
from ._spec import EPHEMERAL, FlowSpec
from ._state import Inputs, InputView, TaskState
from ._step import step
from ._user_decorators import USER_SKIP_STEP, UserStepDecorator, user_step_decorator

__all__ = [
    "EPHEMERAL",
    "USER_SKIP_STEP",
    "FlowMutator",
    "MutableFlow",
    "MutableStep",
    "StepMutator",
    "UserStepDecorator",
    "user_step_decorator",
    "Config",
    "ConfigValue",
    "config_expr",
    "Current",
    "FlowDecorator",
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
    "log_metric",
    "log_metrics",
    "on_ray",
    "parallel",
    "parse_with",
    "project",
    "pypi",
    "pypi_base",
    "resources",
    "retry",
    "secrets",
    "timeout",
    "ParameterContext",
    "TaskContext",
    "TaskState",
    "current",
    "set_context",
    "step",
    "conda_environment_yml_parser",
    "pyproject_toml_parser",
    "requirements_txt_parser",
    "yaml_parser",
]
