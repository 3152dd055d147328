"""Is a run that says "running" really running? A dead scheduler leaves it saying so."""

from __future__ import annotations

import socket
import time

from .._process import pid_alive
from ._records import RunRecord

# The scheduler beats every 5 s; a run silent for this long has lost its scheduler.
STALE_AFTER_SECONDS = 30.0


def scheduler_gone(run: RunRecord, now: float | None = None) -> bool:
    """True when a ``running`` run's scheduler has died (crash, ``kill -9``, power loss)."""
    if run.status != "running":
        return False
    if run.scheduler_pid and run.hostname == socket.gethostname():
        if not pid_alive(run.scheduler_pid):
            return True
    last = run.heartbeat_at or run.created_at
    return (now if now is not None else time.time()) - last > STALE_AFTER_SECONDS


def effective_status(run: RunRecord, now: float | None = None) -> str:
    """The run's status as a reader should show it: ``failed`` when its scheduler is gone."""
    return "failed" if scheduler_gone(run, now) else run.status
