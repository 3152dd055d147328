"""The Client API: read any past run back from Python, by pathspec."""

from ._code import KetchCode
from ._context import (
    default_metadata,
    default_namespace,
    get_metadata,
    get_namespace,
    metadata,
    namespace,
)
from ._metadata import Metadata
from ._objects import Flow, Metaflow, Run, Step
from ._task import Artifacts, DataArtifact, MetaflowData, Task

__all__ = [
    "Artifacts",
    "DataArtifact",
    "Flow",
    "KetchCode",
    "Metadata",
    "Metaflow",
    "MetaflowData",
    "Run",
    "Step",
    "Task",
    "default_metadata",
    "default_namespace",
    "get_metadata",
    "get_namespace",
    "metadata",
    "namespace",
]
