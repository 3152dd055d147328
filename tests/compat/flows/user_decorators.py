"""User step decorators: code around a step, skipping a step, swallowing an exception."""

from metaflow import USER_SKIP_STEP, FlowSpec, UserStepDecorator, step, user_step_decorator


@user_step_decorator
def around(step_name, flow, inputs, attributes):
    print("before", step_name, sorted(attributes.items()))
    yield
    flow.wrapped_by = "around:" + step_name
    print("after", step_name)


@user_step_decorator
def skip_it(step_name, flow, inputs):
    yield USER_SKIP_STEP


class swallow(UserStepDecorator):
    def init(self, *args, **kwargs):
        self.label = kwargs.get("label", "none")

    def pre_step(self, step_name, flow, inputs=None):
        print("pre", self.label, step_name)

    def post_step(self, step_name, flow, exception=None):
        print("post", self.label, type(exception).__name__)
        flow.swallowed = str(exception)


class UserDecoratorsFlow(FlowSpec):
    @around(n=1)
    @step
    def start(self):
        self.next(self.skipped)

    @skip_it
    @step
    def skipped(self):
        self.next(self.failing)

    @swallow(label="s1")
    @step
    def failing(self):
        if not self.wrapped_by.endswith("end"):
            raise ValueError("swallowed here")
        self.next(self.end)

    @step
    def end(self):
        print("end", [self.wrapped_by, self.swallowed])


if __name__ == "__main__":
    UserDecoratorsFlow()
