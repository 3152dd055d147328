"""``Runner``: run a flow file from Python, as ``python flow.py run`` in a subprocess, and get
its Client ``Run`` back."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from ..exceptions import NotFoundError, RunnerError
from ._command import flow_command
from ._process import CommandProcess

if TYPE_CHECKING:
    from ..client import Run, Task

_ATTRIBUTES = "runner-attributes.json"
_P = TypeVar("_P", bound="ExecutingProcess")


class ExecutingProcess:
    """A command started by :class:`Runner`: its subprocess and its output. As a context
    manager it stops the command (and cleans up the Runner) on exit."""

    def __init__(self, runner: Runner, command: CommandProcess, attributes: dict[str, Any]):
        self.runner = runner
        self.command_obj = command
        self._attributes = attributes
        self._object: Any = None
        self._final = False

    def __enter__(self: _P) -> _P:
        return self

    def __exit__(self, *exc: object) -> None:
        self.runner.cleanup()

    def _client_object(self, load: Callable[[dict[str, Any]], Any]) -> Any:
        """Read again once the command has ended, so that its status is the final one."""
        if self._object is None or (not self._final and self.command_obj.done):
            self._final = self.command_obj.done
            self._object = load(self._attributes)
        return self._object

    @property
    def returncode(self) -> int | None:
        """The command's exit code; None while it runs."""
        return self.command_obj.returncode

    @property
    def status(self) -> str:
        """``running``, ``successful``, ``failed``, or ``timeout`` (killed by :meth:`wait`)."""
        if self.command_obj.timed_out:
            return "timeout"
        code = self.command_obj.returncode
        if code is None:
            return "running"
        return "successful" if code == 0 else "failed"

    @property
    def stdout(self) -> str:
        """The command's stdout so far (all of it once it ended)."""
        return self.command_obj.read("stdout")

    @property
    def stderr(self) -> str:
        """The command's stderr so far (ketch's own messages and the tasks' stderr)."""
        return self.command_obj.read("stderr")

    async def wait(self: _P, timeout: float | None = None, stream: str | None = None) -> _P:
        """Wait for the run to end; past ``timeout`` seconds it is killed (status
        ``timeout``). ``stream`` (``"stdout"`` or ``"stderr"``) prints that output meanwhile."""
        printer = None
        if stream is not None:
            printer = asyncio.ensure_future(self._print(stream))
        await asyncio.to_thread(self.command_obj.wait, timeout)
        if printer is not None:
            await printer
        return self

    async def _print(self, stream: str) -> None:
        async for _, line in self.stream_log(stream):
            print(line, flush=True)

    async def stream_log(
        self, stream: str, position: int | None = None
    ) -> AsyncIterator[tuple[int, str]]:
        """Yield ``(position, line)`` for each line of ``stream`` as the run writes it; a
        position given back resumes after that line."""
        async for item in self.command_obj.tail(stream, position):  # type: ignore[arg-type]
            yield item

    def kill(self) -> None:
        """Stop the run and its tasks."""
        self.command_obj.kill()


class ExecutingRun(ExecutingProcess):
    """A run started by :meth:`Runner.run` or :meth:`Runner.resume` (or their async forms)."""

    @property
    def run(self) -> Run:
        """The Client ``Run``."""
        run: Run = self._client_object(_load_run)
        return run


class ExecutingTask(ExecutingProcess):
    """A task spun by :meth:`Runner.spin`; ``task`` reads it from the spin store."""

    @property
    def task(self) -> Task:
        """The Client ``Task`` of the spun task."""
        task: Task = self._client_object(_load_task)
        return task


