"""Running flows: the scheduler, the executors (behind the ``Executor`` protocol; the
``executor`` setting names an entry of ``EXECUTORS``) and the task process."""

from ..metadata._records import PARAMETERS_STEP
from ._executor_api import EXECUTORS, Executor, ExecutorFactory, executor_factory
from ._launch import (
    ResumeFrom,
    RunRequest,
    execute_run,
    release_gpu,
    start_writer,
)
from ._origin import choose_origin
from ._policy import StepPolicy, build_policies
from ._resumable import check_resumable
from ._spec import InputRef, TaskResult, TaskSpec

__all__ = [
    "EXECUTORS",
    "PARAMETERS_STEP",
    "Executor",
    "ExecutorFactory",
    "InputRef",
    "ResumeFrom",
    "RunRequest",
    "StepPolicy",
    "TaskResult",
    "TaskSpec",
    "build_policies",
    "check_resumable",
    "choose_origin",
    "execute_run",
    "executor_factory",
    "release_gpu",
    "start_writer",
]
