"""Artifacts are inherited, re-assigned and mutated along a linear chain."""

from metaflow import FlowSpec, step


class InheritReassignFlow(FlowSpec):
    @step
    def start(self):
        self.counter = 1
        self.keep = "unchanged"
        self.items = [1, 2]
        self.config = {"mode": "a"}
        self.next(self.second)

    @step
    def second(self):
        self.seen_counter = self.counter
        self.counter += 1
        self.items.append(3)  # in-place mutation of an inherited object
        self.config = {"mode": "b"}
        self.next(self.third)

    @step
    def third(self):
        self.counter = self.counter * 10
        self.new_here = "third"
        self.history = [self.seen_counter, self.counter, list(self.items)]
        self.next(self.end)

    @step
    def end(self):
        self.final = (self.counter, self.keep, self.config["mode"], self.new_here)


if __name__ == "__main__":
    InheritReassignFlow()
