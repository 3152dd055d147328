"""Flows that use GPU frameworks: fork safety, GPU placement, and the launcher holding no GPU.

CI has no GPU: the flows import the stand-ins of ``standins/`` (see its README), which keep
the behaviour of CUDA, PyTorch and JAX that these tests are about.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

STANDINS = Path(__file__).resolve().parent / "standins"

TORCH_FLOW = """
import os, time
import torch
from ketch import FlowSpec, resources, step

{module_level}

class GpuFlow(FlowSpec):
    @step
    def start(self):
        self.seeds = list(range({n}))
        self.start_visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        self.next(self.train, foreach="seeds")

    @resources(gpu={gpu})
    @step
    def train(self):
        t0 = time.time()
        x = torch.ones(8, device="cuda")
        self.total = x.sum() * (self.input + 1)
        self.visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        time.sleep({sleep})
        self.span = (t0, time.time())
        self.next(self.join)

    @step
    def join(self, inputs):
        self.totals = [i.total for i in inputs]
        self.placed = [(i.visible, i.span) for i in inputs]
        self.start_visible = inputs[0].start_visible
        self.next(self.end)

    @step
    def end(self):
        print("totals", self.totals)

if __name__ == "__main__":
    GpuFlow()
"""


def _torch_flow(
    project,  # type: ignore[no-untyped-def]
    module_level: str,
    *,
    n: int = 4,
    gpu: int = 1,
    sleep: float = 0.0,
) -> None:
    shutil.copytree(STANDINS / "torch", project.root / "torch")
    project.write(
        "flow.py", TORCH_FLOW.format(module_level=module_level, n=n, gpu=gpu, sleep=sleep)
    )


def _end_data(project, *names: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    out = project.client(
        f"""
        import json
        from ketch import Flow
        run = Flow("GpuFlow").latest_run
        print(json.dumps({{"ok": run.successful, **{{k: getattr(run["join"].task.data, k)
                                                   for k in {list(names)!r}}}}}))
        """
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_cuda_initialised_at_import_runs_tasks_in_fresh_interpreters(project) -> None:  # type: ignore[no-untyped-def]
    _torch_flow(project, 'WARM = torch.zeros(1, device="cuda")')
    proc = project.run("flow.py", "run", CUDA_VISIBLE_DEVICES="0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = [line for line in proc.stdout.splitlines() if "fresh interpreters" in line]
    assert len(said) == 1, proc.stdout
    assert "flow.py" in said[0] and "PyTorch initialised CUDA" in said[0]
    assert _end_data(project, "totals")["totals"] == [8.0, 16.0, 24.0, 32.0]


def test_forcing_fork_shows_why_auto_does_not(project) -> None:  # type: ignore[no-untyped-def]
    """The stand-in is as unforgiving as CUDA: forked tasks cannot use it."""
    _torch_flow(project, 'WARM = torch.zeros(1, device="cuda")')
    proc = project.run("flow.py", "run", "--executor", "fork", CUDA_VISIBLE_DEVICES="0")
    assert proc.returncode == 1
    assert "Cannot re-initialize CUDA in forked subprocess" in proc.stdout + proc.stderr
    assert "Warning: forking tasks although" in proc.stdout


def test_is_available_at_import_keeps_the_fork_server(project) -> None:  # type: ignore[no-untyped-def]
    _torch_flow(project, "HAS_CUDA = torch.cuda.is_available()")
    proc = project.run("flow.py", "run", "--executor", "auto", CUDA_VISIBLE_DEVICES="0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "fresh interpreters" not in proc.stdout
    assert _end_data(project, "totals")["totals"] == [8.0, 16.0, 24.0, 32.0]


def test_threads_started_at_import_run_tasks_in_fresh_interpreters(project) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(STANDINS / "threadstart.py", project.root)
    project.write(
        "flow.py",
        """
        import os
        import threadstart
        from ketch import FlowSpec, step

        class ThreadFlow(FlowSpec):
            @step
            def start(self):
                self.pid = os.getpid()
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            ThreadFlow()
        """,
    )
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "threads were started (loader-pool)" in proc.stdout
    assert "fork" not in proc.stderr  # nothing was forked: no warning about it from Python
    # The metadata writer, too, started as a fresh process, and recorded the run.
    out = project.client("from ketch import Flow; print(Flow('ThreadFlow').latest_run.successful)")
    assert out.stdout.split() == ["True"], out.stdout + out.stderr


def test_gpu_tasks_get_their_own_devices(project) -> None:  # type: ignore[no-untyped-def]
    _torch_flow(project, "", n=6, sleep=0.4)
    proc = project.run("flow.py", "run", "--max-workers", "8", CUDA_VISIBLE_DEVICES="3,5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = _end_data(project, "placed", "start_visible")
    placed = data["placed"]
    assert isinstance(placed, list)
    assert sorted({visible for visible, _ in placed}) == ["3", "5"]
    for i, (dev_a, (a0, a1)) in enumerate(placed):  # one task per GPU at a time
        for dev_b, (b0, b1) in placed[i + 1 :]:
            if dev_a == dev_b:
                assert a1 <= b0 or b1 <= a0, placed
    starts = sorted(span[0] for _, span in placed)
    assert starts[2] - starts[0] >= 0.35, "a third GPU task started while two ran"
    assert data["start_visible"] == "3,5", "a step that asks for no GPU sees them all"


def test_more_gpus_than_the_machine_has_fails_before_the_run(project) -> None:  # type: ignore[no-untyped-def]
    _torch_flow(project, "", gpu=3)
    proc = project.run("flow.py", "run", CUDA_VISIBLE_DEVICES="0,1")
    assert proc.returncode == 1
    assert "Not enough GPUs" in proc.stderr
    assert "Step 'train' asks for 3 GPUs" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (project.root / ".ketch" / "ketch.db").exists(), "no run was recorded"


def test_no_gpu_at_all_runs_gpu_steps_without_one(project) -> None:  # type: ignore[no-untyped-def]
    _torch_flow(project, "")
    proc = project.run("flow.py", "run", CUDA_VISIBLE_DEVICES="")
    # The stand-in, like PyTorch, cannot make a CUDA tensor without a GPU: the point is that
    # ketch starts the run (as Metaflow does locally) and says so.
    assert "this machine has no GPU; the steps that ask for one (train)" in proc.stdout


def test_launcher_holding_a_jax_gpu_starts_again_without_it(project) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(STANDINS / "jax", project.root / "jax")
    project.write(
        "flow.py",
        """
        import os
        import jax
        from ketch import FlowSpec, step

        DEVICES = jax.devices()

        class JaxFlow(FlowSpec):
            @step
            def start(self):
                self.launcher_platform = None
                self.platform = jax.devices()[0].platform
                self.jax_platforms = os.environ.get("JAX_PLATFORMS")
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            JaxFlow()
        """,
    )
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr.count("starting again with the GPUs hidden") == 1, proc.stderr
    assert "fresh interpreters" in proc.stdout  # the relaunched import started JAX's thread
    out = project.client(
        """
        from ketch import Flow
        t = Flow("JaxFlow").latest_run["start"].task
        print(t.data.platform, t.data.jax_platforms)
        """
    )
    assert out.stdout.split() == ["cuda", "None"], out.stdout + out.stderr


def test_spawned_tasks_import_the_flow_while_the_previous_task_runs(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "flow.py",
        """
        import os, time
        from ketch import FlowSpec, step

        IMPORTED_AT = time.time()
        print("imported in", os.getpid())

        class SpareFlow(FlowSpec):
            @step
            def start(self):
                self.log = [(os.getpid(), IMPORTED_AT, time.time())]
                time.sleep(1.0)
                self.next(self.middle)

            @step
            def middle(self):
                self.log = self.log + [(os.getpid(), IMPORTED_AT, time.time())]
                time.sleep(1.0)
                self.next(self.end)

            @step
            def end(self):
                self.log = self.log + [(os.getpid(), IMPORTED_AT, time.time())]

        if __name__ == "__main__":
            SpareFlow()
        """,
    )
    proc = project.run("flow.py", "run", "--executor", "spawn")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = project.client(
        """
        import json
        from ketch import Flow
        run = Flow("SpareFlow").latest_run
        print(json.dumps({"log": run["end"].task.data.log,
                          "stdout": [run[s].task.stdout for s in ("start", "middle", "end")]}))
        """
    )
    data = json.loads(out.stdout)
    (pid0, _, began0), (pid1, imported1, began1), (pid2, imported2, began2) = data["log"]
    assert len({pid0, pid1, pid2}) == 3, "each task is a fresh interpreter"
    assert imported1 < began0 + 1.0 and imported2 < began1 + 1.0, "imported during the last task"
    for pid, stdout in zip((pid0, pid1, pid2), data["stdout"], strict=True):
        assert f"imported in {pid}" in stdout  # a spare's import output is its task's


def test_a_spare_still_importing_is_not_handed_a_task(project) -> None:  # type: ignore[no-untyped-def]
    """A spare whose import is slow and then fails never takes a task: the task that came
    while it was importing started afresh, and the run succeeds."""
    project.write(
        "flow.py",
        """
        import pathlib, sys, time
        from ketch import FlowSpec, step

        _marker = pathlib.Path(__file__).with_name("failed-once")
        if "--spare" in sys.argv and not _marker.exists():  # the first spare: slow, then fails
            _marker.write_text("")
            time.sleep(3)
            raise RuntimeError("this import fails once, late")

        class SlowImportFlow(FlowSpec):
            @step
            def start(self):
                self.next(self.end)

            @step
            def end(self):
                print("END", "--spare" in sys.argv)

        if __name__ == "__main__":
            SlowImportFlow()
        """,
    )
    proc = project.run("flow.py", "run", "--executor", "spawn")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (project.root / "failed-once").exists()
    assert "END False" in proc.stdout
    assert "this import fails once" not in proc.stdout + proc.stderr


def test_a_spare_whose_import_failed_is_replaced_by_a_fresh_start(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "flow.py",
        """
        import pathlib, sys, time
        from ketch import FlowSpec, step

        _marker = pathlib.Path(__file__).with_name("failed-once")
        if "--spare" in sys.argv and not _marker.exists():  # the first spare's import fails
            _marker.write_text("")
            raise RuntimeError("this import fails once")

        class FlakyImportFlow(FlowSpec):
            @step
            def start(self):
                time.sleep(0.5)  # the spare's import fails meanwhile
                self.next(self.end)

            @step
            def end(self):
                print("END", "--spare" in sys.argv)

        if __name__ == "__main__":
            FlakyImportFlow()
        """,
    )
    proc = project.run("flow.py", "run", "--executor", "spawn")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (project.root / "failed-once").exists()
    assert "END False" in proc.stdout  # the end task started afresh
