"""A static branch inside a foreach body."""

from metaflow import FlowSpec, step


class BranchInForeachFlow(FlowSpec):
    @step
    def start(self):
        self.nums = [1, 2, 3]
        self.next(self.split, foreach="nums")

    @step
    def split(self):
        self.n = self.input
        self.next(self.double, self.square)

    @step
    def double(self):
        self.r = self.n * 2
        self.where = self.index
        self.next(self.combine)

    @step
    def square(self):
        self.r = self.n**2
        self.next(self.combine)

    @step
    def combine(self, inputs):
        self.pair = [inputs.double.r, inputs.square.r]
        self.n = inputs.double.n
        self.idx = self.index
        self.next(self.collect)

    @step
    def collect(self, inputs):
        self.pairs = [i.pair for i in inputs]
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    BranchInForeachFlow()
