"""A switch: only the branch chosen by self.mode runs, then both paths meet at end."""

from metaflow import FlowSpec, step


class SwitchBasicFlow(FlowSpec):
    @step
    def start(self):
        self.mode = "fast"
        self.next({"fast": self.quick, "slow": self.careful}, condition="mode")

    @step
    def quick(self):
        self.path = "quick"
        print("took the quick path")
        self.next(self.end)

    @step
    def careful(self):
        self.path = "careful"
        self.next(self.end)

    @step
    def end(self):
        print("path", self.path)


if __name__ == "__main__":
    SwitchBasicFlow()
