"""A failing step after a foreach: Task.exception's type, message and stacktrace."""

from metaflow import FlowSpec, step


class ClientExceptionFlow(FlowSpec):
    @step
    def start(self):
        self.rows = [0, 1]
        self.next(self.body, foreach="rows")

    @step
    def body(self):
        self.row = self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.rows = [i.row for i in inputs]
        self.next(self.explode)

    @step
    def explode(self):
        raise KeyError("Something has gone wrong")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ClientExceptionFlow()
