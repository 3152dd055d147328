"""Foreach with self.input, self.index and foreach_stack()."""

from metaflow import FlowSpec, step


class ForeachBasicFlow(FlowSpec):
    @step
    def start(self):
        self.letters = ["a", "b", "c", "d"]
        self.top_index = self.index
        self.next(self.body, foreach="letters")

    @step
    def body(self):
        self.item = self.input
        self.pos = self.index
        self.stack = [list(frame) for frame in self.foreach_stack()]
        self.result = self.input * (self.index + 1)
        print("body", self.index, self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.results = [inp.result for inp in inputs]
        self.positions = [inp.pos for inp in inputs]
        self.join_input = self.input
        self.join_index = self.index
        self.next(self.end)

    @step
    def end(self):
        self.end_stack = self.foreach_stack()


if __name__ == "__main__":
    ForeachBasicFlow()
