"""Run one attempt of one step inside a task process: load inputs, call the step, persist."""

from __future__ import annotations

import sys
import time
import traceback
import types
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._namespace import set_namespace
from ..datastore import BlobStore, encode, is_disk_full, load_artifact, open_blobs
from ..exceptions import (
    FailureHandledByCatch,
    InvalidNextError,
    KetchException,
    TimeoutException,
    UnpicklableArtifactError,
    UserError,
)
from ..flow import (
    EPHEMERAL,
    FlowSpec,
    Inputs,
    InputView,
    Parameter,
    TaskContext,
    TaskState,
    set_context,
)
from ..flow._config_apply import ensure_configs
from ..flow._decorators import ExceptionWrapper
from ..flow._metrics import MetricSpill, start_metrics, take_metrics
from ..flow._parallel import CONTROL_MAPPER_TASKS, PARALLEL_VAR
from ..flow._user_decorators import with_specs_of, wrappers_of
from ..metadata._records import ArtifactRecord
from ._spec import TaskResult, TaskSpec
from ._timeout import soft_timeout
from ._wrapped import run_wrapped

if TYPE_CHECKING:
    from ..cards._session import CardSession

_FOREACH_VALUE_CHARS = 30
ITERATION_STACK = "_iteration_stack"


def execute(
    spec: TaskSpec, flow_cls: type[FlowSpec], spill: MetricSpill | None = None
) -> TaskResult:
    """Run the step of ``spec``; never raises for a failure of user code.

    ``spill`` sends batches of logged metrics while the step runs (``_metricframes``); the
    result carries the points not sent yet.

    In a remote datastore, the task's small blobs are written together, in one request, when
    it ends (see ``BlobStore.batch``); if that write fails, the task fails with its error.
    """
    started = time.time()
    blobs = open_blobs(spec.datastore_url)
    start_metrics(spill)
    try:
        with blobs.batch():
            result = _execute(spec, flow_cls, blobs, started)
    except KetchException as exc:  # the batch's one write failed: nothing it held is kept
        result = replace(_failure(exc, started), artifacts={})
    return replace(result, metrics=take_metrics())


def _execute(
    spec: TaskSpec, flow_cls: type[FlowSpec], blobs: BlobStore, started: float
) -> TaskResult:
    # A task not forked from the process that resolved the flow's configs applies them here.
    stored = spec.parameters
    ensure_configs(
        flow_cls,
        lambda attr: load_artifact(blobs, stored[attr].key),
        set(stored),
        with_specs_of(spec.env),
    )
    params = flow_cls._parameters()
    parameter_names = tuple(sorted(p.name for p in params.values()))
    set_context(
        TaskContext(
            flow_name=spec.flow_name,
            run_id=str(spec.run_id),
            step_name=spec.step_name,
            task_id=str(spec.task_id),
            retry_count=spec.attempt,
            origin_run_id=None if spec.origin_run_id is None else str(spec.origin_run_id),
            username=spec.username,
            namespace=_namespace(spec),
            tags=spec.tags,
            parameter_names=parameter_names,
            graph=spec.graph_info,
            datastore_url=spec.datastore_url,
            flow_fields=spec.flow_fields,
            is_parallel=spec.gang is not None,
        )
    )
    cards = _open_cards(spec, blobs, parameter_names)
    flow: Any = None
    try:
        if spec.secrets:  # fetched here, where the task runs, into this process's environment
            from ._secrets import inject_secrets

            inject_secrets(spec.secrets, spec.allow_secret_override)
        flow, state = _prepare(spec, flow_cls, blobs, params)
        transition, foreach = _run_step(spec, flow, state, blobs)
        _list_gang(spec, flow)
        artifacts = _persist(flow, state, blobs)
        _record_iterations(spec, blobs, artifacts)
        fe = _foreach_info(flow, foreach, artifacts) if foreach else None
    except BaseException as exc:  # the task reports every failure of the step as a result
        result = _failure(exc, started)
        if flow is not None and not isinstance(exc, KeyboardInterrupt):
            # Like Metaflow, keep what the step had set before it failed, for debugging.
            result = replace(result, artifacts=_persist(flow, state, blobs, partial=True))
        if cards is not None:  # rendered after a failure too, except on Ctrl-C
            result = cards.finish(result, flow, render=not isinstance(exc, KeyboardInterrupt))
            result = _store_cards(blobs, result)
        return result
    result = TaskResult(
        ok=True,
        artifacts=artifacts,
        transition=transition,
        foreach_var=foreach,
        foreach_num_splits=fe[0] if fe else 0,
        foreach_values=fe[1] if fe else (),
        foreach_key=fe[2] if fe else None,
        # A step whose exception @catch handled completes, but (as in Metaflow) is not
        # "successful": the caught error is reported with the result.
        caught=state.caught.summary if state.caught else None,
        traceback=(state.caught.stacktrace or None) if state.caught else None,
        started_at=started,
        finished_at=time.time(),
    )
    return result if cards is None else _store_cards(blobs, cards.finish(result, flow))


