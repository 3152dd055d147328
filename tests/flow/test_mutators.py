"""User step decorators and mutators in process: how they attach to steps, MutableStep and
MutableFlow, and the errors for misuse."""

from __future__ import annotations

import pytest

from ketch import (
    FlowMutator,
    FlowSpec,
    MutableFlow,
    MutableStep,
    Parameter,
    StepMutator,
    UserStepDecorator,
    environment,
    retry,
    step,
    user_step_decorator,
)
from ketch.exceptions import DecoratorError
from ketch.flow._user_decorators import REGISTRY, user_with_class


@user_step_decorator
def plain_deco(step_name, flow, inputs):  # type: ignore[no-untyped-def]
    yield


class Marker(StepMutator):
    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.seen = (args, kwargs)


def _flow() -> type[FlowSpec]:
    class MutFlow(FlowSpec):
        count = Parameter("count", default=1)

        @Marker
        @retry(times=1)
        @plain_deco
        @step
        def start(self) -> None:
            self.next(self.end)

        @step
        def end(self) -> None:
            pass

    return MutFlow


def test_bare_and_called_forms_return_the_step_function() -> None:
    flow = _flow()
    start = flow.__dict__["start"]
    assert callable(start) and start.is_step  # not wrapped in another object
    assert [w.decorator_name for w in start.wrappers] == ["plain_deco"]
    assert [type(m).__name__ for m in start.mutators] == ["Marker"]
    assert REGISTRY["plain_deco"] is type(start.wrappers[0]) and user_with_class("Marker") is Marker
    assert user_with_class(f"{__name__}.plain_deco") is type(start.wrappers[0])


def test_mutable_step_reads_adds_and_removes_decorators() -> None:
    flow = _flow()
    mutable = MutableStep(flow, "start", pre_mutate=True)
    names = sorted(spec[0] for spec in mutable.decorator_specs)
    assert names == ["Marker", "plain_deco", "retry"]
    assert mutable.has_decorator("retry") and not mutable.has_decorator("timeout")
    added = mutable.add_decorator(environment, deco_kwargs={"vars": {"A": "1"}})
    assert added is not None and added.name == "environment"
    again = mutable.add_decorator("environment", deco_kwargs={"vars": {"A": "2"}})
    assert again is None  # IGNORE keeps the existing one
    with pytest.raises(DecoratorError, match="already has"):
        mutable.add_decorator("environment:vars={}", duplicates=MutableStep.ERROR)
    mutable.add_decorator(environment, deco_kwargs={"vars": {"B": "3"}}, duplicates=3)
    (env,) = [d for d in flow.__dict__["start"].decorators if d.name == "environment"]
    assert env.attributes["vars"] == {"B": "3"}  # OVERRIDE replaced it
    assert mutable.remove_decorator("retry", deco_kwargs={"times": 2}) is False
    assert mutable.remove_decorator("retry", deco_kwargs={"times": 1}) is True
    assert mutable.remove_decorator("plain_deco") is True
    with pytest.raises(DecoratorError, match="only allowed in pre_mutate"):
        MutableStep(flow, "start", pre_mutate=False).remove_decorator("Marker")
    with pytest.raises(DecoratorError, match="is not a step decorator"):
        mutable.add_decorator("no_such_decorator")


def test_mutable_flow_parameters_steps_and_the_pre_mutate_rule() -> None:
    flow = _flow()
    pre = MutableFlow(flow, pre_mutate=True)
    assert [name for name, _ in pre.parameters] == ["count"]
    assert sorted(name for name, _ in pre.steps) == ["end", "start"]
    assert pre.start.name == "start"
    pre.add_parameter("extra", Parameter("extra", default="x"))
    assert sorted(flow._parameters()) == ["count", "extra"]
    with pytest.raises(DecoratorError, match="already has an attribute 'extra'"):
        pre.add_parameter("extra", Parameter("extra"))
    assert pre.remove_parameter("count") is True and pre.remove_parameter("count") is False
    assert sorted(flow._parameters()) == ["extra"]
    with pytest.raises(DecoratorError, match="only allowed in pre_mutate"):
        MutableFlow(flow, pre_mutate=False).add_parameter("late", Parameter("late"))


def test_flow_mutators_attach_to_the_class_bare_or_with_arguments() -> None:
    class Tagger(FlowMutator):
        def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.kwargs = kwargs

    @Tagger(label="x")
    @Tagger
    class TaggedFlow(FlowSpec):
        @step
        def start(self) -> None:
            self.next(self.end)

        @step
        def end(self) -> None:
            pass

    from ketch.flow._mutators import flow_mutators

    assert [type(m).__name__ for m in flow_mutators(TaggedFlow)] == ["Tagger", "Tagger"]
    assert "__ketch_flow_mutators__" not in TaggedFlow._constants()  # never an artifact
    with pytest.raises(DecoratorError, match="decorates a FlowSpec class"):
        Tagger()(object)


def test_user_step_decorator_misuse_is_a_decorator_error() -> None:
    with pytest.raises(DecoratorError, match="generator function"):
        user_step_decorator(lambda step_name, flow, inputs: None)

    def two(step_name, flow):  # type: ignore[no-untyped-def]
        yield

    with pytest.raises(DecoratorError, match="takes 2 arguments"):
        user_step_decorator(two)

    class NoInit(UserStepDecorator):
        pass

    with pytest.raises(DecoratorError, match="does not define init"):
        NoInit(x=1).external_init()
    with pytest.raises(DecoratorError, match="keyword arguments only"):
        NoInit(3)
    with pytest.raises(DecoratorError, match="can only decorate a step"):
        NoInit()(lambda: None)


def test_flow_decorators_resolve_configs_and_are_listed_and_removed() -> None:
    """Flow decorators (such as @project) are kept under __ketch_flow_decorators__ with their
    recorded arguments: config expressions in them resolve, and mutators see them."""
    from ketch import Config, config_expr
    from ketch.flow._config_apply import apply_configs

    class FakeFlowDecorator:
        name = "fake"

        def __init__(self, **given: object) -> None:
            self.given = dict(given)
            self.attributes = dict(given)

    class Dropper(FlowMutator):
        pass

    @Dropper
    class DecoratedFlow(FlowSpec):
        cfg = Config("cfg", default_value={"project": "p1"})

        @step
        def start(self) -> None:
            self.next(self.end)

        @step
        def end(self) -> None:
            pass

    deco = FakeFlowDecorator(name=config_expr("cfg.project"))
    DecoratedFlow.__ketch_flow_decorators__ = [deco]  # type: ignore[attr-defined]
    apply_configs(DecoratedFlow, {"cfg": {"project": "p1"}})
    assert deco.attributes == {"name": "p1"} and deco.given == {"name": "p1"}
    mutable = MutableFlow(DecoratedFlow, pre_mutate=False)
    assert mutable.has_decorator("fake") and mutable.has_decorator("Dropper")
    with pytest.raises(DecoratorError, match="only allowed in pre_mutate"):
        mutable.remove_decorator("Dropper")
    assert mutable.remove_decorator("fake") is True and not mutable.has_decorator("fake")
    assert MutableFlow(DecoratedFlow, pre_mutate=True).remove_decorator("Dropper") is True
