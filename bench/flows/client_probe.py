"""Not a flow: the Client workload. Lists every run of a flow and loads one artifact from each.

``python client_probe.py FLOW N`` prints, as JSON, the seconds the Client part took (imports
excluded; anything the Client loads lazily on first use is included), and the same listing
done a second time in the same process.
"""

import json
import sys
import time

from metaflow import Flow


def main() -> None:
    flow_name, expected = sys.argv[1], int(sys.argv[2])
    start = time.perf_counter()
    values = [run.data.x for run in Flow(flow_name)]
    first = time.perf_counter() - start
    if values != [42] * expected:
        sys.exit(f"expected {expected} runs with x == 42, got {values!r}")
    start = time.perf_counter()
    values = [run.data.x for run in Flow(flow_name)]
    second = time.perf_counter() - start
    print(json.dumps({"client_s": first, "again_s": second}))


if __name__ == "__main__":
    main()
