"""What a task of a gang (a ``@parallel`` step) knows of its gang: ``current.parallel``.

A ``self.next(self.train, num_parallel=N)`` transition is a foreach over the node indices
``0..N-1`` (the artifact :data:`PARALLEL_VAR`, as Metaflow names it); the N tasks of ``train``
start together. Node 0 is the *control* task. The scheduler hands each task its place in the
gang through environment variables, Metaflow's ``MF_PARALLEL_*`` ones plus those that
``torch.distributed`` reads (``MASTER_ADDR``, ``MASTER_PORT``, ``WORLD_SIZE``, ``RANK``...),
so that the tasks can rendezvous with the control task.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

PARALLEL_VAR = "_parallel_ubf_iter"
# The control task lists the pathspecs (run/step/task) of every task of its gang here.
CONTROL_MAPPER_TASKS = "_control_mapper_tasks"

NUM_NODES = "MF_PARALLEL_NUM_NODES"
NODE_INDEX = "MF_PARALLEL_NODE_INDEX"
MAIN_IP = "MF_PARALLEL_MAIN_IP"
CONTROL_TASK_ID = "MF_PARALLEL_CONTROL_TASK_ID"
LOCAL_IP = "127.0.0.1"


class Parallel(NamedTuple):
    """``current.parallel``: the task's place in its gang (Metaflow's namedtuple)."""

    main_ip: str
    num_nodes: int
    node_index: int
    control_task_id: str | None


def current_parallel(environ: Mapping[str, str] | None = None) -> Parallel:
    """``current.parallel`` from the environment; outside a gang: one node, index 0."""
    env = os.environ if environ is None else environ
    return Parallel(
        main_ip=env.get(MAIN_IP, LOCAL_IP),
        num_nodes=int(env.get(NUM_NODES, "1")),
        node_index=int(env.get(NODE_INDEX, "0")),
        control_task_id=env.get(CONTROL_TASK_ID),
    )


def gang_env(
    *, num_nodes: int, node_index: int, control_task_id: int, main_ip: str, port: int
) -> dict[str, str]:
    """The environment of one task of a gang: Metaflow's variables and torch.distributed's
    (one process per task, so the local rank is 0 and the node rank is the global one)."""
    return {
        NUM_NODES: str(num_nodes),
        NODE_INDEX: str(node_index),
        MAIN_IP: main_ip,
        CONTROL_TASK_ID: str(control_task_id),
        "MASTER_ADDR": main_ip,
        "MASTER_PORT": str(port),
        "WORLD_SIZE": str(num_nodes),
        "NUM_NODES": str(num_nodes),
        "RANK": str(node_index),
        "NODE_RANK": str(node_index),
        "LOCAL_RANK": "0",
        "LOCAL_WORLD_SIZE": "1",
    }
