"""Lint failure: a join that does not join all branches of its split."""

from metaflow import FlowSpec, step


class LintBadJoinFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b, self.c)

    @step
    def a(self):
        self.next(self.join)

    @step
    def b(self):
        self.next(self.join)

    @step
    def c(self):
        self.next(self.end)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LintBadJoinFlow()
