"""One step makes a 1 GiB float64 array (random, so incompressible); the next one sums it."""

from metaflow import FlowSpec, Parameter, step


class BigArrayFlow(FlowSpec):
    mib = Parameter("mib", default=1024, type=int, help="Array size in MiB.")

    @step
    def start(self):
        import numpy as np

        self.arr = np.random.default_rng(0).random(self.mib * 2**20 // 8)
        self.next(self.total)

    @step
    def total(self):
        self.s = float(self.arr.sum())
        self.next(self.end)

    @step
    def end(self):
        print("sum", self.s)


if __name__ == "__main__":
    BigArrayFlow()
