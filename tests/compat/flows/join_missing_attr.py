"""A join reads an attribute that was not merged: AttributeError."""

from metaflow import FlowSpec, step


class JoinMissingAttrFlow(FlowSpec):
    @step
    def start(self):
        self.x = 5
        self.next(self.a, self.b)

    @step
    def a(self):
        self.y = 1
        self.next(self.join)

    @step
    def b(self):
        self.y = 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.ys = sorted(i.y for i in inputs)
        print("x is", self.x)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    JoinMissingAttrFlow()
