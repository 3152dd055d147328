"""The driver's view of a Ray cluster: connecting, sizing a task for it, and explaining failures.

Ray leaves a task that asks for more than any node has pending forever (an autoscaler might add
such a node); :meth:`Cluster.infeasible` checks a task against the nodes alive now, so such a
step fails at once with what it asked and what the nodes have.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from typing import Any

from ..exceptions import UserError
from ..runtime._spec import TaskSpec

MB = 1024 * 1024
_NODES_TTL_SECONDS = 5.0
_RESOURCE_NAMES = {"CPU": "cpu", "GPU": "gpu", "memory": "memory"}


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError(
            "The Ray executor needs Ray, which is not installed.",
            hint="pip install 'ketch[ray]' (on the launching machine and on every node).",
        ) from None
    return ray


def task_options(spec: TaskSpec) -> dict[str, Any]:
    """The Ray task options of ``spec``: ``@resources`` and ``@on_ray`` as Ray sizes them."""
    options: dict[str, Any] = {"num_cpus": 1}
    if spec.resources is not None:
        options["num_cpus"] = spec.resources.cpu
        if spec.resources.memory:
            options["memory"] = spec.resources.memory * MB
        if spec.resources.gpu:
            options["num_gpus"] = spec.resources.gpu
    placement = spec.placement
    if placement is not None:
        if placement.custom_resources:
            options["resources"] = dict(placement.custom_resources)
        if placement.runtime_env:
            options["runtime_env"] = dict(placement.runtime_env)
        if placement.scheduling_strategy != "DEFAULT":
            options["scheduling_strategy"] = placement.scheduling_strategy
    return options


def demand(options: Mapping[str, Any]) -> dict[str, float]:
    """What a task with Ray ``options`` needs of one node, by Ray's resource names."""
    need = {
        "CPU": float(options.get("num_cpus", 0)),
        "GPU": float(options.get("num_gpus", 0)),
        "memory": float(options.get("memory", 0)),
    }
    need.update({k: float(v) for k, v in options.get("resources", {}).items()})
    return {name: amount for name, amount in need.items() if amount > 0}


def describe(resources: Mapping[str, float]) -> str:
    """``cpu=2, gpu=1, memory=4096 MB, node2=1``: Ray resources as a user wrote them."""
    parts = []
    for name, amount in resources.items():
        if name.startswith("node:") or name in ("object_store_memory",):
            continue
        label = _RESOURCE_NAMES.get(name, name)
        value = f"{amount / MB:.0f} MB" if name == "memory" else f"{amount:g}"
        parts.append(f"{label}={value}")
    return ", ".join(parts) or "nothing"


class Cluster:
    """A connection to a Ray cluster from the launching process."""

    def __init__(self, address: str) -> None:
        self.ray = import_ray()
        self.address = address
        self._nodes: list[dict[str, Any]] = []
        self._nodes_at = 0.0
        _probe(address or os.environ.get("RAY_ADDRESS", ""))
        try:
            context = self.ray.init(
                address=address or None,
                log_to_driver=False,  # the executor streams each task's output itself
                logging_level=logging.WARNING,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "RAY_ADDRESS (or a local cluster)"
            raise UserError(
                f"Cannot connect to the Ray cluster at {where}: {exc}",
                hint="Start one with 'ray start --head' and pass its address with "
                "--ray-address or RAY_ADDRESS (e.g. 127.0.0.1:6379).",
            ) from None
        self.address = address or str(getattr(context, "address_info", {}).get("address", ""))

    def nodes(self, *, fresh: bool = False) -> list[dict[str, Any]]:
        """The alive nodes (cached a few seconds)."""
        now = time.monotonic()
        if fresh or now - self._nodes_at > _NODES_TTL_SECONDS:
            self._nodes = [n for n in self.ray.nodes() if n.get("Alive")]
            self._nodes_at = now
        return self._nodes

    def is_alive(self, node_id: str) -> bool:
        return any(n.get("NodeID") == node_id for n in self.nodes(fresh=True))

    def infeasible(self, spec: TaskSpec, options: Mapping[str, Any]) -> str | None:
        """Why no node of the cluster can ever run the task, or None when one can."""
        need = demand(options)
        for fresh in (False, True):
            if any(_fits(need, n.get("Resources", {})) for n in self.nodes(fresh=fresh)):
                return None
        nodes = self.nodes()
        listed = "; ".join(
            f"{n.get('NodeManagerAddress', '?')}: {describe(n.get('Resources', {}))}" for n in nodes
        )
        return (
            f"step {spec.step_name} asks for {describe(need)}, but no node of the Ray cluster "
            f"at {self.address} has that much ({len(nodes)} node(s): {listed or 'none alive'}). "
            "Lower @resources or @on_ray, or add a node that has them "
            "(ray start --num-gpus=N --resources='{\"NAME\": N}')."
        )

    def shutdown(self) -> None:
        self.ray.shutdown()


_PROBE_SECONDS = 5.0


def _probe(address: str) -> None:
    """Refuse at once an address where nothing listens (Ray itself retries for minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", "local" or empty: Ray finds or starts a cluster of this machine
    try:
        socket.create_connection(
            (host.strip("[]") or "127.0.0.1", int(port)), _PROBE_SECONDS
        ).close()
    except OSError as exc:
        raise UserError(
            f"Cannot connect to the Ray cluster at {address}: {exc.strerror or exc}.",
            hint="Check the address (--ray-address or RAY_ADDRESS; the head's port is 6379 "
            "unless 'ray start --head --port' said otherwise) and that the cluster is up "
            "('ray status --address ADDRESS').",
        ) from None


def _fits(need: Mapping[str, float], has: Mapping[str, float]) -> bool:
    return all(has.get(name, 0.0) >= amount for name, amount in need.items())


def failure(ray: Any, exc: BaseException, node_lost: bool) -> str:
    """``Type: message`` of a task that Ray reports failed without a result from ketch."""
    errors = ray.exceptions
    if isinstance(exc, errors.TaskCancelledError):
        return "TaskCancelled: the task was cancelled"
    if isinstance(exc, errors.OutOfMemoryError):
        return (
            "OutOfMemory: Ray killed the task's worker because its node ran out of memory "
            "(give the step more with @resources(memory=...))"
        )
    if isinstance(exc, errors.NodeDiedError) or node_lost:
        return "NodeLost: the Ray node that ran the task was lost"
    if isinstance(exc, errors.WorkerCrashedError):
        return "TaskKilled: the Ray worker that ran the task died (killed)"
    if isinstance(exc, errors.RayTaskError):
        cause = getattr(exc, "cause", None)
        if cause is not None:
            return f"{type(cause).__name__}: {cause}"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"RayError: {type(exc).__name__}: {first}"
