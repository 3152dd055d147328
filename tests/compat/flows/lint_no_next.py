"""Lint failure: a non-end step does not end with self.next."""

from metaflow import FlowSpec, step


class LintNoNextFlow(FlowSpec):
    @step
    def start(self):
        self.x = 1
        self.next(self.middle)

    @step
    def middle(self):
        self.y = 2

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LintNoNextFlow()
