"""The UI workload, run as a script: how long the UI takes to answer the pages of one run.

``python bench/_uiprobe.py DIR FLOW RUN_ID STEP N`` serves the project in ``DIR`` with the
UI's app, requests the run page and the step page ``STEP`` of ``FLOW/RUN_ID`` as HTML and as
JSON once each untimed (templates compile once per process), then ``N`` times each, timed,
and prints the seconds of every timed request as JSON: ``{"run": [...], "run.json": [...],
"step": [...], "step.json": [...]}``.

The requests go through starlette's TestClient: all of the app's work (queries, previews,
rendering), without a socket.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    root, flow, run_id, step, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
    from starlette.testclient import TestClient

    from ketch.settings import resolve
    from ketch.ui import create_app

    pages = {"run": f"/{flow}/{run_id}", "step": f"/{flow}/{run_id}/{step}"}
    paths = {}
    for name, path in pages.items():
        paths[name], paths[f"{name}.json"] = path, "/api" + path
    times: dict[str, list[float]] = {name: [] for name in paths}
    app = create_app(resolve(cwd=Path(root)))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for path in paths.values():
            _check(client.get(path), path)
        for _ in range(int(n)):
            for name, path in paths.items():
                start = time.perf_counter()
                response = client.get(path)
                times[name].append(time.perf_counter() - start)
                _check(response, path)
    print(json.dumps(times))


def _check(response: object, path: str) -> None:
    status = getattr(response, "status_code", None)
    if status != 200:
        sys.exit(f"{path}: status {status}")


if __name__ == "__main__":
    main()
