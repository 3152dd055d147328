"""The Ray executor end to end, on a real 2-node Ray cluster (``tests/_raycluster.py``).

Every run is a real ``python flow.py run`` started inside the cluster's network namespace, as a
user on a machine of the cluster would start it, and read back through the Client API. The
nodes are told apart by the node id that each task sees in ``KETCH_RAY_NODE_ID``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from _raycluster import RayCluster
from flowrun import Project

pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.ray]

FLOW = """
import json, os, subprocess, sys, time
from ketch import (FlowSpec, Parameter, catch, current, environment, local, on_ray, resources,
                   retry, step, timeout)

SEEN = []  # module state: a task that saw another task's entry would leak state

class RayFlow(FlowSpec):
    n = Parameter("n", default=6)
    nap = Parameter("nap", default=0.0)
    mode = Parameter("mode", default="ok")

    @step
    def start(self):
        self.start_node = os.environ.get("KETCH_RAY_NODE_ID", "")
        self.items = list(range(self.n))
        print("start says hello")
        self.next(self.work, foreach="items")

    @step
    def work(self):
        SEEN.append(self.input)
        self.seen = list(SEEN)
        self.node = os.environ.get("KETCH_RAY_NODE_ID", "")
        print(f"work {self.input} on {self.node}", flush=True)
        if self.mode == "block":
            marker = "sleeper-" + os.environ["TOKEN"]
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker])
            open(os.environ["STARTED"], "a").write(f"{self.input}\\n")
            time.sleep(600)
        if self.mode == "fail" and self.input == 1:
            raise ValueError(f"item {self.input} is bad")
        time.sleep(self.nap)
        self.square = self.input ** 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.nodes = sorted({i.node for i in inputs})
        self.total = sum(i.square for i in inputs)
        self.leaks = [i.seen for i in inputs if len(i.seen) != 1]
        self.next(self.end)

    @local
    @step
    def end(self):
        self.end_node = os.environ.get("KETCH_RAY_NODE_ID", "")
        print("total", self.total)

if __name__ == "__main__":
    RayFlow()
