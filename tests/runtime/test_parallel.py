"""@parallel steps run locally: the gang starts together, fails together, retries together."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

# Every task of the gang waits until all N have started (a file barrier): a gang whose tasks
# took turns would never get past it, and the step's timeout would fail the run.
TEMPLATE = """
import os, time, json
from pathlib import Path
from ketch import FlowSpec, current, parallel, retry, step

BARRIER = Path(os.environ["BARRIER_DIR"])
ENV = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK")


def barrier(n):
    BARRIER.mkdir(exist_ok=True)
    (BARRIER / f"{{current.retry_count}}-{{current.parallel.node_index}}").touch()
    deadline = time.time() + 30
    while len(list(BARRIER.glob(f"{{current.retry_count}}-*"))) < n:
        if time.time() > deadline:
            raise RuntimeError("the gang did not start together")
        time.sleep(0.02)


class GangFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train, num_parallel={n})

    {decorators}
    @parallel
    @step
    def train(self):
        barrier({n})
        p = current.parallel
        self.seen = dict(
            p._asdict(),
            is_parallel=current.is_parallel,
            task_id=current.task_id,
            env={{k: os.environ.get(k) for k in ENV}},
        )
        {body}
        self.next(self.join)

    @step
    def join(self, inputs):
        self.seen = [inp.seen for inp in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    GangFlow()
"""


def _flow(n: int = 3, body: str = "pass", decorators: str = "") -> str:
    return TEMPLATE.format(n=n, body=body, decorators=decorators)


def _client(project, code: str) -> str:  # type: ignore[no-untyped-def]
    out = project.client("from ketch import Flow\nrun = Flow('GangFlow').latest_run\n" + code)
    assert out.returncode == 0, out.stderr
    return str(out.stdout)


def test_gang_starts_together_even_above_max_workers(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", _flow(n=3))
    barrier = str(project.root / "barrier")
    proc = project.run("flow.py", "run", "--max-workers", "1", BARRIER_DIR=barrier)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "its gang of 3 tasks starts together although --max-workers is 1" in proc.stdout
    dump = "import json; print(json.dumps(run['join'].task.data.seen))"
    seen = json.loads(_client(project, dump))
    assert [s["node_index"] for s in seen] == [0, 1, 2]
    control = seen[0]["task_id"]
    port = seen[0]["env"]["MASTER_PORT"]
    for i, s in enumerate(seen):
        assert (s["num_nodes"], s["main_ip"], s["is_parallel"]) == (3, "127.0.0.1", True)
        assert s["control_task_id"] == control
        assert s["env"] == {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": port,
            "WORLD_SIZE": "3",
            "RANK": str(i),
        }
    out = _client(
        project,
        """
step = run["train"]
print(step.control_task.id, [t.id for t in step.control_tasks()])
for t in step:
    md = t.metadata_dict
    print(t.id, t.index, md["parallel-world-size"], md.get("internal_task_type"))
print(step.control_task["_control_mapper_tasks"].data)
""",
    )
    lines = out.splitlines()
    assert lines[0] == f"{control} ['{control}']"
    ids = [int(control) + i for i in range(3)]
    assert lines[1:4] == [
        f"{ids[0]} 0 3 control_task",
        f"{ids[1]} 1 3 None",
        f"{ids[2]} 2 3 None",
    ]
    mappers = eval(lines[4])  # noqa: S307 - our own client output
    assert [m.split("/")[1:] for m in mappers] == [["train", str(i)] for i in ids]


def test_one_failing_task_fails_the_step(project) -> None:  # type: ignore[no-untyped-def]
    body = (
        "if p.node_index == 1:\n            raise ValueError('node 1 broke')\n"
        "        time.sleep(60)"
    )
    project.write("flow.py", _flow(n=3, body=body))
    proc = project.run("flow.py", "run", BARRIER_DIR=str(project.root / "barrier"), timeout=50)
    assert proc.returncode == 1
    assert "ValueError: node 1 broke" in proc.stdout + proc.stderr
    assert "node 1 of its gang" in proc.stdout + proc.stderr
    out = _client(project, "print(run.successful, sorted(t.successful for t in run['train']))")
    assert out.split() == ["False", "[False,", "False,", "False]"]


def test_retry_runs_the_whole_gang_again(project) -> None:  # type: ignore[no-untyped-def]
    body = (
        "if p.node_index == 2 and current.retry_count == 0:\n"
        "            raise ValueError('first attempt of node 2')"
    )
    project.write("flow.py", _flow(n=3, body=body, decorators="@retry(times=1)"))
    proc = project.run("flow.py", "run", BARRIER_DIR=str(project.root / "barrier"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Retrying the gang of 3 tasks (attempt 1)" in proc.stdout
    out = _client(
        project,
        "print([(t.index, t.current_attempt, t.successful) for t in run['train']])\n"
        "print(len(run['join'].task.data.seen))",
    )
    lines = out.splitlines()
    assert lines[0] == "[(0, 1, True), (1, 1, True), (2, 1, True)]"
    assert lines[1] == "3"


def test_resume_runs_a_failed_gang_again_whole(project) -> None:  # type: ignore[no-untyped-def]
    barrier = str(project.root / "barrier")
    marker = project.root / "fail"
    marker.touch()
    body = (
        "if p.node_index == 1 and Path(os.environ['FAIL_MARKER']).exists():\n"
        "            raise ValueError('node 1 broke')"
    )
    project.write("flow.py", _flow(n=2, body=body))
    env = {"BARRIER_DIR": barrier, "FAIL_MARKER": str(marker)}
    assert project.run("flow.py", "run", **env).returncode == 1
    marker.unlink()
    for leftover in (project.root / "barrier").iterdir():
        leftover.unlink()
    proc = project.run("flow.py", "resume", **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = _client(
        project,
        "print([t.origin_pathspec is None for t in run['train']], "
        "run['start'].task.origin_pathspec is not None)",
    )
    assert out.strip() == "[True, True] True"


TORCH_FLOW = """
import datetime
from ketch import FlowSpec, current, parallel, step


class GlooFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train, num_parallel=3)

    @parallel
    @step
    def train(self):
        import torch
        import torch.distributed as dist

        # env:// reads MASTER_ADDR, MASTER_PORT, WORLD_SIZE and RANK, which the gang sets
        dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
        value = torch.tensor([float(current.parallel.node_index + 1)])
        dist.all_reduce(value)
        self.total = value.item()
        self.world = dist.get_world_size()
        dist.destroy_process_group()
        self.next(self.join)

    @step
    def join(self, inputs):
        self.totals = [inp.total for inp in inputs]
        self.worlds = [inp.world for inp in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    GlooFlow()
"""


def test_torch_distributed_gloo_all_reduce_across_the_gang(project) -> None:  # type: ignore[no-untyped-def]
    try:
        import torch.distributed as dist
    except ImportError:
        pytest.skip("torch is not installed (it is in the test extra: pip install -e '.[test]')")
    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("this torch build has no gloo backend")
    project.write("flow.py", TORCH_FLOW)
    proc = project.run("flow.py", "run", timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = project.client(
        "from ketch import Flow\n"
        "d = Flow('GlooFlow').latest_run['join'].task.data\n"
        "print(d.totals, d.worlds)"
    )
    assert out.stdout.strip() == "[6.0, 6.0, 6.0] [3, 3, 3]", out.stderr


PLAIN = """
from ketch import FlowSpec, current, parallel, step


class PlainFlow(FlowSpec):
    @step
    def start(self):
        self.outside = (tuple(current.parallel), current.is_parallel)
        self.next(self.end)

    {decorator}
    @step
    def end(self):
        pass


if __name__ == "__main__":
    PlainFlow()
"""


def test_current_parallel_outside_a_gang(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", PLAIN.format(decorator=""))
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = project.client(
        "from ketch import Flow\nprint(Flow('PlainFlow').latest_run['start'].task.data.outside)"
    )
    assert out.stdout.strip() == "(('127.0.0.1', 1, 0, None), False)", out.stderr


def test_a_bad_placement_is_a_decorator_error(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", _flow(n=2).replace("@parallel", "@parallel(placement='NEAR')"))
    proc = project.run("flow.py", "run", BARRIER_DIR=str(project.root / "barrier"))
    assert proc.returncode == 1
    assert "@parallel on step 'train'" in proc.stderr
    assert "placement='NEAR' is invalid" in proc.stderr
    assert "STRICT_SPREAD" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_parallel_step_without_num_parallel_is_a_lint_error(project) -> None:  # type: ignore[no-untyped-def]
    source = _flow(n=2).replace("self.next(self.train, num_parallel=2)", "self.next(self.train)")
    path = project.write("flow.py", source)
    proc = project.run("flow.py", "run", BARRIER_DIR=str(project.root / "barrier"))
    assert proc.returncode == 1
    assert str(path) in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


GPU_FLOW = """
import os
from ketch import FlowSpec, current, parallel, resources, step


class GpuGangFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train, num_parallel={n})

    @resources(gpu=1)
    @parallel
    @step
    def train(self):
        self.visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.visible = [inp.visible for inp in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    GpuGangFlow()
"""


def test_each_task_of_a_local_gang_gets_its_own_gpu(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", GPU_FLOW.format(n=2))
    proc = project.run("flow.py", "run", CUDA_VISIBLE_DEVICES="0,1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = project.client(
        "from ketch import Flow\nprint(Flow('GpuGangFlow').latest_run['join'].task.data.visible)"
    )
    assert out.stdout.strip() == "['0', '1']", out.stderr


def test_a_local_gang_needing_more_gpus_than_the_machine_has_fails(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", GPU_FLOW.format(n=3))
    proc = project.run("flow.py", "run", CUDA_VISIBLE_DEVICES="0,1")
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert "Step 'train' is a gang of 3 tasks that ask for 1 GPU(s) each" in out
    assert "this machine has 2" in out
    assert "Traceback" not in out
