"""NBRunner driven as a notebook drives it: the flow is defined by a cell's code, which IPython
compiles under a name of its own and registers with ``linecache``."""

from __future__ import annotations

import asyncio
import linecache
import textwrap
from pathlib import Path
from typing import Any

import pytest
from flowrun import Project

from ketch import NBRunner
from ketch.exceptions import RunnerError

pytestmark = pytest.mark.slow

CELL = """
    from ketch import FlowSpec, Parameter, step

    class CellFlow(FlowSpec):
        greeting = Parameter("greeting", default="hi")

        @step
        def start(self):
            self.message = self.greeting + " from a cell"
            self.next(self.end)

        @step
        def end(self):
            print(self.message)
"""


def run_cell(source: str, name: str = "<ipython-input-1-abc>") -> dict[str, Any]:
    """What IPython does with a cell: keep its text in linecache, compile and run it."""
    text = textwrap.dedent(source)
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(text, name, "exec"), namespace)
    return namespace


def test_nbrun_runs_the_cell_flow_and_returns_the_run(project: Project) -> None:
    cell = run_cell(CELL)
    runner = NBRunner(cell["CellFlow"], show_output=False)
    try:
        run = runner.nbrun(greeting="hello")
        assert run.successful and run.data.message == "hello from a cell"
        assert run.pathspec.startswith("CellFlow/")
        assert (project.root / ".ketch").is_dir()  # the notebook's directory is the project
    finally:
        runner.cleanup()
    assert not Path(runner.tempdir).exists()


def test_nbresume_and_async_run(project: Project) -> None:
    cell = run_cell(CELL.replace("print(self.message)", 'assert self.greeting != "fail"'))
    runner = NBRunner(cell["CellFlow"], show_output=False)
    try:
        assert not runner.nbrun(greeting="fail").successful
        resumed = runner.nbresume(step="end")
        assert resumed.pathspec != "" and not resumed.successful  # same parameters: fails again

        async def later() -> str:
            result = await runner.async_run(greeting="ok")
            await result.wait()
            return str(result.run.data.message)

        assert asyncio.run(later()) == "ok from a cell"
    finally:
        runner.cleanup()


def test_nbrunner_needs_the_class(project: Project) -> None:
    cell = run_cell(CELL, "<ipython-input-2-def>")
    with pytest.raises(RunnerError, match="takes the flow class"):
        NBRunner(cell["CellFlow"].__name__)  # type: ignore[arg-type]
