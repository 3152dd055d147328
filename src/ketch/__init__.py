"""ketch: Metaflow-compatible ML and data workflows that run at the speed of the machine.

The authoring API (``FlowSpec``, ``step``, ``Parameter``...) is imported eagerly; the Client API
(``Flow``, ``Run``...) loads on first use so that ``import ketch`` stays fast.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# PyTorch answers torch.cuda.is_available() through NVML when this is set, instead of by
# initialising CUDA, which would make every process forked afterwards unable to use the GPU.
# Flows call it at the top of the file, where ketch has no other say, and every task of the
# run is forked from the process that imported the flow; set here, before that call.
os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")

from .flow import (
    USER_SKIP_STEP,
    Config,
    ConfigValue,
    FlowMutator,
    FlowSpec,
    IncludeFile,
    JSONType,
    MutableFlow,
    MutableStep,
    Parameter,
    StepMutator,
    UserStepDecorator,
    card,
    catch,
    conda,
    conda_base,
    conda_environment_yml_parser,
    config_expr,
    current,
    environment,
    local,
    log_metric,
    log_metrics,
    on_ray,
    parallel,
    project,
    pypi,
    pypi_base,
    pyproject_toml_parser,
    requirements_txt_parser,
    resources,
    retry,
    secrets,
    step,
    timeout,
    user_step_decorator,
    yaml_parser,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from ._multicore import parallel_imap_unordered, parallel_map
    from ._profile import profile
    from .client import (
        DataArtifact,
        Flow,
        Metaflow,
        Run,
        Step,
        Task,
        default_metadata,
        default_namespace,
        get_metadata,
        get_namespace,
        metadata,
        namespace,
    )
    from .runner import ExecutingRun, NBRunner, Runner, inspect_spin
    from .s3 import S3
    from .trackers import Tracker

# Loaded on first use, from the module named: Runner, the multicore helpers, profile.
_LAZY = {
    "ExecutingRun": ".runner",
    "NBRunner": ".runner",
    "Runner": ".runner",
    "inspect_spin": ".runner",
    "parallel_imap_unordered": "._multicore",
    "parallel_map": "._multicore",
    "profile": "._profile",
    "Tracker": ".trackers",  # the experiment trackers' sink (docs/trackers.md)
}

_CLIENT = {
    "DataArtifact",
    "Flow",
    "Metaflow",
    "Run",
    "Step",
    "StepMutator",
    "Task",
    "UserStepDecorator",
    "default_metadata",
    "default_namespace",
    "get_metadata",
    "get_namespace",
    "namespace",
}

__all__ = [
    "Config",
    "ConfigValue",
    "DataArtifact",
    "ExecutingRun",
    "Flow",
    "FlowMutator",
    "FlowSpec",
    "IncludeFile",
    "JSONType",
    "Metaflow",
    "MutableFlow",
    "MutableStep",
    "NBRunner",
    "Parameter",
    "Run",
    "Runner",
    "S3",
    "Step",
    "StepMutator",
    "Task",
    "Tracker",
    "USER_SKIP_STEP",
    "UserStepDecorator",
    "card",
    "catch",
    "conda",
    "conda_base",
    "conda_environment_yml_parser",
    "config_expr",
    "current",
    "default_metadata",
    "default_namespace",
    "environment",
    "get_metadata",
    "get_namespace",
    "inspect_spin",
    "local",
    "log_metric",
    "log_metrics",
    "metadata",
    "namespace",
    "on_ray",
    "parallel",
    "parallel_imap_unordered",
    "parallel_map",
    "profile",
    "project",
    "pypi",
    "pypi_base",
    "pyproject_toml_parser",
    "requirements_txt_parser",
    "resources",
    "retry",
    "secrets",
    "step",
    "timeout",
    "user_step_decorator",
    "yaml_parser",
]


def __getattr__(name: str) -> Any:
    if name == "metadata":
        # The metadata package is callable as Metaflow's metadata() (see its __init__): the
        # name must mean the same object before and after the package is first imported.
        import importlib

        return importlib.import_module(".metadata", __name__)
    if name == "S3":
        from .s3 import S3

        return S3
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    if name in _CLIENT:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'ketch' has no attribute '{name}'")
