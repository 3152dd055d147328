"""User step decorators and mutators through real runs: order around the step, replacing and
skipping the step, swallowing and replacing its exception, mutators reading configs, --with."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

DECOS = """
import os
from ketch import (FlowMutator, StepMutator, USER_SKIP_STEP, UserStepDecorator, environment,
                   user_step_decorator)


@user_step_decorator
def outer(step_name, flow, inputs, attributes):
    print("outer-pre", step_name, attributes)
    yield
    print("outer-post", step_name)


@user_step_decorator
def inner(step_name, flow, inputs):
    print("inner-pre", step_name, "join" if inputs is not None else "plain")
    try:
        yield
    except KeyError as exc:
        print("inner swallowed", exc)
    flow.inner_saw = step_name


@user_step_decorator
def skip(step_name, flow, inputs):
    yield USER_SKIP_STEP


@user_step_decorator
def never_yields(step_name, flow, inputs):
    print("never-yields", step_name)
    return
    yield


@user_step_decorator
def replace(step_name, flow, inputs):
    def instead(self):
        self.replaced = step_name
        return True  # take the step's own self.next()
    yield instead


class Convert(UserStepDecorator):
    def init(self, **kwargs):
        self.to = kwargs.get("to", RuntimeError)

    def pre_step(self, step_name, flow, inputs=None):
        print("convert-pre", step_name)

    def post_step(self, step_name, flow, exception=None):
        if exception is None:
            return None
        return self.to(f"converted {type(exception).__name__}")


class AddEnv(StepMutator):
    def init(self, **kwargs):
        self.value = kwargs["value"]

    def mutate(self, mutable_step):
        mutable_step.add_decorator(environment, deco_kwargs={"vars": {"MUT": self.value}})


class Everywhere(FlowMutator):
    def pre_mutate(self, mutable_flow):
        from ketch import Parameter
        for name, value in mutable_flow.configs:
            mutable_flow.add_parameter("from_" + name, Parameter("from_" + name, default=value.v))

    def mutate(self, mutable_flow):
        for name, step in mutable_flow.steps:
            if name == "end":
                step.add_decorator(outer, deco_kwargs={"who": "mutator"})


def stamp(step_name, flow, inputs):
    pass
"""

FLOW = """
import os
from ketch import Config, FlowSpec, step
from decos import AddEnv, Convert, Everywhere, inner, never_yields, outer, replace, skip


@Everywhere
class UserDecoFlow(FlowSpec):
    cfg = Config("cfg", default_value={"v": "from-config"})

    @outer(x=1)
    @inner
    @step
    def start(self):
        print("body start")
        raise KeyError("lost")

    @skip
    @step
    def skipped(self):
        raise RuntimeError("must not run")
        self.next(self.replaced_step)

    @replace
    @step
    def replaced_step(self):
        raise RuntimeError("must not run")
        self.next(self.mutated)

    @AddEnv(value=cfg.v)
    @step
    def mutated(self):
        self.mut = os.environ.get("MUT")
        self.next(self.not_run)

    @never_yields
    @step
    def not_run(self):
        raise RuntimeError("must not run")
        self.next(self.end)

    @step
    def end(self):
        print("end", self.inner_saw, self.replaced, self.mut, self.from_cfg)
"""

FLOW_START_NEXT = FLOW.replace(
    '        raise KeyError("lost")\n',
    '        raise KeyError("lost")\n        self.next(self.skipped)\n',
)


def test_order_skip_replace_swallow_and_mutators(project) -> None:  # type: ignore[no-untyped-def]
    project.write("decos.py", DECOS)
    project.write("flow.py", FLOW_START_NEXT + "\nif __name__ == '__main__':\n    UserDecoFlow()\n")
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [line.split("] ", 1)[-1] for line in proc.stdout.splitlines()]
    start = [line for line in lines if line.startswith(("outer", "inner", "body"))][:5]
    assert start == [
        "outer-pre start {'x': 1}",
        "inner-pre start plain",
        "body start",
        "inner swallowed 'lost'",
        "outer-post start",
    ]
    assert "never-yields not_run" in lines
    assert "outer-pre end {'who': 'mutator'}" in lines  # added by the flow mutator
    assert "end start replaced_step from-config from-config" in lines
    assert "must not run" not in proc.stdout + proc.stderr


def test_post_step_replaces_the_exception_and_with_adds_by_dotted_name(project) -> None:  # type: ignore[no-untyped-def]
    project.write("decos.py", DECOS)
    project.write(
        "flow.py",
        """
        import os
        from ketch import FlowSpec, step
        from decos import Convert

        class ConvertFlow(FlowSpec):
            @Convert(to=ValueError)
            @step
            def start(self):
                if os.environ.get("FAIL"):
                    raise KeyError("x")
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            ConvertFlow()
        """,
    )
    failed = project.run("flow.py", "run", FAIL="1")
    assert failed.returncode == 1
    assert "ValueError: converted KeyError" in failed.stdout + failed.stderr
    both = project.run("flow.py", "run", "--with", "decos.outer:tag=w", "--with", "Convert")
    assert both.returncode == 0, both.stdout + both.stderr
    assert "outer-pre end {'tag': 'w'}" in both.stdout
    assert "convert-pre end" in both.stdout  # registered name (the flow imported decos)


def test_user_decorators_under_spawn(project) -> None:  # type: ignore[no-untyped-def]
    project.write("decos.py", DECOS)
    project.write("flow.py", FLOW_START_NEXT + "\nif __name__ == '__main__':\n    UserDecoFlow()\n")
    proc = project.run("flow.py", "run", "--executor", "spawn")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "end start replaced_step from-config from-config" in proc.stdout
