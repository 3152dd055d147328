"""The runs ``resume`` refuses: one still running, and one whose parameters were not recorded."""

from __future__ import annotations

from pathlib import Path

from ..exceptions import NotFoundError, UserError
from ..metadata import MetadataStore
from ._runlock import running_scheduler

PARAMETERS_TASK_ID = 0  # the ``_parameters`` pseudo-task


def check_resumable(
    store: MetadataStore, home: Path, run_id: int, run_command: str = "python flow.py run"
) -> None:
    """Raise a :class:`~ketch.exceptions.UserError` when run ``run_id`` cannot be resumed;
    ``run_command`` is how the user starts a new run (for the hint)."""
    run = store.get_run(run_id)
    if run is None:
        raise NotFoundError(f"Run {run_id} does not exist, so it cannot be resumed.")
    pathspec = f"{run.flow_name}/{run.run_id}"
    scheduler = running_scheduler(home, run)
    if scheduler is not None:
        kill = f"kill {scheduler.pid}" if scheduler.pid else "stop it"
        raise UserError(
            f"Run '{pathspec}' is still running in {scheduler.describe()}; resuming it would "
            "run its live tasks a second time.",
            hint=f"Wait until it ends, or stop it ({kill}), then resume it.",
            headline="The run is still running",
        )
    parameters = store.get_task(run.run_id, PARAMETERS_TASK_ID)
    if parameters is None or parameters.status != "completed":
        raise UserError(
            f"Run '{pathspec}' has no record of its parameters: it was stopped before it "
            "recorded them, so its steps cannot be run again with the same values.",
            hint=f"Start a new run instead: {run_command}",
            headline="The run cannot be resumed",
        )