def _store_cards(blobs: BlobStore, result: TaskResult) -> TaskResult:
    """``result`` with the ``_cards`` artifact that lists its rendered cards, if any."""
    if not result.cards:
        return result
    from ..cards._records import CARDS_ARTIFACT

    cards = [card.to_dict() for card in result.cards]
    return replace(result, cards_artifact=save_value(blobs, CARDS_ARTIFACT, cards))


def _open_cards(spec: TaskSpec, blobs: BlobStore, names: tuple[str, ...]) -> CardSession | None:
    """The step's card session (it sets ``current.card``); None for a step without ``@card``."""
    if not spec.cards:
        return None
    from ..cards._session import CardSession  # card rendering loads only where cards are made

    return CardSession.open(spec, blobs, names)


def _namespace(spec: TaskSpec) -> str:
    """The namespace of ``current.namespace``; ``run --namespace`` also sets the Client's."""
    if spec.namespace is None:
        return f"user:{spec.username}"
    set_namespace(spec.namespace or None)
    return spec.namespace


def _run_step(
    spec: TaskSpec, flow: Any, state: TaskState, blobs: BlobStore
) -> tuple[tuple[str, ...], str | None]:
    """Call the step (unless this is a @catch fallback) and check its transition."""
    if spec.fallback_error is not None:
        _caught(spec, flow, _fallback_wrapper(spec))
        return spec.out_funcs, None
    func = getattr(flow, spec.step_name)
    args = (_inputs(spec, blobs),) if spec.is_join else ()
    wrappers = wrappers_of(getattr(type(flow), spec.step_name))  # user step decorators
    try:
        with soft_timeout(spec.step_name, spec.timeout):
            targets = (spec.out_funcs, spec.foreach_param)
            inputs = args[0] if args else None
            run_wrapped(wrappers, flow, spec.step_name, lambda: func(*args), inputs, targets)
        transition = _check_transition(spec, state)
    except Exception as exc:
        if isinstance(exc, TimeoutException):  # said where it happened, as Metaflow does
            print(exc, flush=True)
        if not spec.catch or spec.attempt < spec.retries:
            raise
        _caught(spec, flow, ExceptionWrapper.of(exc, user_traceback(exc)))
        return spec.out_funcs, None
    if spec.catch_var:  # as in Metaflow: None says that the step raised nothing
        setattr(flow, spec.catch_var, None)
    return transition


def _list_gang(spec: TaskSpec, flow: Any) -> None:
    """The control task of a gang lists every task of it, as Metaflow's does."""
    if spec.gang is not None and spec.gang.node_index == 0:
        tasks = [f"{spec.run_id}/{spec.step_name}/{t}" for t in spec.gang.task_ids]
        setattr(flow, CONTROL_MAPPER_TASKS, tasks)


def _fallback_wrapper(spec: TaskSpec) -> ExceptionWrapper:
    """What @catch records when the step's process died in every attempt it had."""
    message = (
        f"Task execution kept failing over {spec.attempt} attempts. Your code did not raise "
        "an exception. Something in the execution environment caused the failure. "
        f"Last attempt: {spec.fallback_error}."
    )
    return ExceptionWrapper.of(FailureHandledByCatch(message), "")


def _caught(spec: TaskSpec, flow: Any, wrapper: ExceptionWrapper) -> None:
    if spec.print_exception:  # on stdout, where Metaflow prints it too
        print(f"@catch caught an exception in step '{spec.step_name}':")
        print(str(wrapper).rstrip("\n"), flush=True)
    flow.__dict__["_ketch"].caught = wrapper
    if spec.catch_var:
        setattr(flow, spec.catch_var, wrapper)


