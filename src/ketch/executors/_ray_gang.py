"""A gang (the tasks of a ``@parallel`` step) on Ray: one placement group, all or nothing.

Every task of the gang gets one bundle of a placement group, sized like a lone task of the
step (``@resources``, ``@on_ray``); Ray reserves all the bundles at once or none, so the tasks
start together. ``@parallel(placement=...)`` is the group's strategy: ``PACK`` (Ray's default:
as few nodes as possible), ``SPREAD`` (as many as possible), ``STRICT_SPREAD`` (one node per
task) or ``STRICT_PACK`` (one node). A gang the cluster can never hold (more tasks than nodes
under ``STRICT_SPREAD``, more than the nodes' room) fails at once with what it asked and what
the nodes have, instead of waiting forever. The control task's node is the gang's main node:
its IP is ``current.parallel.main_ip`` and ``MASTER_ADDR``, and a port found free there (by a
tiny task in the control task's bundle) is ``MASTER_PORT``.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Mapping
from typing import Any

from ..runtime._spec import TaskSpec
from ._ray_cluster import Cluster, demand, describe

GANG_PORT_SECONDS = 60.0


def bundles(options: Mapping[str, Any], size: int) -> list[dict[str, float]]:
    """One bundle per task, each what one task asks for (at least a little CPU: Ray refuses
    an empty bundle)."""
    need = demand(options) or {"CPU": 0.01}
    return [dict(need) for _ in range(size)]


def gang_infeasible(
    cluster: Cluster, spec: TaskSpec, need: Mapping[str, float], size: int, strategy: str
) -> str | None:
    """Why the cluster can never hold the gang of ``size`` tasks of ``spec``'s step, or None."""
    for fresh in (False, True):
        nodes = [n.get("Resources", {}) for n in cluster.nodes(fresh=fresh)]
        room = [_how_many(need, has) for has in nodes]
        if strategy == "STRICT_SPREAD":
            fits = sum(1 for r in room if r >= 1) >= size
        elif strategy == "STRICT_PACK":
            fits = any(r >= size for r in room)
        else:
            fits = sum(room) >= size
        if fits:
            return None
    listed = "; ".join(
        f"{n.get('NodeManagerAddress', '?')}: {describe(n.get('Resources', {}))}"
        for n in cluster.nodes()
    )
    where = {
        "STRICT_SPREAD": "each on a node of its own",
        "STRICT_PACK": "all on one node",
    }.get(strategy, "at once")
    return (
        f"step {spec.step_name} is a @parallel gang of {size} tasks that must run {where} "
        f"({strategy}), each asking for {describe(need)}, but the Ray cluster at "
        f"{cluster.address} cannot hold them ({len(nodes)} node(s): {listed or 'none alive'}). "
        "Lower num_parallel or @resources, choose another @parallel(placement=...), or add nodes."
    )


def _how_many(need: Mapping[str, float], has: Mapping[str, float]) -> int:
    """How many bundles of ``need`` fit in a node that has ``has`` (when it is empty)."""
    counts = [math.floor(has.get(name, 0.0) / amount + 1e-9) for name, amount in need.items()]
    return min(counts) if counts else 0


def free_port_here() -> tuple[str, int]:
    """Run on the main node, in the control task's bundle: its IP and a port free there."""
    import ray

    ip = str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return ip, int(sock.getsockname()[1])
