"""The executor contract suite (``tests/runtime/test_executor_contract.py``) on the Ray executor.

The suite drives an executor object in its own process, so for Ray it runs as a pytest of its
own inside the cluster's network namespace (where the cluster's address is reachable), told by
``KETCH_TEST_CONTRACT_EXECUTOR`` to test ``ray``; this test passes when that run passes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _raycluster import RayCluster

pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.ray]

ROOT = Path(__file__).resolve().parents[2]


def test_the_executor_contract_holds_on_ray(ray_cluster: RayCluster) -> None:
    contract = ROOT / "tests" / "runtime" / "test_executor_contract.py"
    done = ray_cluster.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(contract)],
        cwd=ROOT,
        env={"KETCH_TEST_CONTRACT_EXECUTOR": "ray"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
