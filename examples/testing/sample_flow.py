"""Fit a line to noisy points; --sample-size keeps a test run small and fast."""

import random

from ketch import FlowSpec, Parameter, step


class SampleFlow(FlowSpec):
    sample_size = Parameter("sample-size", default=10_000, help="How many points to draw.")
    seed = Parameter("seed", default=0, help="Random seed.")

    @step
    def start(self):
        rng = random.Random(self.seed)
        xs = [rng.uniform(0, 10) for _ in range(self.sample_size)]
        self.points = [(x, 2 * x + 1 + rng.gauss(0, 0.1)) for x in xs]
        self.next(self.fit)

    @step
    def fit(self):
        n = len(self.points)
        mean_x = sum(x for x, _ in self.points) / n
        mean_y = sum(y for _, y in self.points) / n
        cov = sum((x - mean_x) * (y - mean_y) for x, y in self.points)
        var = sum((x - mean_x) ** 2 for x, _ in self.points)
        self.slope = cov / var
        self.intercept = mean_y - self.slope * mean_x
        self.next(self.end)

    @step
    def end(self):
        print(f"y = {self.slope:.2f} x + {self.intercept:.2f}")


if __name__ == "__main__":
    SampleFlow()
