"""The local multi-node Ray cluster of ``tests/_raycluster.py``: real Ray, real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _raycluster import RayCluster

pytestmark = [pytest.mark.slow, pytest.mark.ray]

# Prints one JSON object: the node ids of the head and node2, where 20 one-CPU tasks ran, and where
# a task that needs resource "node2" ran.
_DRIVER = """
import json, time
import ray

ray.init(log_to_driver=False)
by_resource = {r: n["NodeID"] for n in ray.nodes() if n["Alive"] for r in n["Resources"]}

@ray.remote(num_cpus=1)
def where(delay):
    time.sleep(delay)
    return ray.get_runtime_context().get_node_id()

spread = ray.get([where.remote(0.5) for _ in range(20)])
pinned = ray.get(where.options(resources={"node2": 1}).remote(0))
print(json.dumps({"head": by_resource.get("head"), "node2": by_resource.get("node2"),
                  "spread": spread, "pinned": pinned}))
"""

# Prints the node id where one task ran.
_ONE_TASK = """
import ray
ray.init(log_to_driver=False)
print(ray.get(ray.remote(num_cpus=1)(lambda: ray.get_runtime_context().get_node_id()).remote()))
"""


def _head_id(cluster: RayCluster, tmp_path: Path) -> str:
    """The node id of the head, as a driver inside the namespace sees it."""
    script = tmp_path / "head_id.py"
    script.write_text(
        "import ray\nray.init(log_to_driver=False)\n"
        "print(next(n['NodeID'] for n in ray.nodes() if n['Alive'] and 'head' in n['Resources']))\n"
    )
    done = cluster.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _leftovers(cluster: RayCluster) -> list[str]:
    """Command lines of live processes that name the cluster's temp dir."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if str(cluster.temp_dir).encode() in cmdline and state != b"Z":  # a zombie is dead
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_tasks_run_on_both_nodes(ray_cluster: RayCluster, tmp_path: Path) -> None:
    assert ray_cluster.alive_nodes() == 2
    script = tmp_path / "driver.py"
    script.write_text(_DRIVER)
    done = ray_cluster.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["head"] and result["node2"] and result["head"] != result["node2"]
    assert set(result["spread"]) == {result["head"], result["node2"]}
    assert result["pinned"] == result["node2"]


def test_env_and_command_reach_the_cluster(ray_cluster: RayCluster) -> None:
    assert ray_cluster.env()["RAY_ADDRESS"] == ray_cluster.address
    assert ray_cluster.command(["true"]) == ["ip", "netns", "exec", ray_cluster.netns, "true"]
    # Inside the namespace there is only the loopback interface.
    links = ray_cluster.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    assert [line.split(":")[1].strip() for line in links.stdout.splitlines()] == ["lo"]


def test_kill_node_leaves_the_head_working(fresh_ray_cluster: RayCluster, tmp_path: Path) -> None:
    cluster = fresh_ray_cluster
    head = _head_id(cluster, tmp_path)
    started = time.perf_counter()
    cluster.kill_node(1)
    seconds_to_dead = time.perf_counter() - started
    assert cluster.alive_nodes() == 1
    assert seconds_to_dead < 30, seconds_to_dead
    script = tmp_path / "one_task.py"
    script.write_text(_ONE_TASK)
    done = cluster.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == head


def test_add_node_joins_with_its_resources(fresh_ray_cluster: RayCluster, tmp_path: Path) -> None:
    cluster = fresh_ray_cluster
    index = cluster.add_node(resources={"extra": 2})
    assert index == 2
    assert cluster.alive_nodes() == 3
    script = tmp_path / "extra.py"
    script.write_text(
        "import ray\nray.init(log_to_driver=False)\n"
        "print(sorted(r for n in ray.nodes() if n['Alive'] for r in n['Resources']"
        " if r in ('node3', 'extra')))\n"
    )
    done = cluster.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "['extra', 'node3']"


def test_stop_leaves_nothing_behind(fresh_ray_cluster: RayCluster) -> None:
    cluster = fresh_ray_cluster
    client = cluster.popen(["sleep", "600"])  # a client still running is stopped too
    assert _leftovers(cluster)
    started = time.perf_counter()
    cluster.stop()
    seconds_to_stop = time.perf_counter() - started
    assert seconds_to_stop < 30, seconds_to_stop
    assert client.wait(timeout=5) != 0
    assert _leftovers(cluster) == []
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert cluster.netns not in namespaces
    assert not cluster.temp_dir.exists()
    cluster.stop()  # idempotent
