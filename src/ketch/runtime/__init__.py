"""Running flows: the scheduler, the local executor and the task process."""

from ._launch import PARAMETERS_STEP, RunRequest, execute_run
from ._spec import InputRef, TaskResult, TaskSpec

__all__ = ["PARAMETERS_STEP", "InputRef", "RunRequest", "TaskResult", "TaskSpec", "execute_run"]
