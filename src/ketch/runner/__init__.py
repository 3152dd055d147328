"""Run flows from Python: ``Runner`` (a flow file), ``NBRunner`` (a notebook cell's flow), and
``inspect_spin`` (read what ``python flow.py spin`` produced)."""

from ._nbrun import NBRunner
from ._runner import ExecutingRun, ExecutingTask, Runner
from ._spin import inspect_spin

__all__ = ["ExecutingRun", "ExecutingTask", "NBRunner", "Runner", "inspect_spin"]
