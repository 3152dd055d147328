"""Lint failure: a step that cannot be reached from start."""

from metaflow import FlowSpec, step


class LintOrphanFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def lonely(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LintOrphanFlow()
