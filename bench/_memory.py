"""Sample the memory of a running process tree from /proc (no psutil needed).

Two figures, both in KiB:

* ``tree_peak_kib``: the largest sum of PSS (proportional set size, from
  ``/proc/PID/smaps_rollup``) over the root process and all its descendants, sampled every
  ``interval_s``. PSS splits pages shared between forked processes among them, so a page is
  counted once for the tree; a spike shorter than the interval can be missed.
* ``root_hwm_kib``: the root process's own ``VmHWM`` (its peak RSS, kept by the kernel). It only
  grows, so the last sample misses at most what the process added in its final interval.
"""

from __future__ import annotations

import os
import threading
from typing import Literal

SampleMode = Literal["tree", "root"]


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may contain spaces and parentheses: split after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    return children


def descendants(root: int) -> list[int]:
    children = _children_map()
    found, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _field_kib(path: str, field: bytes) -> int:
    try:
        with open(path, "rb") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class MemorySampler:
    """A daemon thread sampling ``root``'s tree (``mode="tree"``) or the root alone."""

    def __init__(self, root: int, mode: SampleMode, interval_s: float = 0.02) -> None:
        self.root = root
        self.mode = mode
        self.interval_s = interval_s if mode == "tree" else 0.05
        self.tree_peak_kib = 0
        self.root_hwm_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-memory", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    def _sample(self) -> None:
        hwm = _field_kib(f"/proc/{self.root}/status", b"VmHWM:")
        self.root_hwm_kib = max(self.root_hwm_kib, hwm)
        if self.mode == "tree":
            pids = descendants(self.root)
            total = sum(_field_kib(f"/proc/{p}/smaps_rollup", b"Pss:") for p in pids)
            self.tree_peak_kib = max(self.tree_peak_kib, total)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
