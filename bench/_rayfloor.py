"""Ray's own no-op task floor: ``python _rayfloor.py N [N ...]`` inside the cluster's netns.

Connects with ``ray.init()`` (``RAY_ADDRESS``), warms up (one round of no-op tasks so that every
node has started its workers), then for each N submits N no-op ``num_cpus=1`` tasks and waits for
them all. Prints one JSON line: ``connect_s``, ``warmup_s`` and ``{N: seconds}``.
"""

from __future__ import annotations

import json
import logging
import sys
import time

import ray

WARMUP_TASKS = 20


@ray.remote(num_cpus=1)
def noop() -> None:
    return None


def timed(n: int) -> float:
    start = time.perf_counter()
    ray.get([noop.remote() for _ in range(n)])
    return time.perf_counter() - start


def main(sizes: list[int]) -> None:
    start = time.perf_counter()
    ray.init(logging_level=logging.ERROR, log_to_driver=False)
    connect = time.perf_counter() - start
    warmup = timed(WARMUP_TASKS)
    walls = {str(n): timed(n) for n in sizes}
    ray.shutdown()
    print(json.dumps({"connect_s": connect, "warmup_s": warmup, "walls_s": walls}))


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]])
