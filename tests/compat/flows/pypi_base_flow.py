"""@pypi_base on the flow: Metaflow needs --environment=pypi (or conda) for it."""

from metaflow import FlowSpec, pypi_base, step


@pypi_base(packages={"six": "1.16.0"}, python="3.11")
class PypiBaseFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    PypiBaseFlow()
