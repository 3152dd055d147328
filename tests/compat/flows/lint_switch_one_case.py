"""Lint failure: a switch with a single case."""

from metaflow import FlowSpec, step


class LintSwitchOneCaseFlow(FlowSpec):
    @step
    def start(self):
        self.mode = "only"
        self.next({"only": self.a}, condition="mode")

    @step
    def a(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LintSwitchOneCaseFlow()
