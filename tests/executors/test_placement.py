"""Where a step's tasks run and how they are sized for Ray: @on_ray, @local, --executor ray,
--with on_ray; and the RoutedExecutor that sends each task to its executor (with the two local
executors standing in for a local and a placed one, so that this runs without a cluster)."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ketch.executors._ray_cluster import demand, describe, task_options
from ketch.flow import parse_with
from ketch.graph import build_graph
from ketch.runtime._executor_api import RoutedExecutor, executor_factory
from ketch.runtime._policy import StepPolicy, build_policies, place_on, remote_executors
from ketch.runtime._spec import Placement, Resources, TaskSpec

FLOW = """
from ketch import FlowSpec, local, on_ray, resources, step

class PlacedFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.prepare)

    @local
    @step
    def prepare(self):
        self.next(self.train)

    @resources(cpu=2, memory=8000)
    @on_ray(gpu=1, memory=1000, resources={"accelerator_type:H100": 1},
            runtime_env={"env_vars": {"A": "1"}}, scheduling_strategy="SPREAD")
    @step
    def train(self):
        self.next(self.score)

    @on_ray(cpu=3)
    @step
    def score(self):
        self.next(self.end)

    @step
    def end(self):
        pass
"""


@pytest.fixture
def flow_cls(tmp_path: Path) -> Any:
    path = tmp_path / "placed_flow.py"
    path.write_text(FLOW)
    spec = importlib.util.spec_from_file_location("placed_flow", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["placed_flow"] = module
    spec.loader.exec_module(module)
    yield module.PlacedFlow
    del sys.modules["placed_flow"]


def _policies(flow_cls: Any, *with_specs: str) -> dict[str, StepPolicy]:
    return build_policies(flow_cls, build_graph(flow_cls), [parse_with(w) for w in with_specs])


def test_on_ray_places_its_step_and_merges_sizes_with_resources(flow_cls: Any) -> None:
    policies = _policies(flow_cls)
    train = policies["train"]
    assert train.placement == Placement(
        "ray",
        custom_resources={"accelerator_type:H100": 1.0},
        runtime_env={"env_vars": {"A": "1"}},
        scheduling_strategy="SPREAD",
    )
    # The larger of @resources and @on_ray, as Metaflow combines @resources with @kubernetes.
    assert train.resources == Resources(cpu=2, gpu=1, memory=8000)
    assert train.local_gpus == 0  # its GPU is the cluster's, not this machine's
    # @on_ray's sizes alone: what it names, and no memory request.
    assert policies["score"].resources == Resources(cpu=3, gpu=0, memory=0)
    assert policies["start"].placement is None and policies["prepare"].local
    assert remote_executors(policies) == {"ray"}


def test_executor_ray_places_every_step_but_local_ones(flow_cls: Any) -> None:
    policies = place_on(_policies(flow_cls), "ray")
    assert policies["start"].placement == Placement("ray")
    assert policies["end"].placement == Placement("ray")
    assert policies["prepare"].placement is None  # @local stays on the launching machine
    assert policies["train"].placement is not None
    assert policies["train"].placement.scheduling_strategy == "SPREAD"  # its own is kept


def test_with_on_ray_applies_to_every_step_except_local_ones(flow_cls: Any) -> None:
    policies = _policies(flow_cls, 'on_ray:resources={"node2": 1}')
    assert policies["start"].placement == Placement("ray", custom_resources={"node2": 1.0})
    assert policies["prepare"].placement is None
    # A step's own @on_ray wins over the --with one.
    assert policies["train"].placement is not None
    assert policies["train"].placement.custom_resources == {"accelerator_type:H100": 1.0}


def _spec(**changes: Any) -> TaskSpec:
    base = TaskSpec(
        flow_name="F",
        flow_file="f.py",
        flow_class="F",
        run_id=1,
        step_name="train",
        task_id=1,
        attempt=0,
        inputs=(),
        parameters={},
        frames=(),
        var_keys=(),
        datastore_url="/tmp/x",
        username="u",
    )
    return replace(base, **changes)


def test_task_options_map_resources_to_ray() -> None:
    spec = _spec(
        resources=Resources(cpu=2, gpu=1, memory=1024),
        placement=Placement("ray", {"node2": 1}, {"pip": ["polars"]}, scheduling_strategy="SPREAD"),
    )
    assert task_options(spec) == {
        "num_cpus": 2,
        "num_gpus": 1,
        "memory": 1024 * 1024 * 1024,
        "resources": {"node2": 1},
        "runtime_env": {"pip": ["polars"]},
        "scheduling_strategy": "SPREAD",
    }
    # No @resources: one CPU, no memory request, Ray's default scheduling.
    assert task_options(_spec(placement=Placement("ray"))) == {"num_cpus": 1}
    assert task_options(_spec(resources=Resources(memory=0))) == {"num_cpus": 1}


def test_demand_and_describe_speak_the_users_words() -> None:
    need = demand(task_options(_spec(resources=Resources(cpu=1, gpu=2, memory=2048))))
    assert need == {"CPU": 1.0, "GPU": 2.0, "memory": 2048.0 * 1024 * 1024}
    assert describe(need) == "cpu=1, gpu=2, memory=2048 MB"
    node = {"CPU": 4.0, "memory": 8.0 * 1024**3, "node:127.0.0.1": 1.0, "object_store_memory": 1.0}
    assert describe(node) == "cpu=4, memory=8192 MB"


def test_routed_executor_sends_each_task_to_its_executor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdout", sys.__stdout__)
    monkeypatch.setattr("sys.stderr", sys.__stderr__)
    flow = tmp_path / "routed_flow.py"
    flow.write_text(
        "import os\nfrom ketch import FlowSpec, step\n\n"
        "class RoutedFlow(FlowSpec):\n    @step\n    def start(self):\n"
        "        self.next(self.end)\n\n    @step\n    def end(self):\n        pass\n"
    )
    spec = importlib.util.spec_from_file_location("routed_flow", flow)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / ".ketch").mkdir()
    ran: dict[str, list[int]] = {"fork": [], "spawn": []}  # executor -> task ids it started

    def executor(name: str) -> Any:
        on_start = lambda spec, pid: ran[name].append(spec.task_id)  # noqa: E731
        return executor_factory(name)(module.RoutedFlow, on_start=on_start)

    routed = RoutedExecutor(executor("fork"), {"spawn": executor("spawn")})
    try:
        base = _spec(
            flow_name="RoutedFlow",
            flow_file=str(flow),
            flow_class="RoutedFlow",
            step_name="start",
            datastore_url=str(tmp_path / ".ketch"),
            out_funcs=("end",),
            cwd=str(tmp_path),
        )
        placed = replace(base, task_id=2, placement=Placement("spawn"))
        results = [routed.submit(s).result(timeout=60) for s in (base, placed)]
        assert all(r.ok for r in results), [r.exception for r in results]
        assert ran == {"fork": [1], "spawn": [2]}
    finally:
        routed.close()
