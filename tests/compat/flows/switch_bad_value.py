"""A switch whose condition holds a value that no case names: the task fails."""

from metaflow import FlowSpec, step


class SwitchBadValueFlow(FlowSpec):
    @step
    def start(self):
        self.mode = "medium"
        self.next({"fast": self.quick, "slow": self.careful}, condition="mode")

    @step
    def quick(self):
        self.next(self.end)

    @step
    def careful(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    SwitchBadValueFlow()
