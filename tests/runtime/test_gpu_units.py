"""GPU inventory, the GPU pool, the relaunch environment and the fork-safety probes."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from ketch.exceptions import UserError
from ketch.runtime._forksafety import fork_hazards, gpu_runtime_files
from ketch.runtime._gpu import (
    RELAUNCH_MARK,
    GpuPool,
    original_environ,
    plan_gpus,
    restore_environ,
    visible_gpus,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0,1", ("0", "1")),
        ("", ()),
        ("-1", ()),
        ("2, 3,-1,4", ("2", "3")),
        ("GPU-ab12", ("GPU-ab12",)),
    ],
)
def test_visible_gpus_reads_cuda_visible_devices(value: str, expected: tuple[str, ...]) -> None:
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": value}) == expected


def test_visible_gpus_sees_through_a_relaunch() -> None:
    environ = {
        "CUDA_VISIBLE_DEVICES": "",
        RELAUNCH_MARK: json.dumps({"CUDA_VISIBLE_DEVICES": "0,1", "JAX_PLATFORMS": None}),
        "JAX_PLATFORMS": "cpu",
    }
    assert visible_gpus(environ) == ("0", "1")
    assert original_environ(environ) == {"CUDA_VISIBLE_DEVICES": "0,1"}
    restore_environ(environ)
    assert environ == {"CUDA_VISIBLE_DEVICES": "0,1"}


def test_pool_hands_out_each_device_once() -> None:
    pool = GpuPool(("0", "1", "2"))
    first = pool.take(2)
    assert first == ("0", "1")
    assert pool.take(2) is None
    second = pool.take(1)
    assert second == ("2",)
    pool.give(first)
    assert pool.take(1) == ("0",)
    pool.give(("0",))
    pool.give(second)
    assert pool.free == ["0", "1", "2"]


def test_plan_refuses_more_gpus_than_there_are() -> None:
    assert plan_gpus({}, ("0",)) is None
    assert plan_gpus({"train": 2}, ()) is None  # no GPU at all: run as Metaflow does locally
    assert plan_gpus({"train": 2}, ("0", "1")) is not None
    with pytest.raises(UserError, match="Step 'train' asks for 2 GPUs .* this machine has 1"):
        plan_gpus({"train": 2, "prep": 1}, ("0",))


def test_gpu_runtime_files_are_found_among_open_fds(tmp_path: Path) -> None:
    fds = tmp_path / "fd"
    fds.mkdir()
    os.symlink("/dev/nvidiactl", fds / "3")  # NVML: no context
    os.symlink("/dev/nvidia-uvm", fds / "4")
    os.symlink("/dev/nvidia-uvm", fds / "5")
    os.symlink("/tmp/x", fds / "6")
    assert gpu_runtime_files(str(fds)) == ["/dev/nvidia-uvm"]
    assert gpu_runtime_files(str(tmp_path / "missing")) == []


def test_a_running_thread_is_a_hazard() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="probe-me")
    thread.start()
    try:
        reasons = [h.reason for h in fork_hazards()]
        assert any("probe-me" in r for r in reasons), reasons
    finally:
        stop.set()
        thread.join()
