"""A real multi-node Ray cluster on this one machine, for the tests of ketch's Ray executor.

``start_ray_cluster(workdir, nodes=2)`` starts a head node (custom resource ``head``) and
``nodes - 1`` worker nodes (resources ``node2``, ``node3``, ...), each one a ``ray start --block``
with ``--num-cpus=1``, and waits until Ray reports them all alive.

Ray binds the machine's primary IP address even when told ``--node-ip-address=127.0.0.1``, so the
cluster lives in a network namespace of its own that has only ``lo`` (``ip netns``): every Ray
process runs inside it, and so must every client. `RayCluster.command`, `run` and `popen` wrap a
command line in ``ip netns exec``; `RayCluster.env` points ``ray.init()`` at the head. A fresh
namespace also means every port is free, so the head listens on Ray's default port. This needs
root (``ip netns add``); without it `start_ray_cluster` raises `RayUnavailable`.

Each node runs in its own session (process group) and is stopped by signalling exactly that group,
never by name (``ray stop`` would kill every Ray process on the machine, other sessions' too):
SIGTERM, then SIGKILL after a few seconds. Then every process still inside the namespace, or whose
command line names the cluster's temp dir, is killed, the namespace is deleted and the temp dir
removed. Each ``ray start`` gets ``PR_SET_PDEATHSIG`` (SIGKILL): if the test process is killed
before its teardown, the kernel kills it, and Ray's reaper then kills that node's processes (seen
to leave none within 10 s). The namespace and temp dir such a cluster leaves are deleted by the
next `start_ray_cluster` (its temp dir records the owner's pid; only a dead owner's are swept).

Fault injection: `RayCluster.kill_node` SIGKILLs one worker node's whole process group, as if its
machine died; the head is started with short health-check periods, so Ray declares the node dead
within a few seconds.

Node state is read straight from the GCS (``ray._raylet.GcsClient``) by one long-lived probe
process inside the namespace, so a poll costs a round trip rather than a Python start-up.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_READY_TIMEOUT_S = 120.0
_DEAD_TIMEOUT_S = 60.0
_STOP_GRACE_S = 1.0
_PORT = 6379
_OBJECT_STORE_BYTES = 256 * 1024 * 1024
# Ray's defaults take 30 s or more to declare a node dead; these take about 2.5 s.
_SYSTEM_CONFIG = {
    "health_check_period_ms": 500,
    "health_check_failure_threshold": 4,
    "health_check_initial_delay_ms": 500,
}
_ENV = {"RAY_USAGE_STATS_ENABLED": "0"}
_PREFIX = "kr-"  # of the namespace's name and of the temp dir's
_OWNER_FILE = "owner.pid"

# Runs inside the namespace: for each line on stdin, one JSON line with the GCS's node table.
_PROBE = """
import json, sys
from ray._raylet import GcsClient
from ray.core.generated.gcs_pb2 import GcsNodeInfo
client = None
for _ in sys.stdin:
    try:
        if client is None:
            client = GcsClient(address=sys.argv[1])
        nodes = client.get_all_node_info(timeout=5).values()
        reply = {"nodes": [
            {"resources": sorted(n.resources_total), "alive": n.state == GcsNodeInfo.ALIVE}
            for n in nodes
        ]}
    except Exception as exc:
        reply = {"error": repr(exc)}
    print(json.dumps(reply), flush=True)
"""


class RayUnavailable(RuntimeError):
    """No ``ray`` program, not root, or no network namespaces (``ip netns``) here."""


def _ray_program() -> str:
    """The ``ray`` program next to this interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "ray"
    if beside.exists():
        return str(beside)
    found = shutil.which("ray")
    if found is None:
        raise RayUnavailable("'ray' not found; install Ray: pip install 'ray[default]'")
    return found


def _check_host() -> None:
    """Raise `RayUnavailable` unless this process can make network namespaces."""
    if sys.platform != "linux":
        raise RayUnavailable("a local Ray cluster needs Linux network namespaces")
    if os.geteuid() != 0:
        raise RayUnavailable("a local Ray cluster needs root (for 'ip netns add')")
    if shutil.which("ip") is None:
        raise RayUnavailable("a local Ray cluster needs the 'ip' program (iproute2)")


