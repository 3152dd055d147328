"""Prints to stdout and stderr in several steps."""

import sys

from metaflow import FlowSpec, step


class LogsFlow(FlowSpec):
    @step
    def start(self):
        print("start: to stdout")
        print("start: to stderr", file=sys.stderr)
        print("multi\nline\n  indented")
        self.items = [0, 1]
        self.next(self.fan, foreach="items")

    @step
    def fan(self):
        print(f"fan {self.index} out")
        print(f"fan {self.index} err", file=sys.stderr)
        self.next(self.join)

    @step
    def join(self, inputs):
        sys.stdout.write("no newline at end")
        sys.stdout.flush()
        self.next(self.end)

    @step
    def end(self):
        print("ünïcödé ✓")
        print("", file=sys.stderr)
        print("after blank", file=sys.stderr)


if __name__ == "__main__":
    LogsFlow()
