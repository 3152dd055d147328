"""ketch only: one task logs ``--n`` metric points (log_metric) and prints the time it spent."""

import time

from metaflow import FlowSpec, Parameter, log_metric, step


class Metrics10kFlow(FlowSpec):
    n = Parameter("n", default=10_000, type=int)

    @step
    def start(self):
        started = time.perf_counter()
        for i in range(self.n):
            log_metric("loss", 1.0 / (i + 1), step=i)
        print(f"LOG_MS={(time.perf_counter() - started) * 1000:.3f}")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    Metrics10kFlow()
