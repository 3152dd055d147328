"""``TaskSpec`` and ``TaskResult``: the typed records that cross the executor seam."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..cards._records import CardRecord, CardSpec
from ..flow._secrets import SecretSource
from ..metadata._records import ArtifactRecord, ForeachFrame, MetricPoint


@dataclass(frozen=True)
class InputRef:
    """One parent task whose artifacts a task starts from (a join has several)."""

    step_name: str
    task_id: int
    artifacts: dict[str, ArtifactRecord]
    frames: tuple[ForeachFrame, ...] = ()
    var_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Resources:
    """What a step's ``@resources`` asks of the machine a task runs on (memory and disk in
    MB, as in Metaflow; memory 0: no request). A local run only hands out GPUs; a remote
    executor sizes its workers from the rest."""

    cpu: float = 1
    gpu: int = 0
    memory: int = 4096
    disk: int | None = None
    shared_memory: int | None = None

    @classmethod
    def of(cls, attributes: Mapping[str, Any]) -> Resources:
        """From the (validated) attributes of a ``@resources`` decorator."""

        def size(name: str) -> int | None:
            value = attributes.get(name)
            return None if value is None else int(value)

        return cls(
            cpu=float(attributes.get("cpu", 1)),
            gpu=int(attributes.get("gpu") or 0),
            memory=size("memory") or 4096,
            disk=size("disk"),
            shared_memory=size("shared_memory"),
        )


@dataclass(frozen=True)
class Placement:
    """Where a step's tasks run, when not on the run's local executor: the registered executor
    that runs them (``ray``) and what it needs besides ``Resources`` (custom resources by name,
    a runtime environment)."""

    executor: str
    custom_resources: Mapping[str, float] = field(default_factory=dict)
    runtime_env: Mapping[str, Any] | None = None
    scheduling_strategy: str = "DEFAULT"  # Ray's: "DEFAULT" or "SPREAD"


@dataclass(frozen=True)
class Gang:
    """A task's place in the gang of a ``@parallel`` step: the ``num_parallel`` tasks that
    start together (``task_ids`` in node order; the first is the control task).
    ``placement`` is how a cluster executor places them (Ray's placement group strategy)."""

    task_ids: tuple[int, ...]
    node_index: int
    placement: str = "PACK"

    @property
    def num_nodes(self) -> int:
        return len(self.task_ids)

    @property
    def control_task_id(self) -> int:
        return self.task_ids[0]


@dataclass(frozen=True)
class TaskSpec:
    """Everything a task process needs to run one attempt of one step.

    A task never reads the metadata database: its inputs arrive here by blob key, and its code
    too: where ``flow_file`` is not there (another machine), the task loads the flow from the
    run's code package (``code_package``, see ``runtime._package``).
    """

    flow_name: str
    flow_file: str
    flow_class: str
    run_id: int
    step_name: str
    task_id: int
    attempt: int
    inputs: tuple[InputRef, ...]
    # Parameters and class constants, as stored in the run's _parameters task.
    parameters: dict[str, ArtifactRecord]
    frames: tuple[ForeachFrame, ...]
    var_keys: tuple[str, ...]
    datastore_url: str  # opened in the task with ketch.datastore.open_storage
    username: str
    # The static graph's view of this step, checked against what the step does.
    is_join: bool = False
    is_end: bool = False
    out_funcs: tuple[str, ...] = ()
    foreach_param: str | None = None
    is_switch: bool = False  # the step takes exactly one of ``out_funcs``
    iterations: tuple[int, ...] = ()  # the _iteration_stack (recursive switches)
    graph_info: dict[str, object] = field(default_factory=dict)
    # What the step's decorators ask for (see runtime._policy).
    retries: int = 0
    catch: bool = False
    catch_var: str | None = None
    print_exception: bool = True
    timeout: float | None = None
    # Set on a @catch fallback attempt: the earlier attempt's process died with this error, so
    # the step body is not run again; the catch variable records the error instead.
    fallback_error: str | None = None
    tags: frozenset[str] = frozenset()
    # The Client namespace inside the task (run --namespace); None: the user's, "": global.
    namespace: str | None = None
    origin_run_id: int | None = None
    cwd: str = ""
    env: dict[str, str] = field(default_factory=dict)
    cards: tuple[CardSpec, ...] = ()  # the step's @card decorators, in order
    resources: Resources | None = None  # the step's @resources; None: it has none
    placement: Placement | None = None  # where the task runs; None: the run's local executor
    # Blob key of the run's code package (the flow's directory); None: load ``flow_file`` only.
    code_package: str | None = None
    # Load the flow from the code package even where ``flow_file`` exists (a remote executor
    # may ask for it, so that the task runs the code the run started with).
    load_from_package: bool = False
    # What flow decorators add to ``current`` for the whole run (@project's fields).
    flow_fields: dict[str, Any] = field(default_factory=dict)
    # The step's @secrets sources, fetched by the task where it runs (see runtime._secrets).
    secrets: tuple[SecretSource, ...] = ()
    allow_secret_override: bool = False
    gang: Gang | None = None  # set for the tasks of a @parallel step
    # The interpreter of the step's @pypi/@conda environment (ketch.pyenv); None: the one that
    # runs the flow.
    python: str | None = None

    @property
    def pathspec(self) -> str:
        return f"{self.flow_name}/{self.run_id}/{self.step_name}/{self.task_id}"

    @property
    def gpus(self) -> int:
        """The GPUs the task asks for (``@resources(gpu=N)``); the scheduler gives it its
        devices in ``env``."""
        return self.resources.gpu if self.resources is not None else 0


@dataclass(frozen=True)
class TaskResult:
    """What one attempt produced. ``ok`` is False when the step raised or the process died."""

    ok: bool
    artifacts: dict[str, ArtifactRecord] = field(default_factory=dict)
    transition: tuple[str, ...] = ()
    foreach_var: str | None = None
    foreach_num_splits: int = 0
    foreach_values: tuple[str, ...] = ()  # short text of each element
    foreach_key: str | None = None  # blob key of the iterable split over
    exception: str | None = None  # "Type: message"
    traceback: str | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    exit_code: int | None = None
    # Blob keys of the captured output, stored by the executor that captured it (see
    # ``_executor_api``); None for a stream that printed nothing.
    stdout_key: str | None = None
    stderr_key: str | None = None
    pid: int | None = None
    # Where the attempt ran, for a task that ran elsewhere than the launching machine (e.g.
    # ``ray:<node id>``); None: on the launching machine.
    node: str | None = None
    caught: str | None = None  # "Type: message" of an exception that @catch handled
    cards: tuple[CardRecord, ...] = ()  # the cards rendered after the step (see ketch.cards)
    # The ``_cards`` artifact listing ``cards``, stored by the task; it belongs to this task
    # only (successors start from ``artifacts``, which does not hold it).
    cards_artifact: ArtifactRecord | None = None
    # What the step logged with log_metric/log_metrics (ketch.flow._metrics), in order; kept
    # for a failed attempt too. The scheduler writes them to the metadata store.
    metrics: tuple[MetricPoint, ...] = ()
