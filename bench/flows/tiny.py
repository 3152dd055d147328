"""The smallest flow: one artifact, two steps. Used to fill a store with runs for the Client."""

from metaflow import FlowSpec, step


class TinyFlow(FlowSpec):
    @step
    def start(self):
        self.x = 42
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    TinyFlow()
