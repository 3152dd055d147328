"""``NBRunner``: run a flow defined in a notebook cell.

The cell's text is written to a temporary flow file (with the ``if __name__ == "__main__"``
call a flow file ends with) and run by a :class:`Runner`. The text is found where Python keeps
the source of the cell that defined the flow's steps: IPython registers each cell with
``linecache``, and so can any code that ``exec``\\ s a string (see the tests).
"""

from __future__ import annotations

import linecache
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import RunnerError
from ._runner import ExecutingRun, Runner

if TYPE_CHECKING:
    from ..client import Run


def _cell_source(flow_cls: type[Any]) -> str:
    """The text of the cell (or file) that defined ``flow_cls``."""
    for value in vars(flow_cls).values():
        code = getattr(value, "__code__", None)
        if code is not None and getattr(value, "is_step", False):
            lines = linecache.getlines(code.co_filename)
            if lines:
                return "".join(lines)
    raise RunnerError(
        f"The source of {flow_cls.__name__} cannot be found.",
        hint="Define the flow (with its imports) in one notebook cell, and create the "
        "NBRunner in that cell or a later one.",
    )


def flow_file_text(flow_cls: type[Any]) -> str:
    """The cell's text, made a runnable flow file."""
    source = _cell_source(flow_cls).rstrip() + "\n"
    return f'{source}\n\nif __name__ == "__main__":\n    {flow_cls.__name__}()\n'


class NBRunner:
    """Run the flow class ``flow`` defined in a notebook cell.

    Parameters as :class:`Runner`, with ``base_dir`` (where the temporary flow file is written;
    default: the temporary directory) instead of the flow file. The run's project is the
    working directory (``cwd``).

    Examples
    --------
    >>> run = NBRunner(HelloFlow).nbrun(alpha=0.5)  # doctest: +SKIP
    >>> run.data.score  # doctest: +SKIP
    """

    def __init__(
        self,
        flow: type[Any],
        show_output: bool = True,
        profile: str | None = None,
        env: dict[str, str] | None = None,
        base_dir: str | None = None,
        file_read_timeout: int = 3600,
        **kwargs: Any,
    ) -> None:
        if not isinstance(flow, type):
            raise RunnerError(
                f"NBRunner takes the flow class, not {type(flow).__name__} {flow!r}.",
                hint="Pass the class itself: NBRunner(MyFlow).",
            )
        self.flow = flow
        self.tempdir = tempfile.mkdtemp(prefix="ketch-nbrunner-", dir=base_dir)
        self.flow_file = Path(self.tempdir) / f"{flow.__name__}.py"
        self.flow_file.write_text(flow_file_text(flow))
        # Environment of the notebook's kernel, as Metaflow's: unbuffered, so output streams.
        extra = {"PYTHONUNBUFFERED": "x", **(env or {})}
        self.runner = Runner(
            str(self.flow_file),
            show_output=show_output,
            profile=profile,
            env=extra,
            cwd=kwargs.pop("cwd", None) or os.getcwd(),
            file_read_timeout=file_read_timeout,
            **kwargs,
        )

    def nbrun(self, **kwargs: Any) -> Run:
        """Run the flow, wait, and return the Client ``Run`` (also when it failed)."""
        result = self.runner.run(**kwargs)
        return result.run

    def nbresume(self, **kwargs: Any) -> Run:
        """Resume the latest run of the flow, wait, and return the new ``Run``."""
        return self.runner.resume(**kwargs).run

    def run(self, **kwargs: Any) -> ExecutingRun:
        return self.runner.run(**kwargs)

    def resume(self, **kwargs: Any) -> ExecutingRun:
        return self.runner.resume(**kwargs)

    async def async_run(self, **kwargs: Any) -> ExecutingRun:
        return await self.runner.async_run(**kwargs)

    async def async_resume(self, **kwargs: Any) -> ExecutingRun:
        return await self.runner.async_resume(**kwargs)

    def cleanup(self) -> None:
        """Remove the temporary flow file and the Runner's files."""
        self.runner.cleanup()
        shutil.rmtree(self.tempdir, ignore_errors=True)
