"""Mutators: a step mutator reading a config; a flow mutator adding a user step decorator."""

import os

from metaflow import (
    Config,
    FlowMutator,
    FlowSpec,
    StepMutator,
    environment,
    step,
    user_step_decorator,
)


@user_step_decorator
def replace_it(step_name, flow, inputs):
    def instead(self):
        self.replaced = step_name
        return True

    yield instead


class env_from_config(StepMutator):
    def init(self, *args, **kwargs):
        self.value = kwargs["value"]

    def mutate(self, mutable_step):
        mutable_step.add_decorator(environment, deco_kwargs={"vars": {"FROM_CFG": self.value}})


class replace_middle(FlowMutator):
    def mutate(self, mutable_flow):
        mutable_flow.middle.add_decorator(replace_it)


@replace_middle
class MutatorsFlow(FlowSpec):
    cfg = Config("cfg", default_value={"env_value": "from-config"})

    @env_from_config(value=cfg.env_value)
    @step
    def start(self):
        self.from_cfg = os.environ.get("FROM_CFG")
        self.next(self.middle)

    @step
    def middle(self):
        self.next(self.end)

    @step
    def end(self):
        print("end", self.from_cfg, self.replaced)


if __name__ == "__main__":
    MutatorsFlow()
