"""Lint failure: a switch branch goes straight into a join."""

from metaflow import FlowSpec, step


class LintSwitchJoinFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.mode = "x"
        self.next({"x": self.x, "y": self.join}, condition="mode")

    @step
    def x(self):
        self.next(self.join)

    @step
    def b(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LintSwitchJoinFlow()