def _die_with_parent() -> None:
    """Run in the child before exec: the kernel sends SIGKILL when the test process dies (SIGTERM
    does not stop a ``ray start --block`` head)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _make_netns(name: str) -> None:
    """Create namespace ``name`` with only ``lo``, up."""
    try:
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        raise RayUnavailable(
            f"'ip netns add' failed: {exc} {stderr.decode(errors='replace')}"
        ) from exc
    subprocess.run(
        ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
        check=True,
        capture_output=True,
    )


def _netns_inode(name: str) -> int | None:
    """The inode that identifies namespace ``name``, or None when it is gone."""
    try:
        return os.stat(f"/run/netns/{name}").st_ino
    except OSError:
        return None


def _sweep_stale() -> None:
    """Delete the namespaces and temp dirs of clusters whose test process was killed (the kernel
    killed their nodes, but a namespace outlives its processes): those whose owner is dead and
    that no process is in."""
    netns_dir = Path("/run/netns")
    names = [p.name for p in netns_dir.glob(f"{_PREFIX}*")] if netns_dir.is_dir() else []
    for name in names:
        temp_dir = Path(tempfile.gettempdir()) / name
        try:
            owner = int((temp_dir / _OWNER_FILE).read_text())
            os.kill(owner, 0)
            continue  # its owner lives: not stale
        except ProcessLookupError:
            pass
        except (OSError, ValueError):  # no owner file: made by someone else, or being set up
            continue
        if _stray_pids(_netns_inode(name), str(temp_dir)):
            continue
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _stray_pids(netns_inode: int | None, marker: str) -> list[int]:
    """Pids of processes inside the namespace, or whose command line contains ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if netns_inode is not None:
                if os.readlink(f"/proc/{entry}/ns/net") == f"net:[{netns_inode}]":
                    found.append(int(entry))
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except OSError:  # gone meanwhile, or a kernel thread
            continue
    return found


def _descendants(root: int) -> list[int]:
    """Pids of every live descendant of process ``root`` (by parent pid)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])  # after "pid (comm) state"
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _kill_group(proc: subprocess.Popen[Any], grace_s: float) -> None:
    """SIGTERM ``proc``'s process group (if ``grace_s`` > 0), then SIGKILL it; reap ``proc``."""
    if grace_s > 0:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # also the group's other members
    proc.wait(timeout=_STOP_GRACE_S)


