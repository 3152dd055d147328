"""merge_artifacts with conflicting values fails the join."""

from metaflow import FlowSpec, step


class MergeConflictFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.a, self.b)

    @step
    def a(self):
        self.clash = 1
        self.fine = "ok"
        self.next(self.join)

    @step
    def b(self):
        self.clash = 2
        self.fine = "ok"
        self.next(self.join)

    @step
    def join(self, inputs):
        print("joining")
        self.merge_artifacts(inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    MergeConflictFlow()
