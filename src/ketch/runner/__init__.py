"""Run flows from Python: ``Runner`` (a flow file), ``NBRunner`` (a notebook cell's flow), and
``inspect_spin`` (read what ``python flow.py spin`` produced)."""

from ._nbrun import NBRunner
from ._runner import ExecutingRun, Runner
from ._spin import inspect_spin

__all__ = ["ExecutingRun", "NBRunner", "Runner", "inspect_spin"]
