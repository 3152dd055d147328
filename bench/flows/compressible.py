"""One step stores a 1 GiB float64 array of zeros (highly compressible); the next one reads it."""

from metaflow import FlowSpec, Parameter, step


class CompressibleFlow(FlowSpec):
    mib = Parameter("mib", default=1024, type=int, help="Array size in MiB.")

    @step
    def start(self):
        import numpy as np

        self.arr = np.zeros(self.mib * 2**20 // 8)
        self.next(self.total)

    @step
    def total(self):
        self.s = float(self.arr.sum())
        self.next(self.end)

    @step
    def end(self):
        assert self.s == 0.0


if __name__ == "__main__":
    CompressibleFlow()
