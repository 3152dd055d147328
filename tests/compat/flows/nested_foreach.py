"""Nested foreach (3 x 2) with joins collecting values in order."""

from metaflow import FlowSpec, step


class NestedForeachFlow(FlowSpec):
    @step
    def start(self):
        self.outer = ["x", "y", "z"]
        self.next(self.outer_body, foreach="outer")

    @step
    def outer_body(self):
        self.o = self.input
        self.inner = [10, 20]
        self.next(self.inner_body, foreach="inner")

    @step
    def inner_body(self):
        self.label = f"{self.o}{self.input}"
        self.stack = [(f[0], f[1], f[2]) for f in self.foreach_stack()]
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        self.labels = [i.label for i in inputs]
        self.o = inputs[0].o
        self.inner_index = self.index
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        self.grid = [i.labels for i in inputs]
        self.flat = [label for i in inputs for label in i.labels]
        self.next(self.end)

    @step
    def end(self):
        self.count = len(self.flat)


if __name__ == "__main__":
    NestedForeachFlow()
