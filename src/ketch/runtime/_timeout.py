"""``@timeout`` in two stages: a soft one inside the task, a hard one in the scheduler.

Soft: while the step's code runs, an interval timer (``SIGALRM``) is armed in the task process;
when it fires, its handler raises :class:`~ketch.exceptions.TimeoutException` wherever the
step is, as Metaflow does. The step then fails like any step that raised: what it set so far
is stored, ``@retry`` retries it and ``@catch`` records the exception.

Hard: a step that does not stop (native code that holds the interpreter, code that blocks the
signal or swallows the exception) is killed by the scheduler ``TIMEOUT_GRACE_SECONDS`` after
its timeout; its attempt fails with a ``TimeoutException`` message and keeps nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from ..exceptions import TimeoutException

# How long past its timeout a step may take to stop and store its artifacts before the
# scheduler kills its process (measured from the task's start, which precedes the step's).
TIMEOUT_GRACE_SECONDS = 5.0


def timeout_message(step_name: str, seconds: float) -> str:
    """Metaflow's wording: ``Step train timed out after 0 hours, 1 minutes, 30 seconds``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return (
        f"Step {step_name} timed out after {int(hours)} hours, {int(minutes)} minutes, "
        f"{secs:g} seconds"
    )


@contextlib.contextmanager
def soft_timeout(step_name: str, seconds: float | None) -> Iterator[None]:
    """Raise ``TimeoutException`` in the block if it runs longer than ``seconds``.

    A no-op without a timeout, or off the main thread (where no signal handler can run).
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutException(timeout_message(step_name, seconds))

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
