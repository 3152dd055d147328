import time

from metaflow import FlowSpec, catch, step, timeout


class TimeoutCatchFlow(FlowSpec):
    """@timeout raises inside the step: what it set before is kept and @catch records it."""

    @step
    def start(self):
        self.next(self.slow)

    @catch(var="_err", print_exception=False)
    @timeout(seconds=1)
    @step
    def slow(self):
        self.before = "set before the timeout"
        print("sleeping")
        time.sleep(30)
        self.after = "never set"
        self.next(self.end)

    @step
    def end(self):
        self.err_class = self._err.type.rsplit(".", 1)[-1]
        self.err_first_line = self._err.exception.splitlines()[0]
        self.has_after = hasattr(self, "after")
        print(self.err_class, self.err_first_line)


if __name__ == "__main__":
    TimeoutCatchFlow()