class Runner:
    """Run a flow file from Python.

    Parameters
    ----------
    flow_file
        The flow's Python file.
    show_output
        Copy the run's output to this process's stdout and stderr as it comes.
    profile
        Accepted for Metaflow compatibility (set as ``METAFLOW_PROFILE`` for the run).
    env
        Environment variables added to this process's for the run.
    cwd
        The directory the run starts in (its project: where ``.ketch`` is found).
    file_read_timeout
        Seconds to wait for the run to start (its id known) before giving up.
    **top_level_options
        Options of the flow command itself: ``quiet=True``, ``decospecs=["retry"]`` (or
        ``**{"with": [...]}``), ``datastore_url=...``.

    Examples
    --------
    >>> from ketch import Runner
    >>> with Runner("flow.py", show_output=False) as runner:  # doctest: +SKIP
    ...     result = runner.run(alpha=0.5, max_workers=4)
    ...     print(result.status, result.run.data.score)
    """

    def __init__(
        self,
        flow_file: str | os.PathLike[str],
        show_output: bool = True,
        profile: str | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        file_read_timeout: int = 3600,
        **top_level_options: Any,
    ) -> None:
        self.flow_file = Path(flow_file).resolve()
        self.show_output = show_output
        self.env = {**os.environ, **(env or {})}
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        if profile:
            self.env["METAFLOW_PROFILE"] = profile
        self.cwd = cwd or os.getcwd()
        self.file_read_timeout = file_read_timeout
        self.top_level_options = top_level_options
        self._command = flow_command(self.flow_file)
        self._started: list[CommandProcess] = []
        self._tmp: list[str] = []
        self._command.argv(top_level_options, "run", {})  # a bad top-level option fails here

    def __enter__(self) -> Runner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    async def __aenter__(self) -> Runner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cleanup()

    def run(self, **kwargs: Any) -> ExecutingRun:
        """Run the flow and wait for it to end. ``kwargs``: the flow's parameters and the
        options of ``run`` (``tags``, ``max_workers``, ``decospecs``...). A failed run is
        returned too (``status == "failed"``); a run that could not start raises."""
        command = self._start("run", kwargs)
        command.wait()
        return ExecutingRun(self, command, self._attributes_now(command))

    def resume(self, **kwargs: Any) -> ExecutingRun:
        """Resume the latest run (or ``origin_run_id``) from its failed step (or ``step``),
        and wait for it to end."""
        command = self._start("resume", kwargs)
        command.wait()
        return ExecutingRun(self, command, self._attributes_now(command))

    async def async_run(self, **kwargs: Any) -> ExecutingRun:
        """Start the run; return as soon as its id is known (``await result.wait()``)."""
        command = self._start("run", kwargs)
        return ExecutingRun(self, command, await self._attributes_soon(command))

    async def async_resume(self, **kwargs: Any) -> ExecutingRun:
        """Start resuming; return as soon as the new run's id is known."""
        command = self._start("resume", kwargs)
        return ExecutingRun(self, command, await self._attributes_soon(command))

    def spin(self, pathspec: str, **kwargs: Any) -> ExecutingTask:
        """Run one step of a past run again (``python flow.py spin PATHSPEC``) and wait;
        ``kwargs``: ``persist``, ``artifacts_module``, ``skip_decorators``."""
        command = self._start("spin", {"pathspec": pathspec, **kwargs})
        command.wait()
        return ExecutingTask(self, command, self._attributes_now(command))

    async def async_spin(self, pathspec: str, **kwargs: Any) -> ExecutingTask:
        """Start spinning; return once the spun task is recorded (spin records it at the
        end: ``await result.wait()`` is then immediate)."""
        command = self._start("spin", {"pathspec": pathspec, **kwargs})
        return ExecutingTask(self, command, await self._attributes_soon(command))

    def cleanup(self) -> None:
        """Stop runs still going and remove the Runner's temporary files (the output of its
        runs stays readable)."""
        for command in self._started:
            command.kill()
            command.save_output()
        for path in self._tmp:
            shutil.rmtree(path, ignore_errors=True)
        self._tmp.clear()

    def _start(self, name: str, options: dict[str, Any]) -> CommandProcess:
        tmp = tempfile.mkdtemp(prefix="ketch-runner-")
        self._tmp.append(tmp)
        own = {"runner_attribute_file": str(Path(tmp) / _ATTRIBUTES)}
        argv = self._command.argv(self.top_level_options, name, options)
        argv = argv + [f"--runner-attribute-file={own['runner_attribute_file']}"]
        command = CommandProcess(
            [sys.executable, str(self.flow_file), *argv],
            env=self.env,
            cwd=self.cwd,
            logs=Path(tmp),
            show=self.show_output,
        )
        self._started.append(command)
        return command

    def _attributes_now(self, command: CommandProcess) -> dict[str, Any]:
        found = _read_attributes(command)
        if found is None:
            raise _not_started(command)
        return found

    async def _attributes_soon(self, command: CommandProcess) -> dict[str, Any]:
        deadline = time.monotonic() + self.file_read_timeout
        while True:
            found = _read_attributes(command)
            if found is not None:
                return found
            if command.returncode is not None or time.monotonic() > deadline:
                command.kill()
                command.wait()
                raise _not_started(command)
            await asyncio.sleep(0.02)


def _read_attributes(command: CommandProcess) -> dict[str, Any] | None:
    path = command.logs / _ATTRIBUTES
    if not path.exists():
        return None
    found: dict[str, Any] = json.loads(path.read_text())
    return found


def _not_started(command: CommandProcess) -> RunnerError:
    lines = [line for line in command.read("stderr").splitlines() if line.strip()]
    said = "\n".join(lines[-15:]) or "(it printed nothing on stderr)"
    return RunnerError(
        f"'{' '.join(command.argv[1:])}' exited with code {command.returncode} before its "
        f"run started:\n{said}",
        hint="Fix what the command says; the same command run by hand shows the same error.",
    )


def _load_task(attributes: dict[str, Any]) -> Task:
    from ..client import Run, Task
    from ..client._context import Provider, _open

    provider = Provider(Path(attributes["home"]), "", attributes["datastore_url"] or "")
    if not provider.datastore_url:  # the spin store's blobs are the project's
        provider = Provider(provider.home, "", str(provider.home.parent))
    run = Run._load(_open(provider), attributes["flow_name"], attributes["run_id"], False)
    return Task._load(run, attributes["step_name"], attributes["task_id"])


def _load_run(attributes: dict[str, Any]) -> Run:
    """The Client ``Run`` named by a runner attribute file, read from the store it names."""
    from ..client import Run
    from ..client._context import Provider, _open

    provider = Provider(
        Path(attributes["home"]), attributes["metadata_url"], attributes["datastore_url"]
    )
    deadline = time.monotonic() + 10
    while True:  # the run's record is committed by the run's writer process, soon after
        try:
            return Run._load(_open(provider), attributes["flow_name"], attributes["run_id"], False)
        except NotFoundError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
