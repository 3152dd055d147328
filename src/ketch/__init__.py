"""ketch: Metaflow-compatible ML and data workflows that run at the speed of the machine.

The authoring API (``FlowSpec``, ``step``, ``Parameter``...) is imported eagerly; the Client API
(``Flow``, ``Run``...) loads on first use so that ``import ketch`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .flow import (
    FlowSpec,
    IncludeFile,
    JSONType,
    Parameter,
    card,
    catch,
    current,
    environment,
    resources,
    retry,
    step,
    timeout,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
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

_CLIENT = {
    "DataArtifact",
    "Flow",
    "Metaflow",
    "Run",
    "Step",
    "Task",
    "default_metadata",
    "default_namespace",
    "get_metadata",
    "get_namespace",
    "namespace",
}

__all__ = [
    "DataArtifact",
    "Flow",
    "FlowSpec",
    "IncludeFile",
    "JSONType",
    "Metaflow",
    "Parameter",
    "Run",
    "Step",
    "Task",
    "card",
    "catch",
    "current",
    "default_metadata",
    "default_namespace",
    "environment",
    "get_metadata",
    "get_namespace",
    "metadata",
    "namespace",
    "resources",
    "retry",
    "step",
    "timeout",
]


def __getattr__(name: str) -> Any:
    if name == "metadata":
        # The metadata package is callable as Metaflow's metadata() (see its __init__): the
        # name must mean the same object before and after the package is first imported.
        import importlib

        return importlib.import_module(".metadata", __name__)
    if name in _CLIENT:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'ketch' has no attribute '{name}'")
