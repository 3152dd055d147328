"""Mutators: ``StepMutator`` and ``FlowMutator`` change a flow's decorators and parameters
once its config values are known, through ``MutableStep`` and ``MutableFlow``.

They run when the configs are applied (``_config_apply.apply_configs``), in Metaflow's order:
every flow mutator's ``pre_mutate``, every step mutator's ``pre_mutate``, then every flow
mutator's ``mutate`` and every step mutator's ``mutate``. Parameters and mutators may only be
added or removed in ``pre_mutate``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from ..exceptions import DecoratorError
from ._config import Config
from ._decorators import DECORATORS, StepDecorator, parse_with
from ._parameters import Parameter
from ._user_decorators import UserStepDecoratorBase, user_with_class

_FLOW_MUTATORS = "__ketch_flow_mutators__"  # a dunder name: never a class constant artifact
FLOW_REGISTRY: dict[str, type[FlowMutator]] = {}  # name -> FlowMutator class


class StepMutator(UserStepDecoratorBase):
    """Base class of a step mutator: override ``pre_mutate`` and/or ``mutate``.

    Examples
    --------
    >>> class with_retry(StepMutator):                       # doctest: +SKIP
    ...     def mutate(self, mutable_step):
    ...         mutable_step.add_decorator("retry", deco_kwargs={"times": 2})
    """

    _field = "mutators"
    _allow_args = True

    def pre_mutate(self, mutable_step: MutableStep) -> None:
        """Right after the config values are read."""

    def mutate(self, mutable_step: MutableStep) -> None:
        """After ``pre_mutate`` of every mutator, before the flow is checked."""


class FlowMutator:
    """Base class of a flow mutator, applied above the class: ``@MyMutator`` or
    ``@MyMutator(arg=1)``. Override ``init``, ``pre_mutate`` and/or ``mutate``."""

    decorator_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.decorator_name = cls.__dict__.get("decorator_name") or cls.__name__
        FLOW_REGISTRY[cls.decorator_name] = cls
        FLOW_REGISTRY[f"{cls.__module__}.{cls.decorator_name}"] = cls

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and _is_flow_class(args[0]):
            return cls()(args[0])
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args = args
        self._kwargs = kwargs
        self._initialized = False

    def __call__(self, flow_cls: Any) -> Any:
        if not _is_flow_class(flow_cls):
            raise DecoratorError(
                f"@{self.decorator_name} is a flow mutator: it decorates a FlowSpec class.",
                hint="Place it above the flow's class statement.",
            )
        if _FLOW_MUTATORS not in flow_cls.__dict__:
            setattr(flow_cls, _FLOW_MUTATORS, [])
        getattr(flow_cls, _FLOW_MUTATORS).append(self)
        return flow_cls

    def external_init(self) -> None:
        if not self._initialized:
            self._initialized = True
            self.init(*self._args, **self._kwargs)

    def init(self, *args: Any, **kwargs: Any) -> None:
        """Override to take arguments: ``@MyMutator(x=1)`` calls ``init(x=1)``."""
        if args or kwargs:
            raise DecoratorError(
                f"@{self.decorator_name} was given arguments but does not define init().",
                hint="Define init(self, *args, **kwargs) to take them.",
            )

    def pre_mutate(self, mutable_flow: MutableFlow) -> None:
        """Right after the config values are read."""

    def mutate(self, mutable_flow: MutableFlow) -> None:
        """After ``pre_mutate`` of every mutator, before the flow is checked."""


def _is_flow_class(value: Any) -> bool:
    from ._spec import FlowSpec

    return isinstance(value, type) and issubclass(value, FlowSpec)


class MutableStep:
    """One step of a flow, as a mutator sees it: its decorators, to read and change."""

    IGNORE = 1
    ERROR = 2
    OVERRIDE = 3

    def __init__(self, flow_cls: type, name: str, *, pre_mutate: bool) -> None:
        self._flow_cls = flow_cls
        self._func = getattr(flow_cls, name)
        self._pre_mutate = pre_mutate
        self.name = name

    @property
    def flow(self) -> MutableFlow:
        return MutableFlow(self._flow_cls, pre_mutate=self._pre_mutate)

    @property
    def decorator_specs(self) -> Iterator[tuple[str, str, list[Any], dict[str, Any]]]:
        """(name, qualified name, args, kwargs) of each decorator of the step."""
        for deco in self._func.__dict__.get("decorators", []):
            qualified = f"{type(deco).__module__}.{type(deco).__name__}"
            yield deco.name, qualified, [], dict(deco.given)
        held = self._func.__dict__
        for wrapper in [*held.get("wrappers", []), *held.get("mutators", [])]:
            qualified = f"{type(wrapper).__module__}.{type(wrapper).__name__}"
            yield wrapper.decorator_name, qualified, list(wrapper._args), dict(wrapper._kwargs)

    def has_decorator(self, name: str) -> bool:
        return any(spec[0] == name or spec[1] == name for spec in self.decorator_specs)

    def add_decorator(
        self,
        deco_type: Any,
        deco_args: list[Any] | None = None,
        deco_kwargs: dict[str, Any] | None = None,
        duplicates: int = IGNORE,
    ) -> Any:
        """Add a step decorator (ketch's, by name, spec string or function; or a user step
        decorator class or a step mutator class). Returns what was added, or None."""
        kwargs = dict(deco_kwargs or {})
        if isinstance(deco_type, str) and deco_type.partition(":")[0] not in DECORATORS:
            deco_type, spec_kwargs = split_spec(deco_type)
            kwargs = {**spec_kwargs, **kwargs}
        user = _user_class(deco_type)
        if user is not None:
            return self._add_user(user, list(deco_args or []), kwargs)
        name = getattr(deco_type, "__name__", deco_type)
        if not isinstance(name, str) or name.partition(":")[0] not in DECORATORS:
            raise DecoratorError(
                f"add_decorator on step '{self.name}': {deco_type!r} is not a step decorator.",
                hint=f"Known step decorators: {', '.join(sorted(DECORATORS))}, or a "
                "UserStepDecorator / StepMutator class.",
            )
        deco = parse_with(name) if kwargs == {} else DECORATORS[name](**kwargs)
        deco.origin = deco.origin or "added by a mutator"
        return self._add_builtin(deco, duplicates)

    def _add_builtin(self, deco: StepDecorator, duplicates: int) -> StepDecorator | None:
        held: list[StepDecorator] = self._func.__dict__.setdefault("decorators", [])
        same = [d for d in held if d.key() == deco.key()]
        if same and not deco.allow_multiple:
            if duplicates == self.IGNORE:
                return None
            if duplicates == self.ERROR:
                raise DecoratorError(
                    f"Step '{self.name}' already has {same[0]!r}; a mutator added {deco!r}.",
                    hint="Use duplicates=MutableStep.OVERRIDE or IGNORE.",
                )
            held[:] = [d for d in held if d.key() != deco.key()]
        held.append(deco)
        return deco

    def _add_user(
        self, cls: type[UserStepDecoratorBase], args: list[Any], kwargs: dict[str, Any]
    ) -> UserStepDecoratorBase:
        if issubclass(cls, StepMutator) and not self._pre_mutate:
            raise DecoratorError(
                f"A step mutator ({cls.__name__}) can only be added in pre_mutate.",
                hint="Add it from pre_mutate().",
            )
        instance: UserStepDecoratorBase = cls(*args, **kwargs)
        instance(self._func)
        if not issubclass(cls, StepMutator):
            instance.external_init()
        return instance

    def remove_decorator(
        self,
        deco_name: str,
        deco_args: list[Any] | None = None,
        deco_kwargs: dict[str, Any] | None = None,
    ) -> bool:
        """Remove the step's decorators of that name (and those arguments, when given)."""
        removed = False
        for field in ("decorators", "wrappers", "mutators"):
            held = self._func.__dict__.get(field, [])
            kept = [d for d in held if not _matches(d, deco_name, deco_args, deco_kwargs)]
            if field == "mutators" and len(kept) != len(held) and not self._pre_mutate:
                raise DecoratorError(
                    f"Removing step mutator '{deco_name}' from step '{self.name}' is only "
                    "allowed in pre_mutate, not in mutate.",
                    hint="Remove it from pre_mutate().",
                )
            removed = removed or len(kept) != len(held)
            held[:] = kept
        return removed