"""

READ = """
import json
from ketch import Flow, namespace
namespace(None)
run = Flow("RayFlow").latest_run
steps = {s.id: list(s) for s in run}
work = steps["work"]
print(json.dumps({
    "ok": run.successful,
    "start_node": run["start"].task.data.start_node,
    "work_nodes": sorted({t.data.node for t in work if t.successful}),
    "total": run["join"].task.data.total if run.successful else None,
    "leaks": run["join"].task.data.leaks if run.successful else None,
    "end_node": run["end"].task.data.end_node if run.successful else None,
    "stdout": sorted(t.stdout for t in work),
    "start_stdout": run["start"].task.stdout,
    "exceptions": sorted(str(t.exception) for t in work if not t.successful),
    "attempts": sorted(int(t.metadata_dict.get("attempt", 0)) for t in work),
}))
"""


def ray_run(
    project: Project, cluster: RayCluster, *args: str, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python <args>`` in the project, inside the cluster's network namespace."""
    return subprocess.run(
        cluster.command([sys.executable, *args]),
        cwd=project.root,
        env=project.env(**{**cluster.env(), **env}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_run(project: Project) -> dict[str, object]:
    done = project.client(READ)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture
def flow(project: Project) -> Project:
    project.write("flow.py", FLOW)
    return project


def test_a_foreach_runs_on_both_nodes_and_reads_back(flow: Project, ray_cluster: RayCluster):
    done = ray_run(flow, ray_cluster, "flow.py", "run", "--executor", "ray", "--nap", "1")
    assert done.returncode == 0, done.stderr + done.stdout
    got = read_run(flow)
    assert got["ok"] and got["total"] == sum(i * i for i in range(6))
    assert len(got["work_nodes"]) == 2  # type: ignore[arg-type]
    assert got["start_node"] in got["work_nodes"]  # type: ignore[operator]
    assert got["end_node"] == ""  # @local: on the launching machine, under --executor ray
    assert got["leaks"] == []  # each task forked from a clean server: no module state leaks
    # Output was streamed live to the launching terminal and stored as each task's log.
    assert "start says hello" in done.stdout and "start says hello" in str(got["start_stdout"])
    for i in range(6):
        assert any(f"work {i} on " in line for line in done.stdout.splitlines())
        assert any(out.startswith(f"work {i} on ") for out in got["stdout"])  # type: ignore[attr-defined]


def test_on_ray_sends_one_step_and_the_rest_stays_local(flow: Project, ray_cluster: RayCluster):
    source = FLOW.replace(
        "    @step\n    def work(self):", "    @on_ray\n    @step\n    def work(self):"
    )
    flow.write("flow.py", source)
    done = ray_run(flow, ray_cluster, "flow.py", "run", "--n", "3")
    assert done.returncode == 0, done.stderr + done.stdout
    got = read_run(flow)
    assert got["start_node"] == "" and got["end_node"] == ""
    assert got["work_nodes"] and "" not in got["work_nodes"]  # type: ignore[operator]


def test_with_on_ray_places_every_step_but_the_local_one(flow: Project, ray_cluster: RayCluster):
    done = ray_run(flow, ray_cluster, "flow.py", "--with", "on_ray", "run", "--n", "2")
    assert done.returncode == 0, done.stderr + done.stdout
    got = read_run(flow)
    assert got["start_node"] != "" and got["end_node"] == ""


def test_a_failing_step_fails_the_run_with_its_exception(flow: Project, ray_cluster: RayCluster):
    done = ray_run(flow, ray_cluster, "flow.py", "run", "--executor", "ray", "--mode", "fail")
    assert done.returncode == 1
    assert "ValueError: item 1 is bad" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr.split("Task failed")[-1]  # no ketch traceback at the end
    got = read_run(flow)
    assert got["ok"] is False
    assert any("item 1 is bad" in e for e in got["exceptions"])  # type: ignore[attr-defined]


def test_a_gpu_step_on_a_cluster_without_gpus_fails_at_once(
    project: Project, ray_cluster: RayCluster
):
    project.write(
        "flow.py",
        """
        from ketch import FlowSpec, on_ray, resources, step

        class GpuFlow(FlowSpec):
            @step
            def start(self):
                self.next(self.train)

            @resources(gpu=1)
            @on_ray
            @step
            def train(self):
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            GpuFlow()
        """,
    )
    started = time.monotonic()
    done = ray_run(project, ray_cluster, "flow.py", "run", timeout=120)
    assert time.monotonic() - started < 60  # Ray alone would leave the task pending forever
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert "InfeasibleResources: step train asks for cpu=1, gpu=1" in out
    assert "no node of the Ray cluster" in out and "node2=1" in out
    assert "Traceback" not in out


def test_timeout_is_enforced_on_the_worker(project: Project, ray_cluster: RayCluster):
    project.write(
        "flow.py",
        """
        import time
        from ketch import FlowSpec, step, timeout

        class SlowFlow(FlowSpec):
            @timeout(seconds=2)
            @step
            def start(self):
                time.sleep(120)
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            SlowFlow()
        """,
    )
    started = time.monotonic()
    done = ray_run(project, ray_cluster, "flow.py", "run", "--executor", "ray")
    assert done.returncode == 1
    assert time.monotonic() - started < 60
    assert "timed out after 0 hours, 0 minutes, 2 seconds" in done.stdout + done.stderr


def _cluster_processes(token: str) -> list[int]:
    """Processes on this machine whose command line holds ``token``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if token.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_ctrl_c_cancels_every_remote_task(flow: Project, ray_cluster: RayCluster, tmp_path: Path):
    token = f"ketch-ray-test-{uuid.uuid4().hex}"
    started = tmp_path / "started"
    env = {**flow.env(**ray_cluster.env()), "TOKEN": token, "STARTED": str(started)}
    # The launching shell's variables do not reach remote tasks: @environment carries them.
    spec = "environment:vars=" + json.dumps({"TOKEN": token, "STARTED": str(started)})
    proc = subprocess.Popen(
        ray_cluster.command(
            [sys.executable, "flow.py", "--with", spec, "run", "--executor", "ray"]
            + ["--n", "2", "--mode", "block"]
        ),
        cwd=flow.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (started.exists() and len(started.read_text().split()) == 2):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the tasks never started"
        time.sleep(0.1)
    sleepers = f"sleeper-{token}"  # only the children of the tasks have it in their command
    assert len(_cluster_processes(sleepers)) == 2  # one per task, one task per node
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err
    assert "interrupted" in err
    deadline = time.monotonic() + 15
    while _cluster_processes(sleepers):
        assert time.monotonic() < deadline, "a task's process outlived the run"
        time.sleep(0.2)


def test_an_unreachable_cluster_is_refused_at_once(flow: Project, ray_cluster: RayCluster):
    started = time.monotonic()
    done = ray_run(
        flow, ray_cluster, "flow.py", "run", "--executor", "ray", RAY_ADDRESS="127.0.0.1:1"
    )
    assert time.monotonic() - started < 30
    assert done.returncode == 1
    assert "Cannot connect to the Ray cluster at 127.0.0.1:1" in done.stderr
    assert "Traceback" not in done.stderr


def test_node_loss_with_retry_completes_on_the_other_node(
    flow: Project, fresh_ray_cluster: RayCluster, tmp_path: Path
):
    got = _kill_node_mid_foreach(
        flow, fresh_ray_cluster, tmp_path, "--with", "retry:times=1,minutes_between_retries=0"
    )
    assert got["proc"] == 0, got["output"]
    assert "NodeLost" in str(got["output"])  # the failed attempt says why
    run = read_run(flow)
    assert run["ok"] and run["total"] == sum(i * i for i in range(4))
    assert run["attempts"][-1] == 1  # type: ignore[index]  # the lost task's second attempt


def test_node_loss_without_retry_fails_cleanly_and_resume_completes(
    flow: Project, fresh_ray_cluster: RayCluster, tmp_path: Path
):
    got = _kill_node_mid_foreach(flow, fresh_ray_cluster, tmp_path)
    assert got["proc"] == 1
    output = str(got["output"])
    assert "NodeLost: the Ray node that ran the task was lost" in output
    assert "Traceback" not in output
    run = read_run(flow)
    assert run["ok"] is False
    assert any("NodeLost" in e for e in run["exceptions"])  # type: ignore[attr-defined]
    done = ray_run(flow, fresh_ray_cluster, "flow.py", "resume", "--executor", "ray")
    assert done.returncode == 0, done.stderr + done.stdout
    resumed = read_run(flow)
    assert resumed["ok"] and resumed["total"] == sum(i * i for i in range(4))


def _kill_node_mid_foreach(
    flow: Project, cluster: RayCluster, tmp_path: Path, *options: str
) -> dict[str, object]:
    """Run a 4-task foreach (one task per node at a time), kill node 2 while both nodes run a
    task, and return the run's exit code and output."""
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            cluster.command(
                [sys.executable, "flow.py", *options, "run", "--executor", "ray"]
                + ["--n", "4", "--nap", "6"]
            ),
            cwd=flow.root,
            env=flow.env(**cluster.env()),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 120
        while len({line.split(" on ")[-1] for line in _work_lines(log)}) < 2:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        cluster.kill_node(1)
        code = proc.wait(timeout=240)
    return {"proc": code, "output": log.read_text()}


def _work_lines(log: Path) -> list[str]:
    return [line.strip() for line in log.read_text().splitlines() if "] work " in line]


def test_ray_is_not_imported_by_a_local_run(flow: Project):
    done = flow.run("-X", "importtime", "flow.py", "run", "--n", "1")
    assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "ketch.flow" in imported  # the probe works
    assert not {name for name in imported if name == "ray" or name.startswith("ray.")}


GPU_FLOW = """
import os
from ketch import FlowSpec, on_ray, resources, step

class GpuFlow(FlowSpec):
    @on_ray
    @step
    def start(self):
        self.plain = os.environ.get("CUDA_VISIBLE_DEVICES")
        self.next(self.train)

    @resources(gpu=1)
    @on_ray
    @step
    def train(self):
        self.devices = os.environ.get("CUDA_VISIBLE_DEVICES")
        self.node = os.environ["KETCH_RAY_NODE_ID"]
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    GpuFlow()
"""


def test_a_gpu_step_runs_where_ray_has_a_gpu_and_sees_its_device(
    project: Project, fresh_ray_cluster: RayCluster
):
    """A node that declares a GPU (Ray counts what ``ray start --num-gpus`` says; this machine
    has none to use): the GPU step is placed there and its task sees the device Ray gave it."""
    fresh_ray_cluster.add_node(num_gpus=1)
    project.write("flow.py", GPU_FLOW)
    done = ray_run(project, fresh_ray_cluster, "flow.py", "run")
    assert done.returncode == 0, done.stderr + done.stdout
    read = project.client(
        "from ketch import Flow\nrun = Flow('GpuFlow').latest_run\n"
        "print(run['train'].task.data.devices, repr(run['start'].task.data.plain))"
    )
    assert read.returncode == 0, read.stderr
    devices, plain = read.stdout.split()
    assert devices == "0"  # the one GPU of that node, as Ray numbers it
    assert plain in ("None", "''")  # a task that asked for no GPU is given none
