"""@pypi on a step (disabled or not): Metaflow needs --environment=pypi (or conda) for it."""

from metaflow import FlowSpec, pypi, step


class PypiStepFlow(FlowSpec):
    @pypi(packages={"six": "1.16.0"})
    @step
    def start(self):
        self.next(self.end)

    @pypi(packages={"six": "1.16.0"}, disabled=True)
    @step
    def end(self):
        pass


if __name__ == "__main__":
    PypiStepFlow()
