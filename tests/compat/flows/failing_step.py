"""A step raises: the run fails with exit code 1."""

import sys

from metaflow import FlowSpec, step


class FailingStepFlow(FlowSpec):
    @step
    def start(self):
        self.before = "ok"
        print("start ran")
        self.next(self.explode)

    @step
    def explode(self):
        print("about to fail")
        print("warning before failure", file=sys.stderr)
        self.partial = 42
        raise ValueError("boom: the answer is 42")
        self.next(self.end)

    @step
    def end(self):
        print("never printed")


if __name__ == "__main__":
    FailingStepFlow()
