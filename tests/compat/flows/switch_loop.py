"""A recursive switch: step loop runs again until count reaches 3, then leaves the loop."""

from metaflow import FlowSpec, step


class SwitchLoopFlow(FlowSpec):
    @step
    def start(self):
        self.count = 0
        self.next(self.loop)

    @step
    def loop(self):
        self.count += 1
        self.seen = self._iteration_stack
        self.state = "again" if self.count < 3 else "done"
        self.next({"again": self.loop, "done": self.after}, condition="state")

    @step
    def after(self):
        self.stack_after = self._iteration_stack
        self.next(self.end)

    @step
    def end(self):
        print("count", self.count)


if __name__ == "__main__":
    SwitchLoopFlow()
