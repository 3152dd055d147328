"""@conda on a step: Metaflow needs --environment=conda (or pypi) for it."""

from metaflow import FlowSpec, conda, step


class CondaStepFlow(FlowSpec):
    @conda(libraries={"six": "1.16.0"})
    @step
    def start(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CondaStepFlow()
