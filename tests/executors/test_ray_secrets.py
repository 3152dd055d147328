"""@secrets on the Ray executor: the worker fetches the secrets (an ``env`` source's value,
read by the launching process, travels with the task; the cluster's processes never had it)."""

from __future__ import annotations

import json

import pytest
from _raycluster import RayCluster
from flowrun import Project
from test_ray import ray_run

pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.ray]

FLOW = """
import hashlib, os
from ketch import FlowSpec, on_ray, secrets, step

INLINE = {"type": "inline", "id": "i", "options": {"env_vars": {"INLINE_X": "in-1"}}}

class RaySecretFlow(FlowSpec):
    @on_ray
    @secrets(sources=["env.LAUNCH_SECRET", INLINE])
    @step
    def start(self):
        self.node = os.environ.get("KETCH_RAY_NODE_ID", "")
        self.seen = {n: hashlib.sha256(os.environ[n].encode()).hexdigest()
                     for n in ("LAUNCH_SECRET", "INLINE_X") if n in os.environ}
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    RaySecretFlow()
"""


def test_the_ray_worker_gets_the_secrets(project: Project, ray_cluster: RayCluster) -> None:
    import hashlib

    project.write("flow.py", FLOW)
    done = ray_run(project, ray_cluster, "flow.py", "run", LAUNCH_SECRET="launch-7")
    assert done.returncode == 0, done.stderr
    read = project.client(
        """
        import json
        from ketch import Flow
        task = Flow("RaySecretFlow").latest_run["start"].task
        print(json.dumps([task["node"].data, task["seen"].data]))
        """
    )
    assert read.returncode == 0, read.stderr
    node, seen = json.loads(read.stdout)
    assert node  # the task ran on a Ray node
    assert seen == {
        "LAUNCH_SECRET": hashlib.sha256(b"launch-7").hexdigest(),
        "INLINE_X": hashlib.sha256(b"in-1").hexdigest(),
    }
