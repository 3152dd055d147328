"""Class constants are persisted and read-only."""

from metaflow import FlowSpec, step


class ClassConstantsFlow(FlowSpec):
    LIMIT = 7
    GREETING = "hi"
    WEIGHTS = [0.25, 0.75]
    LOOKUP = {"a": 1}

    @step
    def start(self):
        self.scaled = [w * self.LIMIT for w in self.WEIGHTS]
        try:
            self.LIMIT = 8
        except AttributeError:
            self.assign_failed = True
        self.next(self.end)

    @step
    def end(self):
        self.msg = f"{self.GREETING} {self.LIMIT} {self.LOOKUP['a']}"


if __name__ == "__main__":
    ClassConstantsFlow()
