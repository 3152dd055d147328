"""User-defined step decorators: ``UserStepDecorator`` and ``@user_step_decorator``.

A user step decorator runs in the task process around the step: ``pre_step`` before it (it may
return a callable to run instead of the step, or set ``skip_step``), ``post_step`` after it
(it may swallow or replace the step's exception). With ``@a @b @step``, ``a`` is the outer
one: ``a.pre_step``, ``b.pre_step``, the step, ``b.post_step``, ``a.post_step``.

Applying one only records it on the step function (its ``wrappers`` list) and returns the
function itself, so the flow class is unchanged otherwise.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Generator
from typing import Any, ClassVar

from ..exceptions import DecoratorError

# Yielded (or set as skip_step) to skip the step and go on as the step would have.
USER_SKIP_STEP: dict[str, Any] = {}

# Name -> class of every user step decorator and step mutator defined (for --with NAME).
REGISTRY: dict[str, type[UserStepDecoratorBase]] = {}


def _is_step(value: Any) -> bool:
    return callable(value) and bool(getattr(value, "is_step", False))


class UserStepDecoratorBase:
    """What user step decorators and step mutators share: how they attach to a step."""

    _field: ClassVar[str] = "wrappers"  # the list on the step function that holds them
    _allow_args: ClassVar[bool] = False
    decorator_name: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("decorator_name") or cls.__name__
        cls.decorator_name = name
        REGISTRY[name] = cls
        REGISTRY[f"{cls.__module__}.{name}"] = cls

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and _is_step(args[0]):
            # Bare @MyDecorator on a step: attach an instance and give the function back.
            return cls()(args[0])
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args and not self._allow_args:
            raise DecoratorError(
                f"@{self.decorator_name} takes keyword arguments only, got {args!r}.",
                hint=f"Write @{self.decorator_name}(name=value, ...).",
            )
        self._args = args
        self._kwargs = kwargs
        self._initialized = False

    def external_init(self) -> None:
        """Call ``init`` with the arguments, once (after config values are known)."""
        if self._initialized:
            return
        self._initialized = True
        self.init(*self._args, **self._kwargs)

    def init(self, *args: Any, **kwargs: Any) -> None:
        """Override to take arguments: ``@MyDecorator(x=1)`` calls ``init(x=1)``."""
        if args or kwargs:
            raise DecoratorError(
                f"@{self.decorator_name} was given arguments but does not define init().",
                hint="Define init(self, **kwargs) in the decorator class to take them.",
            )

    def __call__(self, step: Any) -> Any:
        if not _is_step(step):
            raise DecoratorError(
                f"@{self.decorator_name} can only decorate a step.",
                hint="Place it above @step.",
            )
        fields = [self._field]
        if isinstance(self, UserStepDecorator) and self._field != "wrappers":
            fields.append("wrappers")  # both a step mutator and a user step decorator
        for field in fields:
            held = step.__dict__.setdefault(field, [])
            held.append(self)
        return step

    @property
    def attributes(self) -> dict[str, Any]:
        """The keyword arguments (config expressions in them are resolved in place)."""
        return self._kwargs

    def spec(self) -> str:
        args = ",".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return self.decorator_name + (f":{args}" if args else "")

    def __repr__(self) -> str:
        return f"@{self.spec()}"


class UserStepDecorator(UserStepDecoratorBase):
    """Base class of a user step decorator: override ``pre_step`` and/or ``post_step``.

    Examples
    --------
    >>> class timed(UserStepDecorator):                  # doctest: +SKIP
    ...     def pre_step(self, step_name, flow, inputs=None):
    ...         self.t0 = time.time()
    ...     def post_step(self, step_name, flow, exception=None):
    ...         flow.seconds = time.time() - self.t0
    ...         return exception
    """

    def pre_step(self, step_name: str, flow: Any, inputs: Any = None) -> Callable[..., Any] | None:
        """Before the step; return a callable to run it instead of the step, or None."""
        return None

    def post_step(self, step_name: str, flow: Any, exception: BaseException | None = None) -> Any:
        """After the step (artifacts are not stored yet). Return the exception to raise (None:
        the step succeeded), or ``(exception, next_kwargs)``."""
        return (exception, None) if exception is not None else (None, None)

    @property
    def skip_step(self) -> bool | dict[str, Any]:
        """True (or a dict of ``self.next`` arguments) to skip the step."""
        return self.__dict__.get("_skip_step", False)  # type: ignore[no-any-return]

    @skip_step.setter
    def skip_step(self, value: bool | dict[str, Any]) -> None:
        self.__dict__["_skip_step"] = value


class _GeneratorDecorator(UserStepDecorator):
    """A user step decorator made by ``@user_step_decorator`` from a generator function."""

    generator: ClassVar[Callable[..., Generator[Any, Any, Any]]]
    takes_attributes: ClassVar[bool]

    def init(self, *args: Any, **kwargs: Any) -> None:
        if kwargs and not self.takes_attributes:
            raise DecoratorError(
                f"@{self.decorator_name} was given arguments but its function takes 3 "
                "(step_name, flow, inputs).",
                hint="Add a fourth argument, attributes, to receive them.",
            )

    def pre_step(self, step_name: str, flow: Any, inputs: Any = None) -> Callable[..., Any] | None:
        args = (step_name, flow, inputs) + ((dict(self._kwargs),) if self.takes_attributes else ())
        running = type(self).generator(*args)
        self._running: Generator[Any, Any, Any] | None = running
        try:
            yielded = next(running)
        except StopIteration:
            self.skip_step = True  # never yielded: the step does not run
            self._running = None
            return None
        if isinstance(yielded, dict):
            self.skip_step = yielded if yielded else True
            return None
        return yielded if callable(yielded) else None

    def post_step(self, step_name: str, flow: Any, exception: BaseException | None = None) -> Any:
        running = self.__dict__.get("_running")
        if running is None:
            return (exception, None) if exception is not None else (None, None)
        try:
            if exception is not None:
                running.throw(exception)
            else:
                running.send(None)
        except StopIteration:
            return None, None
        except Exception as exc:
            return exc, None
        return DecoratorError(f"@{self.decorator_name} yielded more than once.", hint="Yield once.")


def user_step_decorator(func: Any = None, **options: Any) -> Any:
    """Make a step decorator from a generator ``func(step_name, flow, inputs[, attributes])``.

    Code before its ``yield`` runs before the step and code after it runs after; yielding a
    callable runs it instead of the step; yielding a dict (``USER_SKIP_STEP``) or not yielding
    skips the step. ``@my_deco(x=1)`` passes ``{"x": 1}`` as ``attributes``.

    Examples
    --------
    >>> @user_step_decorator                                 # doctest: +SKIP
    ... def timing(step_name, flow, inputs, attributes):
    ...     start = time.time()
    ...     yield
    ...     flow.seconds = time.time() - start
    """
    if func is None:
        return lambda f: user_step_decorator(f, **options)
    if not isinstance(func, types.FunctionType) or not inspect.isgeneratorfunction(func):
        raise DecoratorError(
            f"@user_step_decorator decorates a generator function; got {func!r}.",
            hint="Write a function with one yield: code before it runs before the step.",
        )
    count = len(inspect.signature(func).parameters)
    if count not in (3, 4):
        raise DecoratorError(
            f"@user_step_decorator: {func.__name__} takes {count} arguments.",
            hint="Take (step_name, flow, inputs) or (step_name, flow, inputs, attributes).",
        )
    namespace = {
        "decorator_name": func.__name__,
        "generator": staticmethod(func),
        "takes_attributes": count == 4,
        "__module__": func.__module__,
        "__doc__": func.__doc__,
    }
    return type(func.__name__, (_GeneratorDecorator,), namespace)


def wrappers_of(step_func: Any) -> list[UserStepDecorator]:
    """The user step decorators on a step function, innermost first."""
    return list(getattr(step_func, "wrappers", ()))


def user_with_class(name: str) -> type[UserStepDecoratorBase] | None:
    """The user step decorator or step mutator that a ``--with`` name means: a registered
    name, or a dotted path ``module.name`` (imported); None when it is neither."""
    found = REGISTRY.get(name)
    if found is None and "." in name:
        import importlib

        module, _, attr = name.rpartition(".")
        try:
            found = getattr(importlib.import_module(module), attr, None)
        except ImportError as exc:
            raise DecoratorError(
                f"--with {name}: module '{module}' cannot be imported ({exc}).",
                hint="Name a module on the Python path, e.g. --with mypackage.decos.timing.",
            ) from None
        if not (isinstance(found, type) and issubclass(found, UserStepDecoratorBase)):
            raise DecoratorError(
                f"--with {name} is not a user step decorator or step mutator.",
                hint="Name a UserStepDecorator or StepMutator class, or a function made with "
                "@user_step_decorator.",
            )
    return found


def attach_with(flow_cls: type, specs: list[str]) -> list[str]:
    """Attach the user step decorators among ``--with`` specs to every step; returns the
    other specs (ketch's own decorators)."""
    from ._decorators import DECORATORS
    from ._mutators import split_spec

    rest, user = [], []
    for spec in specs:
        name, kwargs = split_spec(spec)
        cls = None if name in DECORATORS else user_with_class(name)
        if cls is None:
            rest.append(spec)
            continue
        user.append(spec)
        for attr in dir(flow_cls):
            func = getattr(flow_cls, attr, None)
            held = [*getattr(func, "wrappers", []), *getattr(func, "mutators", [])]
            if _is_step(func) and not any(type(d) is cls for d in held):
                _attach_one(flow_cls, cls(**kwargs), func)
    if user:  # tasks that load the flow afresh attach them too (see ensure_configs)
        setattr(flow_cls, WITH_ATTRIBUTE, (*getattr(flow_cls, WITH_ATTRIBUTE, ()), *user))
    return rest


# The class attribute naming the user decorators given by --with (a dunder: not an artifact),
# and the task environment variable that carries them to tasks that load the flow afresh.
WITH_ATTRIBUTE = "__ketch_with__"
WITH_ENV = "KETCH_WITH_USER_DECORATORS"


def with_env(flow_cls: type) -> dict[str, str]:
    """The task environment that carries the flow's user ``--with`` decorators."""
    import json

    specs = flow_cls.__dict__.get(WITH_ATTRIBUTE)
    return {WITH_ENV: json.dumps(list(specs))} if specs else {}


def with_specs_of(env: dict[str, str]) -> list[str]:
    import json

    return list(json.loads(env[WITH_ENV])) if WITH_ENV in env else []


def _attach_one(flow_cls: type, instance: UserStepDecoratorBase, func: Any) -> None:
    instance(func)
    instance.external_init()
    pre_mutate = getattr(instance, "pre_mutate", None)
    if pre_mutate is not None:  # a step mutator given by --with changes the step now
        from ._mutators import MutableStep

        for pre in (True, False):
            step = MutableStep(flow_cls, func.__name__, pre_mutate=pre)
            pre_mutate(step) if pre else instance.mutate(step)  # type: ignore[attr-defined]
