"""User step decorators (generator and class forms: before/after, skip, replace, swallow) and
mutators (a step mutator reading a config, a flow mutator adding a decorator)."""

import os

from metaflow import (
    USER_SKIP_STEP,
    Config,
    FlowMutator,
    FlowSpec,
    StepMutator,
    UserStepDecorator,
    environment,
    step,
    user_step_decorator,
)


@user_step_decorator
def around(step_name, flow, inputs, attributes):
    print("before", step_name, sorted(attributes.items()))
    yield
    flow.wrapped_by = "around:" + step_name
    print("after", step_name)


@user_step_decorator
def skip_it(step_name, flow, inputs):
    print("skipping", step_name)
    yield USER_SKIP_STEP


@user_step_decorator
def replace_it(step_name, flow, inputs):
    def instead(self):
        self.replaced = step_name
        return True

    yield instead


class swallow(UserStepDecorator):
    def init(self, *args, **kwargs):
        self.label = kwargs.get("label", "none")

    def pre_step(self, step_name, flow, inputs=None):
        print("pre", self.label, step_name)

    def post_step(self, step_name, flow, exception=None):
        print("post", self.label, type(exception).__name__)
        flow.swallowed = str(exception)
        return None


class env_from_config(StepMutator):
    def init(self, *args, **kwargs):
        self.value = kwargs["value"]

    def mutate(self, mutable_step):
        mutable_step.add_decorator(environment, deco_kwargs={"vars": {"FROM_CFG": self.value}})


class wrap_end(FlowMutator):
    def mutate(self, mutable_flow):
        for name, mutable_step in mutable_flow.steps:
            if name == "end":
                mutable_step.add_decorator(around, deco_kwargs={"by": "mutator"})


@wrap_end
class UserDecoratorsFlow(FlowSpec):
    cfg = Config("cfg", default_value={"env_value": "from-config"})

    @around(n=1)
    @step
    def start(self):
        print("start body")
        self.next(self.skipped)

    @skip_it
    @step
    def skipped(self):
        self.never = True
        self.next(self.replaced_step)

    @replace_it
    @step
    def replaced_step(self):
        self.never = True
        self.next(self.failing)

    @swallow(label="s1")
    @env_from_config(value=cfg.env_value)
    @step
    def failing(self):
        self.from_cfg = os.environ.get("FROM_CFG")
        if self.from_cfg:
            raise ValueError("swallowed here")
        self.next(self.end)

    @step
    def end(self):
        self.seen = [self.wrapped_by, self.replaced, self.swallowed, self.from_cfg]
        print("end", self.seen)


if __name__ == "__main__":
    UserDecoratorsFlow()
