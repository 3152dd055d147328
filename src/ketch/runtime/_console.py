"""What a run prints: Metaflow-style timestamped task lines, or a compact live progress view."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from datetime import datetime
from typing import Any, TextIO

from ._spec import TaskSpec

# Above this many tasks in one run, a terminal gets a progress view instead of every line.
PROGRESS_THRESHOLD = 50


def _now() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class Reporter:
    """Prints run progress. Thread-safe: task output arrives from the executor's thread."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._lock = threading.Lock()
        self._pids: dict[tuple[str, int], int] = {}
        self._started = 0
        self._live: Any = None
        self._counts: Counter[tuple[str, str]] = Counter()
        self._broken = False
        self._interactive = bool(getattr(self.out, "isatty", lambda: False)())

    def _prefix(self, spec: TaskSpec) -> str:
        pid = self._pids.get((spec.step_name, spec.task_id))
        where = f"{spec.run_id}/{spec.step_name}/{spec.task_id}"
        return f"[{where} (pid {pid})]" if pid else f"[{where}]"

    def _print(self, text: str) -> None:
        if self._broken:
            return
        try:
            self.out.write(text + "\n")  # one write: the line and its end together
            self.out.flush()
        except (BrokenPipeError, ValueError, OSError):
            # The reader went away (e.g. `| head`): keep running, stop printing.
            self._broken = True

    def line(self, text: str) -> None:
        with self._lock:
            if self._live is None:
                self._print(f"{_now()} {text}")

    def task_line(self, spec: TaskSpec, text: str) -> None:
        with self._lock:
            if self._live is None:
                self._print(f"{_now()} {self._prefix(spec)} {text}")

    # -- events -----------------------------------------------------------------------------
    def run_started(self, run_id: int) -> None:
        self.line(f"Workflow starting (run-id {run_id}):")

    def task_started(self, spec: TaskSpec, pid: int) -> None:
        self._pids[(spec.step_name, spec.task_id)] = pid
        self._started += 1
        self._counts[(spec.step_name, "running")] += 1
        if self._interactive and self._started > PROGRESS_THRESHOLD and self._live is None:
            self._start_live()
        attempt = f" (retry {spec.attempt})" if spec.attempt else ""
        self.task_line(spec, f"Task is starting{attempt}.")
        self._refresh()

    def task_output(self, spec: TaskSpec, stream: str, line: bytes) -> None:
        self.task_line(spec, line.decode("utf-8", errors="replace").rstrip("\r"))

    def task_finished(self, spec: TaskSpec, ok: bool, message: str = "") -> None:
        self._counts[(spec.step_name, "running")] -= 1
        self._counts[(spec.step_name, "completed" if ok else "failed")] += 1
        if ok:
            self.task_line(spec, "Task finished successfully.")
        else:
            self.task_line(spec, f"Task failed. {message}".rstrip())
        self._refresh()

    def run_finished(self, ok: bool, message: str = "") -> None:
        self._stop_live()
        if ok:
            self.line("Done!")
        elif message:
            self.line(message)

    # -- live progress ----------------------------------------------------------------------
    def _start_live(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self._live = Live(
            self._render(), console=Console(file=self.out), refresh_per_second=8, transient=False
        )
        self._live.start()

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(box=None, show_header=True, header_style="bold")
        for column in ("step", "running", "done", "failed"):
            table.add_column(column, justify="right" if column != "step" else "left")
        steps = dict.fromkeys(step for step, _ in self._counts)
        for step in steps:
            table.add_row(
                step,
                str(self._counts[(step, "running")]),
                str(self._counts[(step, "completed")]),
                str(self._counts[(step, "failed")]),
            )
        return table

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._render())

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.stop()
            self._live = None
