"""A @parallel gang on the Ray executor: placed at once through a placement group.

Runs on the 2-node loopback cluster of ``tests/_raycluster.py`` (one CPU per node); the nodes
are told apart by the node id that each task sees in ``KETCH_RAY_NODE_ID``.
"""

from __future__ import annotations

import json
import time

import pytest
from _raycluster import RayCluster
from flowrun import Project
from test_ray import ray_run

pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.ray]

FLOW = """
import datetime, os, time
from ketch import FlowSpec, Parameter, current, on_ray, parallel, step


class GangFlow(FlowSpec):
    gloo = Parameter("gloo", default=False)
    fail = Parameter("fail", default=False)

    @step
    def start(self):
        self.next(self.train, num_parallel={n})

    @on_ray
    @parallel(placement="{placement}")
    @step
    def train(self):
        p = current.parallel
        self.node = os.environ.get("KETCH_RAY_NODE_ID", "")
        self.where = dict(p._asdict(), port=os.environ["MASTER_PORT"],
                          addr=os.environ["MASTER_ADDR"], rank=os.environ["RANK"])
        self.total = None
        if self.fail:
            if p.node_index == 1:
                raise ValueError("node 1 broke")
            time.sleep(600)  # stopped when node 1 fails
        if self.gloo:
            import torch
            import torch.distributed as dist

            dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
            value = torch.tensor([float(p.node_index + 1)])
            dist.all_reduce(value)
            self.total = value.item()
            dist.destroy_process_group()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.nodes = [i.node for i in inputs]
        self.wheres = [i.where for i in inputs]
        self.totals = [i.total for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    GangFlow()
"""

READ = """
import json
from ketch import Flow, namespace
namespace(None)
run = Flow("GangFlow").latest_run
d = run["join"].task.data if run.successful else None
print(json.dumps({
    "ok": run.successful,
    "nodes": d.nodes if d else None,
    "wheres": d.wheres if d else None,
    "totals": d.totals if d else None,
}))
"""


def _read(project: Project) -> dict[str, object]:
    done = project.client(READ)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_gang_spreads_over_both_nodes(project: Project, ray_cluster: RayCluster) -> None:
    project.write("flow.py", FLOW.format(n=2, placement="STRICT_SPREAD"))
    gloo = []
    try:
        import torch.distributed as dist

        if dist.is_available() and dist.is_gloo_available():
            gloo = ["--gloo", "true"]
    except ImportError:
        pass
    done = ray_run(project, ray_cluster, "flow.py", "run", *gloo)
    assert done.returncode == 0, done.stderr + done.stdout
    got = _read(project)
    nodes, wheres = got["nodes"], got["wheres"]
    assert isinstance(nodes, list) and isinstance(wheres, list)
    assert len(set(nodes)) == 2 and "" not in nodes  # one task on each node of the cluster
    assert [w["node_index"] for w in wheres] == [0, 1]
    assert [w["num_nodes"] for w in wheres] == [2, 2]
    assert [w["rank"] for w in wheres] == ["0", "1"]
    assert wheres[0]["control_task_id"] == wheres[1]["control_task_id"]
    # The control task's node (both nodes of the loopback cluster are 127.0.0.1) and a port
    # found free there: the same for every task of the gang.
    assert {w["main_ip"] for w in wheres} == {w["addr"] for w in wheres} == {"127.0.0.1"}
    assert len({w["port"] for w in wheres}) == 1
    if gloo:
        assert got["totals"] == [3.0, 3.0]  # all_reduce across the two nodes: 1 + 2


def test_a_gang_larger_than_the_cluster_fails_at_once(
    project: Project, ray_cluster: RayCluster
) -> None:
    project.write("flow.py", FLOW.format(n=3, placement="STRICT_SPREAD"))
    started = time.monotonic()
    done = ray_run(project, ray_cluster, "flow.py", "run", timeout=120)
    assert done.returncode == 1
    assert time.monotonic() - started < 60  # not left pending until the cluster grows
    out = done.stdout + done.stderr
    assert "InfeasibleResources" in out
    assert "@parallel gang of 3 tasks that must run each on a node of its own" in out
    assert _read(project)["ok"] is False


def test_a_failing_task_stops_its_gang_on_the_cluster(
    project: Project, ray_cluster: RayCluster
) -> None:
    project.write("flow.py", FLOW.format(n=2, placement="SPREAD"))
    started = time.monotonic()
    done = ray_run(project, ray_cluster, "flow.py", "run", "--fail", "true", timeout=200)
    assert done.returncode == 1
    assert time.monotonic() - started < 120  # node 0's sleep was cancelled, not awaited
    assert "ValueError: node 1 broke" in done.stdout + done.stderr
    assert _read(project)["ok"] is False


WAIT_FLOW = """
import os, time
from ketch import FlowSpec, current, on_ray, parallel, step


class WaitFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.busy, self.split)

    @on_ray
    @step
    def busy(self):  # holds one node's only CPU for a while
        self.busy_span = (time.time(), time.sleep(4) or time.time())
        self.next(self.join)

    @step
    def split(self):
        time.sleep(1)  # let busy take its CPU first
        self.next(self.train, num_parallel=2)

    @on_ray
    @parallel(placement="STRICT_SPREAD")
    @step
    def train(self):
        self.started = time.time()
        self.node = os.environ.get("KETCH_RAY_NODE_ID", "")
        self.next(self.train_join)

    @step
    def train_join(self, inputs):
        self.starts = [i.started for i in inputs]
        self.nodes = [i.node for i in inputs]
        self.next(self.join)

    @step
    def join(self, inputs):
        self.busy_span = inputs.busy.busy_span
        self.starts = inputs.train_join.starts
        self.nodes = inputs.train_join.nodes
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    WaitFlow()
"""


def test_a_gang_waits_for_room_then_starts_whole(project: Project, ray_cluster: RayCluster) -> None:
    project.write("flow.py", WAIT_FLOW)
    done = ray_run(project, ray_cluster, "flow.py", "run")
    assert done.returncode == 0, done.stderr + done.stdout
    out = project.client(
        "import json\nfrom ketch import Flow\n"
        "d = Flow('WaitFlow').latest_run['end'].task.data\n"
        "print(json.dumps([d.busy_span, d.starts, d.nodes]))"
    )
    assert out.returncode == 0, out.stderr
    busy_span, starts, nodes = json.loads(out.stdout)
    assert len(set(nodes)) == 2
    # Both nodes were needed, so the gang started only once `busy` gave its CPU back.
    assert min(starts) >= busy_span[1] - 0.5
