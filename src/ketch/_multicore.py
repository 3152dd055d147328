"""Fork-based multicore helpers: ``parallel_map`` and ``parallel_imap_unordered``.

Each item is handled in a child forked from the calling process, so ``func`` may be a closure or
a lambda and sees everything the caller has in memory (nothing is pickled on the way in). The
child pickles its result to a temporary file that the parent reads back; a child that raises
writes the error instead, so the parent can name the item and the exception. As in Metaflow, the
first failure ends the map with an exception; the children still running are stopped.

Fork only: on a platform without ``os.fork`` these raise :class:`ketch.exceptions.UserError`.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, TypeVar

from .exceptions import MulticoreError, UserError

A = TypeVar("A")
R = TypeVar("R")

MulticoreException = MulticoreError  # the name Metaflow's code catches


@dataclass(frozen=True)
class _Child:
    pid: int
    output: str
    index: int  # position of the item in the iterable


@dataclass(frozen=True)
class _Failure:
    """What a child writes instead of a result when ``func`` raised."""

    text: str


def _spawn(func: Callable[[A], R], arg: A, index: int, dir: str | None) -> _Child:
    fd, output = tempfile.mkstemp(prefix="parallel_map_", dir=dir)
    os.close(fd)
    sys.stdout.flush()  # or the child prints the parent's buffered output a second time
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return _Child(pid, output, index)
    code = 1
    try:
        try:
            value: Any = func(arg)
            code = 0
        except BaseException:
            value = _Failure(traceback.format_exc())
            sys.stderr.write(value.text)  # in the task's log too, as Metaflow's child prints it
        with open(output, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:  # the result could not be pickled: say so on stderr
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # never return into the parent's code (no finally blocks, no atexit)


def _collect(child: _Child, status: int) -> Any:
    """The result of a finished child, or the error it reported."""
    try:
        with open(child.output, "rb") as f:
            value = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError):
        value = None
    finally:
        _remove(child.output)
    if isinstance(value, _Failure):
        last = value.text.strip().splitlines()[-1]
        raise MulticoreError(f"Item {child.index} raised {last}", hint=value.text)
    if status != 0:
        raise MulticoreError(
            f"Item {child.index}: the child process {_how(status)}.",
            hint="Its output (above, on stderr) says why.",
        )
    return value


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _reap(children: list[_Child]) -> tuple[_Child, int]:
    """Wait for any of ``children`` to finish; remove it from the list."""
    delay = 0.001
    while True:
        for i, child in enumerate(children):
            pid, status = os.waitpid(child.pid, os.WNOHANG)
            if pid:
                return children.pop(i), status
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _stop(children: list[_Child]) -> None:
    for child in children:
        try:
            os.kill(child.pid, signal.SIGKILL)
            os.waitpid(child.pid, 0)
        except OSError:
            pass
        _remove(child.output)


def parallel_imap_unordered(
    func: Callable[[A], R],
    iterable: Iterable[A],
    max_parallel: int | None = None,
    dir: str | None = None,
) -> Iterator[R]:
    """Call ``func`` on each item of ``iterable`` in forked processes; yield results as they
    finish (in no particular order).

    Parameters
    ----------
    func
        Takes one item, returns a picklable result.
    iterable
        The items.
    max_parallel
        Most children at once (default: the number of CPUs).
    dir
        Where the children's result files are written (default: the temporary directory).

    Raises
    ------
    ketch.exceptions.MulticoreError
        A child raised (the message names the item's position and the exception) or died.

    Examples
    --------
    >>> from ketch import parallel_imap_unordered
    >>> sorted(parallel_imap_unordered(lambda x: x * x, range(4)))  # doctest: +SKIP
    [0, 1, 4, 9]
    """
    if not hasattr(os, "fork"):
        raise UserError("parallel_map needs os.fork, which this platform does not have.")
    limit = max_parallel or os.cpu_count() or 1
    items = enumerate(iterable)
    children = [_spawn(func, arg, i, dir) for i, arg in islice(items, limit)]
    try:
        while children:
            child, status = _reap(children)
            yield _collect(child, status)
            for i, arg in islice(items, 1):
                children.append(_spawn(func, arg, i, dir))
    finally:
        _stop(children)  # after a failure, or when the caller stops iterating


def parallel_map(
    func: Callable[[A], R],
    iterable: Iterable[A],
    max_parallel: int | None = None,
    dir: str | None = None,
) -> list[R]:
    """Call ``func`` on each item of ``iterable`` in forked processes; return the results in
    the order of the items. Parameters and errors as :func:`parallel_imap_unordered`.

    Examples
    --------
    >>> from ketch import parallel_map
    >>> parallel_map(lambda x: x + 1, [1, 2, 3])  # doctest: +SKIP
    [2, 3, 4]
    """

    def indexed(pair: tuple[int, A]) -> tuple[int, R]:
        return pair[0], func(pair[1])

    pairs = parallel_imap_unordered(indexed, enumerate(iterable), max_parallel, dir)
    return [value for _, value in sorted(pairs, key=lambda pair: pair[0])]