def _prepare(
    spec: TaskSpec, flow_cls: type[FlowSpec], blobs: BlobStore, params: dict[str, Parameter]
) -> tuple[Any, TaskState]:
    constants = flow_cls._constants()
    if spec.is_join:
        artifacts = dict(spec.parameters)
    else:
        artifacts = dict(spec.inputs[0].artifacts) if spec.inputs else dict(spec.parameters)
    state = TaskState(
        pathspec=spec.pathspec,
        step_name=spec.step_name,
        artifacts=artifacts,
        readonly=frozenset(params) | frozenset(constants) | {"name"},
        blobs=blobs,
        is_join=spec.is_join,
        frames=spec.frames,
        var_keys=spec.var_keys,
        iterations=spec.iterations,
    )
    for attr, parameter in params.items():
        setattr(flow_cls, attr, _parameter_property(attr, parameter))
    flow = flow_cls(use_cli=False)
    object.__setattr__(flow, "_ketch", state)
    return flow, state


def _parameter_property(attr: str, parameter: Parameter) -> property:
    cache: dict[str, Any] = {}
    shown = getattr(parameter, "load_parameter", None)  # a Config's value is a ConfigValue

    def getter(self: FlowSpec) -> Any:
        if attr not in cache:
            state = self.__dict__["_ketch"]
            value = state.load(attr) if attr in state.artifacts else None
            cache[attr] = shown(value) if shown is not None else value
        return cache[attr]

    return property(getter)


def _inputs(spec: TaskSpec, blobs: BlobStore) -> Inputs:
    views = []
    for ref in spec.inputs:
        state = TaskState(
            pathspec=f"{spec.flow_name}/{spec.run_id}/{ref.step_name}/{ref.task_id}",
            step_name=ref.step_name,
            artifacts=ref.artifacts,
            readonly=frozenset(),
            blobs=blobs,
            frames=ref.frames,
            var_keys=ref.var_keys,
        )
        views.append(InputView(spec.flow_name, ref.step_name, state))
    return Inputs(views)


def _check_transition(spec: TaskSpec, state: TaskState) -> tuple[tuple[str, ...], str | None]:
    if spec.is_end:
        return (), None
    if state.transition is None:
        raise InvalidNextError(
            f"Step '{spec.step_name}' finished without calling self.next().",
            hint="End every step but 'end' with self.next(...).",
        )
    targets, foreach = state.transition
    if spec.is_switch and len(targets) == 1 and targets[0] in spec.out_funcs:
        return targets, None
    if targets != spec.out_funcs or foreach != spec.foreach_param:
        raise InvalidNextError(
            f"Step '{spec.step_name}' called self.next() with {list(targets)}"
            f"{f' foreach={foreach!r}' if foreach else ''}, but the flow's graph says "
            f"{list(spec.out_funcs)}"
            f"{f' foreach={spec.foreach_param!r}' if spec.foreach_param else ''}.",
            hint="self.next() must be the last statement and the same on every path.",
        )
    return targets, foreach


def _is_function(value: Any) -> bool:
    return isinstance(value, (types.FunctionType, types.MethodType))


def _persistable(name: str, value: Any) -> bool:
    if name.startswith("__") or name in EPHEMERAL:
        return False
    return not (_is_function(value) or isinstance(value, Parameter))


def _warn_function_dropped(name: str, value: Any) -> None:
    """Metaflow leaves functions out of a task's artifacts without a word; say so once, in
    the task's log, so that ``self.f`` missing in the next step is not a mystery."""
    kind = "a lambda" if value.__name__ == "<lambda>" else "a function"
    if isinstance(value, types.MethodType):
        kind = "a method"
    print(
        f"Warning: self.{name} was not stored: it holds {kind}, and functions are not kept "
        "as artifacts (as in Metaflow), so the next steps do not see it. Store the data it "
        "needs instead, or define it at module level.",
        file=sys.stderr,
    )


