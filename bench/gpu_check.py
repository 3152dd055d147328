"""The GPU machine check: GPU frameworks in tasks, GPU placement, and speed beside Metaflow.

Run on a machine with an NVIDIA GPU, PyTorch and JAX (the device machine has both, for Python
3.12); what it lacks travels as wheels (``bench/gpu_wheels.sh`` downloads them into ``.whl``)::

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD/src && \
        PYTHONUNBUFFERED=1 python3 -m bench.gpu_check --out "$OUT"

Each flow runs unchanged on ketch (default executor) and on Metaflow 2.19 (same interpreter,
``from metaflow import``), runs alternating. It prints one line per check and writes
``gpu_check.json``:

* ``torch_available``: ``torch.cuda.is_available()`` at module level, a 4-way foreach that
  trains on the GPU with ``@resources(gpu=1)`` (ketch must keep the fork server);
* ``torch_init``: the module touches CUDA at import (ketch must switch to fresh interpreters);
* ``jax``: ``jax.devices()`` at module level (Metaflow runs out of memory: four tasks each take
  75 % of the GPU; ketch must hide the GPU from its scheduler and run one GPU task at a time);
* ``gpu_overhead``: 16 tiny GPU tasks with and without ``@resources(gpu=1)``: wall per task;
* ``shared_gpu``: 4 tasks that share the one GPU at once (no ``@resources``);
* ``cpu_foreach``: a 200-task CPU foreach with ``--max-workers 16``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TRAIN = """
    @step
    def start(self):
        self.seeds = list(range(4))
        self.next(self.train, foreach="seeds")

    @resources(gpu=1)
    @step
    def train(self):
        torch.manual_seed(self.input)
        x = torch.randn(4096, 4096, device="cuda")
        w = torch.zeros(4096, 1, device="cuda", requires_grad=True)
        y = x[:, :1] * 3.0
        for _ in range(50):
            loss = ((x @ w - y) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
                w.grad.zero_()
        self.loss = round(float(loss), 4)
        self.visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        self.next(self.join)

    @step
    def join(self, inputs):
        self.losses = [i.loss for i in inputs]
        self.visible = [i.visible for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        print("RESULT", json.dumps({"losses": self.losses, "visible": self.visible}))
"""

FLOWS = {
    "torch_available": "import json, os\nimport torch\n{imports}\n"
    "HAS_CUDA = torch.cuda.is_available()\n\nclass GpuFlow(FlowSpec):" + TRAIN,
    "torch_init": "import json, os\nimport torch\n{imports}\n"
    'WARM = torch.zeros(1, device="cuda")\n\nclass GpuFlow(FlowSpec):' + TRAIN,
    "jax": """import json, os
import jax
import jax.numpy as jnp
{imports}

DEVICES = jax.devices()

class GpuFlow(FlowSpec):
    @step
    def start(self):
        self.seeds = list(range(4))
        self.next(self.train, foreach="seeds")

    @resources(gpu=1)
    @step
    def train(self):
        x = jax.random.normal(jax.random.PRNGKey(self.input), (4096, 4096))
        self.value = round(float(jnp.abs(x @ x).mean()), 2)
        self.platform = x.devices().pop().platform
        self.next(self.join)

    @step
    def join(self, inputs):
        self.values = [i.value for i in inputs]
        self.platforms = [i.platform for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        print("RESULT", json.dumps({"values": self.values, "platforms": self.platforms}))
""",
    "gpu_overhead": """import json
import torch
{imports}

class GpuFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(16))
        self.next(self.work, foreach="items")

    {resources}
    @step
    def work(self):
        self.y = float(torch.ones(4, device="cuda").sum()) * self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.y for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print("RESULT", json.dumps({"total": self.total}))
""",
    "shared_gpu": """import json
import torch
{imports}

class GpuFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(4))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        torch.manual_seed(self.input)
        x = torch.randn(8192, 8192, device="cuda")
        for _ in range(20):
            x = torch.tanh(x @ x / 8192)
        self.y = round(float(x.abs().mean()), 4)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.ys = [i.y for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        print("RESULT", json.dumps({"ys": self.ys}))
""",
}
CPU_FLOW = Path(__file__).resolve().parent / "flows" / "foreach.py"


def _source(name: str, framework: str, resources: str = "") -> str:
    imports = f"from {framework} import FlowSpec, resources, step"
    return FLOWS[name].replace("{imports}", imports).replace("{resources}", resources) + (
        '\n\nif __name__ == "__main__":\n    GpuFlow()\n'
    )


def _run(framework: str, directory: Path, args: list[str], timeout: float) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KETCH_", "METAFLOW_"))}
    env["USER"] = "gpucheck"
    top = ["--no-pylint"] if framework == "metaflow" else []
    cmd = [sys.executable, "flow.py", *top, "run", *args]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, cwd=directory, env=env, capture_output=True, text=True, timeout=timeout
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = -1, str(exc.stdout or ""), f"timed out after {timeout:g} s"
    wall = time.perf_counter() - started
    found = re.search(r"RESULT (\{.*\})", out)
    return {
        "ok": code == 0,
        "wall_s": round(wall, 3),
        "result": json.loads(found.group(1)) if found else None,
        "said": [line for line in (out + err).splitlines() if "fresh interpreters" in line][:1],
        "tail": (out + err)[-1500:] if code != 0 else "",
    }


def _flow_check(
    name: str, root: Path, *, resources: str = "", args: tuple[str, ...] = ()
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for framework in ("metaflow", "ketch"):
        directory = root / f"{name}-{framework}-{len(resources)}"
        directory.mkdir()
        (directory / "flow.py").write_text(_source(name, framework, resources))
        results[framework] = _run(framework, directory, list(args), timeout=600)
    return results


def _cpu_foreach(root: Path, repeats: int) -> dict[str, Any]:
    walls: dict[str, list[float]] = {"ketch": [], "metaflow": []}
    for i in range(repeats):
        for framework in ("metaflow", "ketch"):
            directory = root / f"cpu-{framework}-{i}"
            directory.mkdir()
            text = CPU_FLOW.read_text().replace("from metaflow import", f"from {framework} import")
            (directory / "flow.py").write_text(text)
            args = ["--n", "200", "--max-workers", "16", "--max-num-splits", "200"]
            got = _run(framework, directory, args, timeout=600)
            if not got["ok"]:
                return {framework: got}
            walls[framework].append(got["wall_s"])
    return {fw: {"wall_s": sorted(w)[len(w) // 2], "all": w} for fw, w in walls.items()}


def _line(name: str, results: dict[str, Any]) -> str:
    parts = []
    for framework in ("ketch", "metaflow"):
        got = results.get(framework)
        if got:
            state = "ok" if got.get("ok", True) else "FAILED"
            parts.append(f"{framework} {state} {got['wall_s']:.2f} s")
    ratio = ""
    if all(results.get(f, {}).get("ok", True) and f in results for f in ("ketch", "metaflow")):
        ratio = f"  ({results['metaflow']['wall_s'] / results['ketch']['wall_s']:.1f}x)"
    return f"{name:<22} " + ", ".join(parts) + ratio


def _machine() -> dict[str, str]:
    """What the check ran on: the GPUs and the frameworks' versions."""
    probe = (
        "import json, torch, jax, metaflow, ketch; print(json.dumps({'torch': torch.__version__, "
        "'cuda': torch.cuda.is_available(), 'jax': jax.__version__, "
        "'metaflow': metaflow.__version__, 'cores': __import__('os').cpu_count()}))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    smi = shutil.which("nvidia-smi")
    gpus = subprocess.run([smi, "-L"], capture_output=True, text=True).stdout if smi else ""
    return {"frameworks": done.stdout.strip() or done.stderr[-300:], "gpus": gpus.strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=".", help="Folder for gpu_check.json.")
    parser.add_argument("--repeats", type=int, default=3, help="Runs of the CPU foreach.")
    options = parser.parse_args()
    report: dict[str, Any] = {"machine": _machine()}
    print(json.dumps(report["machine"]), flush=True)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as scratch:
        root = Path(scratch)
        for name in ("torch_available", "torch_init", "jax", "shared_gpu"):
            report[name] = _flow_check(name, root)
            print(_line(name, report[name]), flush=True)
        report["gpu_overhead"] = _flow_check("gpu_overhead", root)
        report["gpu_overhead_resources"] = _flow_check(
            "gpu_overhead", root, resources="@resources(gpu=1)"
        )
        for name in ("gpu_overhead", "gpu_overhead_resources"):
            print(_line(name, report[name]) + "  [16 GPU tasks]", flush=True)
        report["cpu_foreach"] = _cpu_foreach(root, options.repeats)
        print(_line("cpu_foreach 200 -w16", report["cpu_foreach"]), flush=True)
    for name in ("torch_available", "torch_init"):
        results = [report[name][fw]["result"] or {} for fw in ("ketch", "metaflow")]
        same = results[0].get("losses") == results[1].get("losses") is not None
        report[name]["same_results"] = same
        said = report[name]["ketch"]["said"]
        print(f"{name}: same results as Metaflow: {same}; ketch said {said}")
    out = Path(options.out) / "gpu_check.json"
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