@dataclass
class RayCluster:
    """A running Ray cluster in network namespace ``netns``; the head is at ``address``.

    Node 0 is the head (resource ``head``); node ``i`` > 0 has resource ``node{i+1}``.

    Example::

        cluster = start_ray_cluster(tmp_path)
        cluster.run([sys.executable, "driver.py"], check=True)  # ray.init() finds the head
        cluster.kill_node(1)
        cluster.stop()
    """

    netns: str
    address: str
    workdir: Path
    temp_dir: Path
    seconds_to_start: float = 0.0
    _nodes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)
    _next_index: int = field(default=0, repr=False)
    _probe: subprocess.Popen[str] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    def env(self) -> dict[str, str]:
        """Variables to add to a client's environment: ``ray.init()`` connects to this cluster."""
        return {"RAY_ADDRESS": self.address, **_ENV}

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run inside the cluster's namespace (the only place that reaches it)."""
        return ["ip", "netns", "exec", self.netns, *argv]

    def run(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """`subprocess.run` of ``argv`` inside the namespace, with `env` added to the environment
        (and to ``env=`` when given, which wins)."""
        env = {**os.environ, **self.env(), **kwargs.pop("env", {})}
        return subprocess.run(self.command(argv), env=env, **kwargs)

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """`subprocess.Popen` of ``argv`` inside the namespace, environment as for `run`."""
        env = {**os.environ, **self.env(), **kwargs.pop("env", {})}
        return subprocess.Popen(self.command(argv), env=env, **kwargs)

    def log_path(self, index: int) -> Path:
        """The stdout and stderr of node ``index``'s ``ray start``."""
        return self.workdir / f"ray-node{index}.log"

    def add_node(
        self, resources: dict[str, float] | None = None, num_cpus: int = 1, num_gpus: int = 0
    ) -> int:
        """Start one more worker node (resource ``node{index+1}`` plus ``resources``), wait until
        Ray reports it alive, and return its index."""
        index = self._next_index
        if index == 0:
            raise RuntimeError("the head is not started; use start_ray_cluster")
        self._spawn(index, resources, num_cpus, num_gpus)
        self._wait(lambda: self._node_alive(index) is True, _READY_TIMEOUT_S, f"node {index} up")
        return index

    def kill_node(self, index: int) -> None:
        """SIGKILL node ``index``'s process group and its stray processes, as if its machine died;
        return once Ray reports the node dead."""
        if index == 0:
            raise ValueError("kill_node kills worker nodes; the head is node 0")
        proc = self._nodes.pop(index)
        descendants = _descendants(proc.pid)  # those that left the group, too
        _kill_group(proc, grace_s=0)
        for pid in descendants:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._wait(lambda: self._node_alive(index) is False, _DEAD_TIMEOUT_S, f"node {index} dead")

    def alive_nodes(self) -> int:
        """How many nodes Ray reports alive."""
        return sum(node["alive"] for node in self._query())

    def stop(self) -> None:
        """Stop every node and client of the cluster, delete its namespace and temp dir
        (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._close_probe()
        nodes = sorted(self._nodes.items(), reverse=True)  # workers first, the head last
        self._nodes.clear()
        for _, proc in nodes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_GRACE_S
        for _, proc in nodes:
            _kill_group(proc, grace_s=max(0.0, deadline - time.monotonic()))
        inode = _netns_inode(self.netns)
        for _ in range(3):  # a dying process may still spawn one
            strays = _stray_pids(inode, str(self.temp_dir))
            if not strays:
                break
            for pid in strays:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def _spawn(
        self, index: int, resources: dict[str, float] | None, num_cpus: int, num_gpus: int
    ) -> None:
        """Start node ``index``'s ``ray start --block`` in a process group of its own."""
        own = "head" if index == 0 else f"node{index + 1}"
        argv = [_ray_program(), "start", "--block", f"--num-cpus={num_cpus}"]
        all_resources = {own: 1, **(resources or {})}
        argv += [f"--num-gpus={num_gpus}", f"--resources={json.dumps(all_resources)}"]
        argv += [f"--object-store-memory={_OBJECT_STORE_BYTES}", "--disable-usage-stats"]
        if index == 0:
            argv += ["--head", f"--port={_PORT}", "--node-ip-address=127.0.0.1"]
            argv += ["--include-dashboard=false", f"--system-config={json.dumps(_SYSTEM_CONFIG)}"]
            argv += [f"--temp-dir={self.temp_dir}"]
        else:
            argv += [f"--address={self.address}", "--node-ip-address=127.0.0.1"]
        with open(self.log_path(index), "ab") as log:
            self._nodes[index] = subprocess.Popen(
                self.command(argv),
                cwd=self.workdir,
                env={**os.environ, **_ENV},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, which stop() signals
                preexec_fn=_die_with_parent,
            )
        self._next_index = index + 1

    def _node_alive(self, index: int) -> bool | None:
        """Whether Ray reports node ``index`` alive; None while Ray does not know it."""
        own = "head" if index == 0 else f"node{index + 1}"
        states = [node["alive"] for node in self._query() if own in node["resources"]]
        return any(states) if states else None

    def _query(self) -> list[dict[str, Any]]:
        """The GCS's node table (each ``{"resources": [...], "alive": bool}``), via the probe."""
        if self._probe is None or self._probe.poll() is not None:
            self._probe = self.popen(
                [sys.executable, "-c", _PROBE, self.address, str(self.temp_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        assert self._probe.stdin is not None and self._probe.stdout is not None
        try:
            self._probe.stdin.write("\n")
            self._probe.stdin.flush()
            line = self._probe.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self._close_probe()
            raise RuntimeError("the Ray probe process exited")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"GCS at {self.address}: {reply['error']}")
        nodes: list[dict[str, Any]] = reply["nodes"]
        return nodes

    def _close_probe(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            _kill_group(probe, grace_s=0)
            for stream in (probe.stdin, probe.stdout):
                if stream is not None:
                    stream.close()

    def _wait(self, condition: Any, timeout_s: float, what: str) -> None:
        """Poll ``condition()`` until true; fail with the node logs' tails on timeout or when a
        node's ``ray start`` exits."""
        deadline = time.monotonic() + timeout_s
        while True:
            for index, proc in self._nodes.items():
                if proc.poll() is not None:
                    raise RuntimeError(self._failure(f"node {index} exited ({proc.returncode})"))
            try:
                if condition():
                    return
                error = ""
            except RuntimeError as exc:  # GCS not up yet
                error = str(exc)
            if time.monotonic() > deadline:
                raise RuntimeError(self._failure(f"waited {timeout_s:.0f} s for {what} {error}"))
            time.sleep(0.2)

    def _failure(self, what: str) -> str:
        tails = []
        for path in sorted(self.workdir.glob("ray-node*.log")):
            tails.append(f"--- {path.name}:\n{path.read_text(errors='replace')[-3000:]}")
        return f"Ray cluster in netns {self.netns}: {what}\n" + "\n".join(tails)


def start_ray_cluster(workdir: Path, nodes: int = 2) -> RayCluster:
    """Start a head node and ``nodes - 1`` worker nodes, and wait until all are alive.

    Logs go to ``workdir/ray-node{i}.log``; Ray's own temp dir is a short one under /tmp (its
    unix socket paths must stay under about 107 bytes), removed by `RayCluster.stop`.
    """
    _check_host()
    _ray_program()
    workdir.mkdir(parents=True, exist_ok=True)
    name = f"{_PREFIX}{uuid.uuid4().hex[:10]}"
    temp_dir = Path(tempfile.gettempdir()) / name
    _sweep_stale()
    temp_dir.mkdir()
    (temp_dir / _OWNER_FILE).write_text(str(os.getpid()))
    _make_netns(name)
    cluster = RayCluster(
        netns=name, address=f"127.0.0.1:{_PORT}", workdir=workdir, temp_dir=temp_dir
    )
    atexit.register(cluster.stop)  # in case the caller's teardown never runs
    started = time.perf_counter()
    try:
        cluster._spawn(0, None, 1, 0)
        cluster._wait(lambda: cluster._node_alive(0) is True, _READY_TIMEOUT_S, "the head up")
        for _ in range(nodes - 1):  # together: each waits for its raylet, not for the others
            cluster._spawn(cluster._next_index, None, 1, 0)
        cluster._wait(lambda: cluster.alive_nodes() >= nodes, _READY_TIMEOUT_S, f"{nodes} nodes")
    except BaseException:
        cluster.stop()
        raise
    cluster.seconds_to_start = time.perf_counter() - started
    return cluster