def _persist(
    flow: Any, state: TaskState, blobs: BlobStore, *, partial: bool = False
) -> dict[str, ArtifactRecord]:
    """Store the flow object's artifacts; with ``partial``, skip those that cannot be stored."""
    artifacts = {k: v for k, v in state.artifacts.items() if k not in state.deleted}
    values = {k: v for k, v in vars(flow).items() if _persistable(k, v)}
    if not partial:
        for name, value in vars(flow).items():
            if _is_function(value) and not name.startswith("__") and name not in EPHEMERAL:
                _warn_function_dropped(name, value)
    if "name" not in artifacts:  # inherited from _parameters in every task but the oddest
        values["name"] = flow.name
    for name, value in values.items():
        try:
            artifacts[name] = save_value(blobs, name, value)
        except (KetchException, OSError):
            if not partial:
                raise
    return artifacts


def _record_iterations(
    spec: TaskSpec, blobs: BlobStore, artifacts: dict[str, ArtifactRecord]
) -> None:
    """A task in the loop of a recursive switch keeps its ``_iteration_stack`` (as Metaflow's
    do), so the Client shows which iteration it was; the steps after the loop drop it."""
    if spec.iterations:
        artifacts[ITERATION_STACK] = save_value(blobs, ITERATION_STACK, list(spec.iterations))
    else:
        artifacts.pop(ITERATION_STACK, None)


def save_value(blobs: BlobStore, name: str, value: Any) -> ArtifactRecord:
    """Serialize and store one artifact, with errors that name it."""
    try:
        encoded = encode(value)
    except KetchException:
        raise
    except Exception as exc:
        raise UnpicklableArtifactError(
            f"Artifact '{name}' of type {type(value).__module__}.{type(value).__qualname__} "
            f"cannot be pickled: {exc}",
            hint="Store a picklable value instead (e.g. plain data), or assign it to a local "
            "variable rather than to self.",
        ) from None
    try:
        key = blobs.put(encoded.parts, label=f"artifact '{name}'")
    except OSError as exc:
        if is_disk_full(exc):
            raise UserError(
                f"No space left on the device while storing artifact '{name}' "
                f"({encoded.size} bytes).",
                hint="Free disk space or point KETCH_HOME at a larger disk, then resume.",
                headline="Disk full",
            ) from None
        raise
    return ArtifactRecord(name=name, key=key, type_name=encoded.type_name, size=encoded.size)


def _foreach_info(
    flow: Any, var: str, artifacts: dict[str, ArtifactRecord]
) -> tuple[int, tuple[str, ...], str]:
    values = list(getattr(flow, var))
    if not values:
        raise InvalidNextError(
            f"Foreach variable '{var}' in step '{flow._ketch.step_name}' produced zero splits.",
            hint="Make sure the iterable has at least one element.",
        )
    # A gang's frames carry no value, as in Metaflow (its "values" are the node indices).
    texts = ("",) * len(values) if var == PARALLEL_VAR else tuple(_short(v) for v in values)
    return len(values), texts, artifacts[var].key


def _short(value: Any) -> str:
    try:
        text = str(value)
    except Exception:  # a broken __str__ must not fail the task
        text = f"<{type(value).__name__}>"
    return text[:_FOREACH_VALUE_CHARS]


_PACKAGE = str(Path(__file__).resolve().parent.parent)


def user_traceback(exc: BaseException) -> str:
    """The traceback from the first frame of user code on: ketch's own calls are noise."""
    info = traceback.TracebackException.from_exception(exc)
    frames = list(info.stack)
    first = next((i for i, f in enumerate(frames) if not f.filename.startswith(_PACKAGE)), None)
    last = len(frames)
    if isinstance(exc, TimeoutException):  # raised by ketch's signal handler: end at the user
        while last > (first or 0) + 1 and frames[last - 1].filename.startswith(_PACKAGE):
            last -= 1
    if first or last < len(frames):
        info.stack = traceback.StackSummary.from_list(frames[first or 0 : last])
    return "".join(info.format())


def _failure(exc: BaseException, started: float) -> TaskResult:
    if isinstance(exc, KetchException) and not exc.show_traceback:
        text = exc.format()
        tb = text
        print(text, file=sys.stderr)
    else:
        tb = user_traceback(exc)
        print(tb, file=sys.stderr, end="")
    return TaskResult(
        ok=False,
        exception=f"{type(exc).__name__}: {exc}",
        traceback=tb,
        started_at=started,
        finished_at=time.time(),
    )
