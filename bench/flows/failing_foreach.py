"""start -> N tasks (foreach) -> join -> end; the join fails when BENCH_FAIL=1, so that the
run can be resumed (the N tasks are then reused, not run again)."""

import os

from metaflow import FlowSpec, Parameter, step


class FailingForeachFlow(FlowSpec):
    n = Parameter("n", default=1000, type=int, help="Width of the foreach.")

    @step
    def start(self):
        self.items = list(range(self.n))
        self.next(self.work, foreach="items")

    @step
    def work(self):
        self.y = self.input * 2
        self.next(self.join)

    @step
    def join(self, inputs):
        if os.environ.get("BENCH_FAIL") == "1":
            raise RuntimeError("failing on purpose so that the run can be resumed")
        self.total = sum(i.y for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        assert self.total == self.n * (self.n - 1)


if __name__ == "__main__":
    FailingForeachFlow()
