"""A 10 x 10 nested foreach: start -> 10 outer -> 10 inner each -> two joins -> end."""

from metaflow import FlowSpec, step


class NestedFlow(FlowSpec):
    @step
    def start(self):
        self.outer = list(range(10))
        self.next(self.fan, foreach="outer")

    @step
    def fan(self):
        self.o = self.input
        self.inner = list(range(10))
        self.next(self.work, foreach="inner")

    @step
    def work(self):
        self.y = self.o * 10 + self.input
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        self.part = sum(i.y for i in inputs)
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        self.total = sum(i.part for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        assert self.total == sum(range(100))


if __name__ == "__main__":
    NestedFlow()