def _matches(deco: Any, name: str, args: list[Any] | None, kwargs: dict[str, Any] | None) -> bool:
    own = getattr(deco, "name", None) or getattr(deco, "decorator_name", "")
    qualified = f"{type(deco).__module__}.{type(deco).__name__}"
    if name not in (own, qualified):
        return False
    if kwargs is not None:
        given = getattr(deco, "given", None)
        if given is None:
            given = getattr(deco, "_kwargs", {})
        if dict(given) != kwargs:
            return False
    return args is None or list(getattr(deco, "_args", ())) == list(args)


def _user_class(deco_type: Any) -> type[UserStepDecoratorBase] | None:
    if isinstance(deco_type, type) and issubclass(deco_type, UserStepDecoratorBase):
        return deco_type
    if isinstance(deco_type, str) and deco_type not in DECORATORS:
        return user_with_class(deco_type)
    return None


def split_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``name:key=value,...`` -> (name, keyword arguments), as ``--with`` reads them."""
    from ._decorators import _split_args, _value

    name, _, args = spec.partition(":")
    kwargs = {}
    for item in _split_args(args):
        key, _, raw = item.partition("=")
        kwargs[key.strip()] = _value(raw)
    return name.strip(), kwargs


class MutableFlow:
    """A flow as a flow mutator sees it: configs, parameters and steps."""

    def __init__(self, flow_cls: type, *, pre_mutate: bool) -> None:
        self._flow_cls = flow_cls
        self._pre_mutate = pre_mutate

    @property
    def configs(self) -> Iterator[tuple[str, Any]]:
        from ._config_apply import applied_configs, flow_configs

        values = applied_configs(self._flow_cls) or {}
        for attr, config in flow_configs(self._flow_cls).items():
            value = values.get(attr)
            yield config.name, config.load_parameter(value) if value is not None else None

    @property
    def parameters(self) -> Iterator[tuple[str, Parameter]]:
        params = self._flow_cls._parameters()  # type: ignore[attr-defined]
        for attr, parameter in params.items():
            if not isinstance(parameter, Config):
                yield attr, parameter

    @property
    def steps(self) -> Iterator[tuple[str, MutableStep]]:
        for name in dir(self._flow_cls):
            if getattr(getattr(self._flow_cls, name, None), "is_step", False):
                yield name, MutableStep(self._flow_cls, name, pre_mutate=self._pre_mutate)

    def __getattr__(self, name: str) -> MutableStep:
        if not name.startswith("_") and getattr(
            getattr(self._flow_cls, name, None), "is_step", False
        ):
            return MutableStep(self._flow_cls, name, pre_mutate=self._pre_mutate)
        raise AttributeError(name)

    def add_parameter(self, name: str, value: Parameter, overwrite: bool = False) -> None:
        """Add a parameter (in ``pre_mutate`` only)."""
        self._only_in_pre_mutate(f"Adding parameter '{name}'")
        if hasattr(self._flow_cls, name) and not overwrite:
            raise DecoratorError(
                f"The flow already has an attribute '{name}'.",
                hint="Pass overwrite=True to replace it.",
            )
        setattr(self._flow_cls, name, value)
        _forget_parameters(self._flow_cls)

    def remove_parameter(self, parameter_name: str) -> bool:
        """Remove a parameter (in ``pre_mutate`` only); True when there was one."""
        self._only_in_pre_mutate(f"Removing parameter '{parameter_name}'")
        for klass in self._flow_cls.__mro__:
            found = klass.__dict__.get(parameter_name)
            if isinstance(found, Parameter) and not isinstance(found, Config):
                delattr(klass, parameter_name)
                _forget_parameters(self._flow_cls)
                return True
        return False

    @property
    def decorator_specs(self) -> Iterator[tuple[str, str, list[Any], dict[str, Any]]]:
        """(name, qualified name, args, kwargs) of each flow decorator and flow mutator."""
        from ._config_apply import _flow_decorators

        for deco in _flow_decorators(self._flow_cls):
            qualified = f"{type(deco).__module__}.{type(deco).__name__}"
            yield deco.name, qualified, [], dict(getattr(deco, "given", {}))
        for mutator in flow_mutators(self._flow_cls):
            qualified = f"{type(mutator).__module__}.{type(mutator).__name__}"
            yield mutator.decorator_name, qualified, list(mutator._args), dict(mutator._kwargs)

    def has_decorator(self, name: str) -> bool:
        return any(spec[0] == name or spec[1] == name for spec in self.decorator_specs)

    def remove_decorator(
        self, deco_name: str, deco_args: Any = None, deco_kwargs: Any = None
    ) -> bool:
        """Remove the class's own flow decorators (or flow mutators, in ``pre_mutate``) of
        that name."""
        from ._config_apply import FLOW_DECORATORS_ATTRIBUTE

        removed = False
        for attribute in (FLOW_DECORATORS_ATTRIBUTE, _FLOW_MUTATORS):
            held = list(self._flow_cls.__dict__.get(attribute, ()))
            kept = [d for d in held if not _matches(d, deco_name, deco_args, deco_kwargs)]
            if len(kept) != len(held):
                if attribute == _FLOW_MUTATORS:
                    self._only_in_pre_mutate(f"Removing flow mutator '{deco_name}'")
                setattr(self._flow_cls, attribute, kept)
                removed = True
        return removed

    def add_decorator(self, deco_type: Any, deco_args: Any = None, deco_kwargs: Any = None) -> Any:
        """Add a flow mutator (its class, or its name as ``name:key=value,...``) or apply a
        flow decorator (its factory, or its name)."""
        kwargs = dict(deco_kwargs or {})
        if isinstance(deco_type, str):
            deco_type, spec_kwargs = split_spec(deco_type)
            kwargs = {**spec_kwargs, **kwargs}
            deco_type = FLOW_REGISTRY.get(deco_type, deco_type)
        if isinstance(deco_type, type) and issubclass(deco_type, FlowMutator):
            self._only_in_pre_mutate(f"Adding flow mutator {deco_type.__name__}")
            mutator = deco_type(*(deco_args or []), **kwargs)
            mutator(self._flow_cls)
            return mutator
        deco = _flow_decorator(deco_type)
        applied = deco(*(deco_args or []), **kwargs)
        return applied(self._flow_cls) if callable(applied) else applied

    def _only_in_pre_mutate(self, what: str) -> None:
        if not self._pre_mutate:
            raise DecoratorError(
                f"{what} is only allowed in pre_mutate, not in mutate.",
                hint="Move it to pre_mutate().",
            )


def _flow_decorator(deco_type: Any) -> Any:
    if callable(deco_type):
        return deco_type
    import ketch

    found = getattr(ketch, str(deco_type), None)
    if found is None:
        raise DecoratorError(f"'{deco_type}' is not a flow decorator of ketch.")
    return found


def _forget_parameters(flow_cls: type) -> None:
    from ._spec import _CONSTANTS, _PARAMETERS

    for cls in list(_PARAMETERS):
        if issubclass(cls, flow_cls) or issubclass(flow_cls, cls):
            _PARAMETERS.pop(cls, None)
            _CONSTANTS.pop(cls, None)


def flow_mutators(flow_cls: type) -> list[FlowMutator]:
    found: list[FlowMutator] = []
    for klass in reversed(flow_cls.__mro__):
        found.extend(klass.__dict__.get(_FLOW_MUTATORS, []))
    return found


def run_mutators(flow_cls: type, values: dict[str, Any], *, pre: bool) -> None:
    """Run the ``pre_mutate`` (or ``mutate``) stage of every mutator of the flow, in
    Metaflow's order (see the module docstring); a mutator added in ``pre_mutate`` runs too."""
    from ._config_apply import config_scope

    scope = config_scope(flow_cls, values)
    _run_each(lambda: flow_mutators(flow_cls), flow_cls, pre, scope, None)
    for name, _ in MutableFlow(flow_cls, pre_mutate=pre).steps:
        func = getattr(flow_cls, name)
        _run_each(lambda f=func: list(f.__dict__.get("mutators", [])), flow_cls, pre, scope, name)
    for name in dir(flow_cls):
        func = getattr(flow_cls, name, None)
        if getattr(func, "is_step", False):
            for wrapper in list(getattr(func, "wrappers", [])):
                _init(wrapper, scope)


def _run_each(
    current: Any, flow_cls: type, pre: bool, scope: dict[str, Any], step: str | None
) -> None:
    """Call pre_mutate (or mutate) of each mutator ``current()`` lists, until none is new."""
    done: set[int] = set()
    while True:
        pending = [m for m in current() if id(m) not in done]
        if not pending:
            return
        for mutator in pending:
            done.add(id(mutator))
            _init(mutator, scope)
            if step is None:
                target: Any = MutableFlow(flow_cls, pre_mutate=pre)
            else:
                target = MutableStep(flow_cls, step, pre_mutate=pre)
            mutator.pre_mutate(target) if pre else mutator.mutate(target)


def _init(decorator: Any, scope: dict[str, Any]) -> None:
    """Resolve config expressions in a user decorator's arguments and call its init, once."""
    from ._config_apply import resolve_delayed

    if not decorator._initialized:
        decorator._args = resolve_delayed(decorator._args, scope)
        decorator._kwargs = resolve_delayed(decorator._kwargs, scope)
        decorator.external_init()
