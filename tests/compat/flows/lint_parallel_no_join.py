"""The step after a @parallel step is not a join (Metaflow's lint check 17)."""

from metaflow import FlowSpec, parallel, step


class LintParallelNoJoinFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train, num_parallel=2)

    @parallel
    @step
    def train(self):
        self.next(self.more)

    @step
    def more(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LintParallelNoJoinFlow()
