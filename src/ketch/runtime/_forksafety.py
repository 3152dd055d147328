"""Whether the launching process can still be forked safely, once the flow module is imported.

The fork server is forked from the launching process after the flow file was imported, and every
task is forked from it; whatever the import did is inherited by every task. Most imports leave
nothing behind that a fork breaks, but some do:

* a GPU context: the CUDA driver (PyTorch, CuPy, JAX, TensorFlow) or ROCm was initialised. A
  forked child cannot use it (PyTorch: "Cannot re-initialize CUDA in forked subprocess"), and
  it holds device memory in the parent;
* a framework runtime with threads of its own (JAX's backends, TensorFlow): a child forked while
  they run may deadlock on a lock one of them held;
* Python threads started by the import: a forked child has only the thread that forked, and
  any lock another thread held stays locked in it forever.

:func:`fork_hazards` names each such thing found in the current process. A flow with any runs
its tasks in fresh interpreters (``spawn``), as Metaflow runs every task, and ketch says why.
``torch.cuda.is_available()`` alone does not count: ketch asks PyTorch to answer it through
NVML, which creates no CUDA context (see ``ketch/__init__.py``).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

# Device files that a process opens only once a GPU runtime is initialised in it (NVML, which
# answers "how many GPUs" without a context, opens /dev/nvidiactl and /dev/nvidiaN only).
GPU_RUNTIME_DEVICES = ("/dev/nvidia-uvm", "/dev/kfd")
# Frameworks that take most of a GPU's memory when their GPU runtime starts.
GREEDY_FRAMEWORKS = ("jax", "tensorflow")


@dataclass(frozen=True)
class Hazard:
    """One thing that makes a process unsafe to fork."""

    reason: str
    holds_gpu: bool = False


def fork_hazards() -> list[Hazard]:
    """What makes this process unsafe to fork (empty: safe)."""
    return [hazard for probe in _PROBES if (hazard := probe()) is not None]


def should_release_gpu(hazards: list[Hazard]) -> bool:
    """Whether the launching process holds a GPU through a framework that keeps most of its
    memory (JAX, TensorFlow): then it must not stay the scheduler (see ``_gpu``)."""
    return any(h.holds_gpu for h in hazards) and greedy_framework_imported()


def greedy_framework_imported() -> bool:
    """Whether JAX or TensorFlow, which take most of a GPU as their GPU runtime starts, is
    imported in this process."""
    return any(name in sys.modules for name in GREEDY_FRAMEWORKS)


def gpu_runtime_files(fd_dir: str = "/proc/self/fd") -> list[str]:
    """The GPU runtime device files this process holds open (Linux; elsewhere empty)."""
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return []
    held = set()
    for name in names:
        try:
            target = os.readlink(os.path.join(fd_dir, name))
        except OSError:
            continue
        if target.startswith(GPU_RUNTIME_DEVICES):
            held.add(target)
    return sorted(held)


def _gpu_files() -> Hazard | None:
    held = gpu_runtime_files()
    if held:
        return Hazard(f"a GPU runtime is initialised ({', '.join(held)} open)", holds_gpu=True)
    return None


def _torch() -> Hazard | None:
    torch = sys.modules.get("torch")
    cuda = getattr(torch, "cuda", None)
    is_initialized = getattr(cuda, "is_initialized", None)
    if callable(is_initialized) and is_initialized():
        return Hazard("PyTorch initialised CUDA (torch.cuda.is_initialized())", holds_gpu=True)
    return None


def _jax() -> Hazard | None:
    bridge = sys.modules.get("jax._src.xla_bridge")
    backends = getattr(bridge, "_backends", None)
    if backends:
        names = ", ".join(sorted(str(name) for name in backends))
        gpu = any(name != "cpu" for name in backends)
        return Hazard(f"JAX started its runtime and its threads ({names})", holds_gpu=gpu)
    return None


def _tensorflow() -> Hazard | None:
    if "tensorflow" in sys.modules:
        return Hazard("TensorFlow is imported (its runtime is not fork-safe)")
    return None


def _threads() -> Hazard | None:
    main = threading.main_thread()
    others = [t.name for t in threading.enumerate() if t is not main and t.is_alive()]
    if others:
        return Hazard(f"threads were started ({', '.join(sorted(others))})")
    return None


_PROBES: tuple[Callable[[], Hazard | None], ...] = (
    _gpu_files,
    _torch,
    _jax,
    _tensorflow,
    _threads,
)
