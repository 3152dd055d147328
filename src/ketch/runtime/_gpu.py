"""GPUs for local tasks: found without a GPU context, handed out so that no two tasks share one.

* :func:`visible_gpus` lists the GPUs this process may use: ``CUDA_VISIBLE_DEVICES`` when it is
  set (as CUDA and Ray read it), else every GPU that NVML (or ``nvidia-smi``) sees. Neither
  creates a CUDA context, so the scheduler never holds GPU memory.
* :class:`GpuPool` gives each task of a step with ``@resources(gpu=N)`` N devices of its own,
  through ``CUDA_VISIBLE_DEVICES``, and never more at once than there are. A task of a step
  that asks for no GPU sees what the launching process sees, as in Metaflow's local runs: the
  flow's module may touch CUDA when each task imports it.
* :func:`relaunch_without_gpu` restarts the launching process with the GPUs hidden when the
  flow's import left a memory-hungry GPU runtime in it (JAX and TensorFlow take most of a GPU's
  memory when they start); the tasks get the environment back as it was
  (:func:`restore_environ`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field

from ..exceptions import UserError

VISIBLE = "CUDA_VISIBLE_DEVICES"
# Set by a relaunch: JSON of the variables it changed -> their values before (None: unset).
RELAUNCH_MARK = "KETCH_RELAUNCH_ENV"
_HIDE_ON_RELAUNCH = {VISIBLE: "", "JAX_PLATFORMS": "cpu"}


def visible_gpus(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The GPU ids tasks may be given: ``CUDA_VISIBLE_DEVICES`` if set, else all found."""
    environ = original_environ(os.environ if environ is None else environ)
    value = environ.get(VISIBLE)
    if value is not None:
        ids: list[str] = []
        for item in value.split(","):
            item = item.strip()
            if not item or item.startswith("-"):  # CUDA stops at the first invalid id
                break
            ids.append(item)
        return tuple(ids)
    return tuple(str(i) for i in range(_count_gpus()))


def _count_gpus() -> int:
    count = _nvml_count()
    return count if count is not None else _nvidia_smi_count()


def _nvml_count() -> int | None:
    import ctypes

    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return None
    if nvml.nvmlInit_v2() != 0:
        return None
    try:
        count = ctypes.c_uint(0)
        if nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) != 0:
            return None
        return int(count.value)
    finally:
        nvml.nvmlShutdown()


def _nvidia_smi_count() -> int:
    import shutil
    import subprocess

    smi = shutil.which("nvidia-smi")
    if smi is None:
        return 0
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


@dataclass
class GpuPool:
    """The free GPU ids of a run; :meth:`take` and :meth:`give` as tasks start and end."""

    devices: tuple[str, ...]
    free: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.free = list(self.devices)

    def take(self, count: int) -> tuple[str, ...] | None:
        """``count`` free devices (lowest ids first), or None when fewer are free now."""
        if count > len(self.free):
            return None
        taken, self.free = self.free[:count], self.free[count:]
        return tuple(taken)

    def give(self, devices: Sequence[str]) -> None:
        order = {d: i for i, d in enumerate(self.devices)}
        self.free = sorted({*self.free, *devices}, key=lambda d: order.get(d, len(order)))


def plan_gpus(asks: Mapping[str, int], devices: tuple[str, ...]) -> GpuPool | None:
    """The pool of a run whose steps ask for ``asks`` GPUs (step -> count, 0 omitted).

    None when no step asks for a GPU, or when the machine has none: then every task sees what
    the launching process saw, as in Metaflow's local runs (a flow written for a GPU cluster
    still runs on a laptop). A step that asks for more GPUs than the machine has fails the run
    before it starts.
    """
    if not asks or not devices:
        return None
    for step, count in sorted(asks.items()):
        if count > len(devices):
            raise UserError(
                f"Step '{step}' asks for {count} GPUs (@resources(gpu={count})) but this "
                f"machine has {len(devices)} ({VISIBLE}={','.join(devices)}).",
                hint=f"Lower gpu= on step '{step}', or run the flow where {count} GPUs are "
                f"available.",
                headline="Not enough GPUs",
            )
    return GpuPool(devices)


def original_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` as it was before a relaunch hid the GPUs (itself if there was none)."""
    restored = dict(environ)
    restore_environ(restored)
    return restored


def restore_environ(environ: MutableMapping[str, str]) -> None:
    """Undo, in ``environ``, what :func:`relaunch_without_gpu` changed."""
    mark = environ.pop(RELAUNCH_MARK, None)
    if mark is None:
        return
    for name, value in json.loads(mark).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value


def relaunch_without_gpu(reason: str) -> None:
    """Start this command again in this process with the GPUs hidden (does not return).

    Done once: a relaunched process that still holds a GPU carries on as it is.
    """
    if RELAUNCH_MARK in os.environ:
        return
    env = dict(os.environ)
    env[RELAUNCH_MARK] = json.dumps({name: os.environ.get(name) for name in _HIDE_ON_RELAUNCH})
    env.update(_HIDE_ON_RELAUNCH)
    print(
        f"ketch: importing the flow {reason}; starting again with the GPUs hidden from the "
        "scheduler (tasks still see them).",
        file=sys.stderr,
        flush=True,
    )
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
