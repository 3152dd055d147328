"""The fork floor, run as a script: fork, pickle a small dict to a pipe, exit; parent reaps.

``python bench/_forkfloor.py [--numpy] [N]`` prints the per-iteration times (seconds) as JSON.
With ``--numpy`` the parent imports numpy first, so fork has a bigger address space to copy.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import time


def once() -> float:
    r, w = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, pickle.dumps({"status": "ok", "artifacts": {"x": "ab" * 32}}, protocol=5))
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    pickle.loads(data)
    return time.perf_counter() - start


def main(argv: list[str]) -> None:
    if "--numpy" in argv:
        import numpy  # noqa: F401

        argv = [a for a in argv if a != "--numpy"]
    n = int(argv[0]) if argv else 200
    for _ in range(10):  # warm up
        once()
    print(json.dumps([once() for _ in range(n)]))


if __name__ == "__main__":
    main(sys.argv[1:])
