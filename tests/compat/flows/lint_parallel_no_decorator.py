"""num_parallel= into a step that is not decorated @parallel (Metaflow's lint check 16)."""

from metaflow import FlowSpec, step


class LintParallelNoDecoratorFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.train, num_parallel=2)

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
    LintParallelNoDecoratorFlow()
