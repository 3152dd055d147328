"""Running flows: the scheduler, the local executor and the task process."""

from ._launch import (
    PARAMETERS_STEP,
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
    "PARAMETERS_STEP",
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
    "release_gpu",
    "start_writer",
]
