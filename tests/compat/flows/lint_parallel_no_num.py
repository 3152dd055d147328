"""A @parallel step reached without num_parallel= (Metaflow's lint check 18)."""

from metaflow import FlowSpec, parallel, step


class LintParallelNoNumFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train)

    @parallel
    @step
    def train(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    LintParallelNoNumFlow()
