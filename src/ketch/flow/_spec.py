"""``FlowSpec``: the base class of every flow."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

from ..exceptions import InvalidNextError, MergeArtifactsError, UserError
from ._parallel import PARALLEL_VAR
from ._parameters import Parameter, check_parameter_names
from ._state import Inputs, InputView, TaskState

# Attributes of a flow object that are never artifacts.
EPHEMERAL = frozenset({"_ketch", "index", "input"})
# Internal artifacts that merge_artifacts never merges.
_NEVER_MERGED = frozenset(
    {"_foreach_values", "_foreach_var", "_foreach_num_splits", "_iteration_stack"}
)


# Per flow class, filled on first use (a task's fork inherits them from the fork server).
_PARAMETERS: dict[type, dict[str, Parameter]] = {}
_CONSTANTS: dict[type, dict[str, Any]] = {}


class FlowSpec:
    """Base class of a flow: subclass it and write ``@step`` methods.

    Running ``python flow.py run`` constructs the flow, which hands control to ketch's
    command line; ``MyFlow(use_cli=False)`` builds the object without it.

    Examples
    --------
    >>> from ketch import FlowSpec, step
    >>> class HelloFlow(FlowSpec):
    ...     @step
    ...     def start(self):
    ...         self.message = "hi"
    ...         self.next(self.end)
    ...     @step
    ...     def end(self):
    ...         print(self.message)
    >>> if __name__ == "__main__":
    ...     HelloFlow()
    """

    _ketch: TaskState | None
    _EPHEMERAL: ClassVar[frozenset[str]] = EPHEMERAL

    def __init__(self, use_cli: bool = True) -> None:
        object.__setattr__(self, "_ketch", None)
        if use_cli:
            from ..cli._flow import main

            main(type(self))

    # -- identity ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return type(self).__name__

    # Metaflow's private attributes that flows and Metaflow's own test suite read.
    @property
    def _current_step(self) -> str | None:
        """The name of the step running now (None outside a task)."""
        state = self.__dict__.get("_ketch")
        return state.step_name if state is not None else None

    @property
    def _foreach_stack(self) -> list[Any]:
        """The enclosing foreach frames, outermost first, with ``step``, ``var``,
        ``num_splits``, ``index`` and ``value`` (its short text), as Metaflow's."""
        state = self.__dict__.get("_ketch")
        return list(state.frames) if state is not None else []

    @property
    def _iteration_stack(self) -> list[int]:
        """The iteration of each enclosing loop (a recursive switch): ``[0]`` on the first
        run of a step that can switch back to itself, ``[1]`` on the next; ``[]`` outside."""
        state = self.__dict__.get("_ketch")
        return list(state.iterations) if state is not None else []

    @property
    def _graph(self) -> Any:
        """The flow's graph: ``graph[step]`` has ``type``, ``in_funcs`` and ``out_funcs``."""
        from ..graph import build_graph

        return build_graph(type(self))

    @classmethod
    def _parameters(cls) -> dict[str, Parameter]:
        """Attribute name -> Parameter, across the class hierarchy (computed once per class)."""
        found = _PARAMETERS.get(cls)
        if found is None:
            found = {}
            for klass in reversed(cls.__mro__):
                for attr, value in vars(klass).items():
                    if isinstance(value, Parameter):
                        found[attr] = value
            check_parameter_names(found)
            _PARAMETERS[cls] = found
        return found

    @classmethod
    def _constants(cls) -> dict[str, Any]:
        """Class constants: plain class attributes that are persisted once, read-only
        (computed once per class)."""
        found = _CONSTANTS.get(cls)
        if found is None:
            found = {}
            for klass in reversed(cls.__mro__[:-1]):
                if klass is FlowSpec or not issubclass(klass, FlowSpec):
                    continue
                for attr, value in vars(klass).items():
                    if attr.startswith("__") or attr in EPHEMERAL or attr == "_EPHEMERAL":
                        continue
                    if isinstance(
                        value,
                        (Parameter, property, staticmethod, classmethod, type, types.FunctionType),
                    ) or callable(value):
                        continue
                    found[attr] = value
            _CONSTANTS[cls] = found
        return found

    # -- artifacts --------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        state = self.__dict__.get("_ketch")
        if state is not None and not name.startswith("__"):
            if name in state.artifacts:
                value = state.load(name)
                self.__dict__[name] = value
                return value
        raise AttributeError(f"Flow {type(self).__name__} has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        state = self.__dict__.get("_ketch")
        if state is not None:
            if name in state.readonly:
                raise AttributeError("Flow level attributes and Parameters are not modifiable")
            if isinstance(value, (FlowSpec, InputView, Inputs)):
                raise UserError(
                    f"Artifact '{name}' cannot hold a flow object: flows can't be serialized.",
                    hint="Store the values you need from it instead.",
                )
            state.deleted.discard(name)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        state = self.__dict__.get("_ketch")
        found = name in self.__dict__
        if found:
            object.__delattr__(self, name)
        if state is not None and name in state.artifacts:
            state.deleted.add(name)
            found = True
        if not found:
            raise AttributeError(name)

    # -- foreach ----------------------------------------------------------------------------
    @property
    def index(self) -> int | None:
        """Index of this task in the innermost foreach, or None outside a foreach."""
        state = self.__dict__.get("_ketch")
        return state.index() if state is not None else None

    @property
    def input(self) -> Any:
        """The element of the innermost foreach this task handles, or None."""
        state = self.__dict__.get("_ketch")
        return state.input() if state is not None else None

    def foreach_stack(self) -> list[tuple[int, int, Any]] | None:
        """``(index, num_splits, value)`` for each enclosing foreach, outermost first."""
        state = self.__dict__.get("_ketch")
        return state.foreach_stack() if state is not None else None

    # -- transitions ------------------------------------------------------------------------
    def next(self, *targets: Callable[..., Any], **kwargs: Any) -> None:
        """Name the step(s) that run after this one; must be the step's last statement.

        ``self.next(self.a)`` goes on linearly, ``self.next(self.a, self.b)`` branches, and
        ``self.next(self.a, foreach="items")`` runs ``a`` once per element of ``self.items``,
        and ``self.next({"x": self.a, "y": self.b}, condition="mode")`` takes the one step
        whose key equals ``self.mode`` (a switch).
        """
        state = self._require_state("next")
        step = state.step_name
        if "condition" in kwargs or (len(targets) == 1 and isinstance(targets[0], dict)):
            from ._switch import take_switch

            state.transition = take_switch(self, step, state.transition, targets, kwargs)
            return
        foreach = kwargs.pop("foreach", None)
        num_parallel = kwargs.pop("num_parallel", None)
        if kwargs:
            raise InvalidNextError(
                f"Step '{step}': self.next() got unknown argument(s) {sorted(kwargs)}.",
                hint="self.next() accepts step targets, foreach='attribute' and num_parallel=N.",
            )
        if state.transition is not None:
            raise InvalidNextError(
                f"Step '{step}' called self.next() more than once.",
                hint="Call self.next() exactly once, as the last statement of the step.",
            )
        if not targets:
            raise InvalidNextError(f"Step '{step}': self.next() needs at least one target.")
        names = []
        for target in targets:
            name = getattr(target, "__name__", None)
            if name is None or not getattr(getattr(type(self), name, None), "is_step", False):
                raise InvalidNextError(
                    f"Step '{step}': {target!r} passed to self.next() is not a step of "
                    f"{type(self).__name__}.",
                    hint="Pass steps as self.<step_name>.",
                )
            names.append(name)
        if num_parallel is not None and foreach is None:
            foreach = self._gang(step, num_parallel, names)
        if foreach is not None:
            self._check_foreach(step, foreach, names)
        state.transition = (tuple(names), foreach)

    def _gang(self, step: str, num_parallel: Any, names: list[str]) -> str:
        """``num_parallel=N``: a foreach over the node indices of a gang of N tasks."""
        if type(num_parallel) is not int or num_parallel < 1:
            raise InvalidNextError(
                f"Step '{step}': num_parallel={num_parallel!r} is not an integer >= 1."
            )
        if len(names) != 1:
            raise InvalidNextError(f"Step '{step}': num_parallel= takes exactly one target.")
        setattr(self, PARALLEL_VAR, list(range(num_parallel)))
        return PARALLEL_VAR

    def _check_foreach(self, step: str, foreach: Any, names: list[str]) -> None:
        if not isinstance(foreach, str):
            raise InvalidNextError(f"Step '{step}': foreach must be the name of an attribute.")
        if len(names) != 1:
            raise InvalidNextError(f"Step '{step}': a foreach transition takes exactly one target.")
        try:
            values = getattr(self, foreach)
        except AttributeError:
            raise InvalidNextError(
                f"Step '{step}': foreach variable '{foreach}' is not set.",
                hint=f"Assign self.{foreach} before calling self.next().",
            ) from None
        try:
            iter(values)
        except TypeError:
            raise InvalidNextError(
                f"Step '{step}': foreach variable '{foreach}' is not iterable "
                f"(it is a {type(values).__name__})."
            ) from None

    def merge_artifacts(
        self,
        inputs: Iterable[Any],
        exclude: Iterable[str] | None = None,
        include: Iterable[str] | None = None,
    ) -> None:
        """Copy into this join every artifact the inputs agree on and that is not already set.

        Raises :class:`MergeArtifactsError` when inputs disagree on an artifact (set it
        explicitly first, or exclude it), or when an ``include``-d name exists in no input.
        """
        state = self._require_state("merge_artifacts")
        if not state.is_join:
            raise MergeArtifactsError(
                "merge_artifacts can only be called in a join step; "
                f"'{state.step_name}' is not one."
            )
        if exclude and include:
            raise MergeArtifactsError(
                "merge_artifacts takes include= or exclude=, not both.",
                hint="Use one of them.",
            )
        from ..datastore import content_hash  # equal bytes, wherever each input stored them

        excluded = set(exclude or ())
        wanted = set(include) if include is not None else None
        candidates: dict[str, set[str]] = {}
        records: dict[str, Any] = {}
        for view in inputs:
            for name, record in _view_state(view).artifacts.items():
                if name in excluded or name in _NEVER_MERGED or name == "name":
                    continue
                if wanted is not None and name not in wanted:
                    continue
                if name in self.__dict__ or name in state.artifacts:
                    continue
                candidates.setdefault(name, set()).add(content_hash(record.key))
                records[name] = record
        if wanted is not None:
            missing = sorted(wanted - set(candidates) - set(self.__dict__) - set(state.artifacts))
            if missing:
                raise MergeArtifactsError(
                    f"Step '{state.step_name}': merge_artifacts cannot find the included "
                    f"artifact(s) {', '.join(missing)} in any input.",
                    hint="Check the names passed to include=.",
                )
        conflicts = sorted(name for name, keys in candidates.items() if len(keys) > 1)
        if conflicts:
            raise MergeArtifactsError(
                f"Step '{state.step_name}' cannot merge the following artifacts because their "
                f"values differ between inputs: {', '.join(conflicts)}.",
                hint="Set them explicitly (self.<name> = ...) before calling merge_artifacts, "
                "or exclude them.",
            )
        for name, record in records.items():
            state.artifacts[name] = record
            state.deleted.discard(name)

    def _require_state(self, what: str) -> TaskState:
        state: TaskState | None = self.__dict__.get("_ketch")
        if state is None:
            raise UserError(f"{what}() can only be called while the flow runs a step.")
        return state

    def __iter__(self) -> Iterator[Any]:
        for name in dir(type(self)):
            func = getattr(type(self), name, None)
            if getattr(func, "is_step", False):
                yield func

    def __reduce__(self) -> Any:
        raise UserError("Flows can't be serialized.", hint="Store plain values as artifacts.")


def _view_state(view: Any) -> TaskState:
    state = getattr(view, "_view_state", None)
    if state is None:
        raise MergeArtifactsError("merge_artifacts expects the inputs argument of the join.")
    return state  # type: ignore[no-any-return]
