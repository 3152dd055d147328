"""Behaviours that Metaflow's own unit tests pin down for configs and mutators (test/unit/configs
and test/unit/mutators), checked here through one real run of a flow written for ketch."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

FLOW = """
import os
from ketch import (Config, FlowMutator, FlowSpec, StepMutator, UserStepDecorator, environment,
                   step)


def csv_list(text):
    return [part.strip() for part in text.split(",")]


def as_tuple(text):
    return tuple(text.split(":"))


class both(UserStepDecorator, StepMutator):
    def init(self, marker="none"):
        self.marker = marker

    def pre_mutate(self, mutable_step):
        mutable_step.add_decorator(environment, deco_kwargs={"vars": {"PRE": "pre"}})

    def mutate(self, mutable_step):
        for name, _, _, attributes in mutable_step.decorator_specs:
            if name == "environment":
                attributes["vars"]["MUT"] = self.marker
                mutable_step.add_decorator(
                    environment, deco_kwargs=attributes, duplicates=mutable_step.OVERRIDE
                )
                return

    def pre_step(self, step_name, flow, inputs=None):
        flow.pre_step_ran = True

    def post_step(self, step_name, flow, exception=None):
        flow.post_step_ran = True
        return None, False  # (no exception, keep the step's own self.next)


class by_name(StepMutator):
    def init(self, value="default"):
        self.value = value

    def mutate(self, mutable_step):
        mutable_step.add_decorator(environment, deco_kwargs={"vars": {"BY_NAME": self.value}})


class Inner(FlowMutator):
    def init(self, tag="inner"):
        self.tag = tag

    def pre_mutate(self, mutable_flow):
        mutable_flow.end.add_decorator("by_name:value=" + self.tag)


class Outer(FlowMutator):
    def pre_mutate(self, mutable_flow):
        mutable_flow.add_decorator(Inner)
        mutable_flow.add_decorator("Inner:tag=from_string")


@Outer
class BehaviourFlow(FlowSpec):
    with_dash = Config("with-dash", default_value={"value": 99})
    mixed_name = Config("mixed_name-2", default_value={"value": 123})
    raw = Config("raw", default_value='{"raw": "string"}', plain=True)
    items = Config("items", default_value="apple, banana", plain=True, parser=csv_list)
    pair = Config("pair", default_value="a:1", plain=True, parser=as_tuple)
    unset_plain = Config("unset-plain", plain=True)
    unset = Config("unset")

    @both(marker="hello")
    @step
    def start(self):
        self.env = (os.environ.get("PRE"), os.environ.get("MUT"))
        self.seen = [self.with_dash.value, self.mixed_name["value"], self.raw, self.items,
                     self.pair, self.unset_plain, self.unset]
        self.next(self.end)

    @step
    def end(self):
        self.by_name = os.environ.get("BY_NAME")

if __name__ == "__main__":
    BehaviourFlow()
"""


def test_config_names_plain_values_and_mutator_behaviours(project) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    read = project.client(
        """
        from ketch import Flow
        run = Flow("BehaviourFlow").latest_run
        start, end = run["start"].task.data, run["end"].task.data
        print(start.env, start.pre_step_ran, start.post_step_ran)
        print(start.seen)
        print(end.by_name)
        print(run.data.with_dash, run.data.pair, run.data.unset)
        """
    )
    assert read.stdout.splitlines() == [
        "('pre', 'hello') True True",
        "[99, 123, '{\"raw\": \"string\"}', ['apple', 'banana'], ('a', '1'), None, None]",
        # Both Inner mutators (added by class and by name) ran; the second by_name's
        # @environment was ignored (add_decorator's default, IGNORE, keeps the first).
        "inner",
        "{'value': 99} ('a', '1') None",
    ], read.stderr
