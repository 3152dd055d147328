"""What the decorators of each step ask of the runtime: retries, catch, timeout, env, cards,
resources, and where its tasks run (``@on_ray``, ``@local``, ``--executor ray``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..cards._records import CardSpec
from ..exceptions import DecoratorError
from ..flow._decorators import (
    MAX_ATTEMPTS,
    CardDecorator,
    CatchDecorator,
    EnvironmentDecorator,
    LocalDecorator,
    OnRayDecorator,
    ParallelDecorator,
    ResourcesDecorator,
    RetryDecorator,
    StepDecorator,
    TimeoutDecorator,
)
from ..flow._secrets import SecretsDecorator, SecretSource
from ..graph import FlowGraph
from ._spec import Placement, Resources


@dataclass(frozen=True)
class StepPolicy:
    retries: int = 0  # user-code retries (@retry times)
    catch: bool = False
    catch_var: str | None = None
    print_exception: bool = True
    timeout: float | None = None  # seconds
    env: dict[str, str] = field(default_factory=dict)
    resources: Resources | None = None
    decorators: tuple[dict[str, Any], ...] = ()
    cards: tuple[CardSpec, ...] = ()
    placement: Placement | None = None  # None: the run's local executor
    local: bool = False  # @local: stays local under --executor ray too
    secrets: tuple[SecretSource, ...] = ()  # @secrets sources, fetched by the task
    allow_secret_override: bool = False
    gang_placement: str = "PACK"  # @parallel(placement=...): how a cluster places the gang
    # @pypi/@conda (see ketch.pyenv): the environment's interpreter and its description
    python: str | None = None
    environment: dict[str, Any] | None = None

    def task_fields(self) -> dict[str, Any]:
        """What the decorators put in every ``TaskSpec`` of the step (the scheduler's and
        spin's specs take them from here; ``env`` is the step's own, before the run's)."""
        return {
            "retries": self.retries,
            "catch": self.catch,
            "catch_var": self.catch_var,
            "print_exception": self.print_exception,
            "timeout": self.timeout,
            "cards": self.cards,
            "resources": self.resources,
            "placement": self.placement,
            "secrets": self.secrets,
            "allow_secret_override": self.allow_secret_override,
            "python": self.python,
        }

    @property
    def gpus(self) -> int:
        """The GPUs each task of the step asks for (``@resources(gpu=N)``)."""
        return self.resources.gpu if self.resources is not None else 0

    @property
    def local_gpus(self) -> int:
        """The GPUs of this machine each task of the step needs (none for a task elsewhere)."""
        return self.gpus if self.placement is None else 0

    @property
    def max_attempts(self) -> int:
        """User attempts, plus one fallback attempt for @catch when the process died."""
        return min(MAX_ATTEMPTS, self.retries + 1 + (1 if self.catch else 0))


def step_decorators(
    flow_cls: Any, step: str, with_specs: list[StepDecorator]
) -> list[StepDecorator]:
    """The decorators of a step: its own, plus ``--with`` ones it does not already have."""
    own = list(getattr(getattr(flow_cls, step), "decorators", []))
    keys = [d.key() for d in own]
    for deco in own:
        if keys.count(deco.key()) > 1:
            raise DecoratorError(
                f"Step '{step}' has @{deco.key()} more than once.",
                hint=f"Give each @{deco.name} a different id."
                if deco.allow_multiple
                else f"Keep one @{deco.name} on the step.",
            )
    names = [d.name for d in own]
    return own + [
        w for w in with_specs if (w.key() not in keys if w.allow_multiple else w.name not in names)
    ]


def build_policies(
    flow_cls: Any, graph: FlowGraph, with_specs: list[StepDecorator]
) -> dict[str, StepPolicy]:
    """Validate every decorator and derive each step's policy (raises DecoratorError)."""
    policies: dict[str, StepPolicy] = {}
    for node in graph:
        decos = step_decorators(flow_cls, node.name, with_specs)
        for deco in decos:
            deco.validate(node.name)
        policies[node.name] = _policy(node.name, node.type, decos)
    return policies


def _policy(step: str, node_type: str, decos: list[StepDecorator]) -> StepPolicy:
    values: dict[str, Any] = {"decorators": tuple(d.spec() for d in decos)}
    cards: list[CardSpec] = []
    for deco in decos:
        a = deco.attributes
        if deco.name == "parallel" and node_type == "split-switch":
            deco.fail(
                step,
                "is on a switch step",
                f"A @parallel step cannot switch: add a join step after '{step}'.",
            )
        if isinstance(deco, RetryDecorator):
            values["retries"] = int(a["times"])
        elif isinstance(deco, CatchDecorator):
            if node_type == "foreach":
                deco.fail(
                    step,
                    "is on a foreach step",
                    "@catch is not allowed on a step that starts a foreach.",
                )
            if node_type == "split-switch":
                deco.fail(
                    step,
                    "is on a switch step",
                    "@catch is not supported on a conditional switch step: move the work "
                    "that may fail into a step of its own.",
                )
            values.update(
                catch=True, catch_var=a["var"], print_exception=bool(a["print_exception"])
            )
        elif isinstance(deco, TimeoutDecorator):
            values["timeout"] = deco.seconds
        elif isinstance(deco, EnvironmentDecorator):
            values["env"] = {k: str(v) for k, v in a["vars"].items()}
        elif isinstance(deco, ResourcesDecorator):
            values["resources"] = Resources.of(a)
        elif isinstance(deco, SecretsDecorator):
            values.update(secrets=deco.sources(step), allow_secret_override=a["allow_override"])
        elif isinstance(deco, ParallelDecorator):
            values["gang_placement"] = a["placement"]
        elif isinstance(deco, CardDecorator):
            if a["id"] is not None and a["id"] in {c.id for c in cards}:
                deco.fail(
                    step,
                    f"repeats the card id {a['id']!r}",
                    "Give each @card of a step a different id.",
                )
            cards.append(CardSpec.from_attributes(a))
    _place(step, decos, values)
    return StepPolicy(**values, cards=tuple(cards))


def _place(step: str, decos: list[StepDecorator], values: dict[str, Any]) -> None:
    """Where the step runs (``@on_ray``, ``@local``), and what ``@on_ray``'s sizes add to
    ``@resources`` (the larger of the two, as Metaflow combines them for remote compute)."""
    on_ray = next((d for d in decos if isinstance(d, OnRayDecorator)), None)
    local = next((d for d in decos if isinstance(d, LocalDecorator)), None)
    if on_ray is not None and local is not None:
        if on_ray.origin == "--with":  # @local on the step keeps it out of --with on_ray
            on_ray = None
        else:
            local.fail(step, "is on a step that has @on_ray", "Keep one of @on_ray and @local.")
    if local is not None:
        values["local"] = True
        return
    if on_ray is None:
        return
    a = on_ray.attributes
    base = values.get("resources")
    if base is None and any(a[k] is not None for k in ("cpu", "gpu", "memory")):
        # @on_ray's sizes alone: what it names, and no memory request unless it names one
        values["resources"] = Resources(
            cpu=float(a["cpu"] or 1), gpu=int(a["gpu"] or 0), memory=int(a["memory"] or 0)
        )
    elif base is not None:
        values["resources"] = Resources(
            cpu=max(base.cpu, float(a["cpu"] or 0)),
            gpu=max(base.gpu, int(a["gpu"] or 0)),
            memory=max(base.memory, int(a["memory"] or 0)),
            disk=base.disk,
            shared_memory=base.shared_memory,
        )
    values["placement"] = Placement(
        "ray",
        custom_resources={k: float(v) for k, v in a["resources"].items()},
        runtime_env=a["runtime_env"],
        scheduling_strategy=a["scheduling_strategy"],
    )


def place_on(policies: dict[str, StepPolicy], executor: str) -> dict[str, StepPolicy]:
    """The policies of a run whose tasks all go to ``executor`` (``--executor ray``), except
    steps marked ``@local`` and steps already placed by their own decorator."""
    return {
        name: p if p.local or p.placement is not None else replace(p, placement=Placement(executor))
        for name, p in policies.items()
    }


def remote_executors(policies: dict[str, StepPolicy]) -> set[str]:
    """The executors other than the local one that the run's steps are placed on."""
    return {p.placement.executor for p in policies.values() if p.placement is not None}
