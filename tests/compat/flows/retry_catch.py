from metaflow import FlowSpec, catch, current, retry, step


class RetryCatchFlow(FlowSpec):
    """@retry until success, @catch of an exception, and what the next step sees."""

    @step
    def start(self):
        self.items = [1, 2, 3]
        self.next(self.flaky, foreach="items")

    @retry(times=2)
    @step
    def flaky(self):
        if current.retry_count < self.input - 1:
            raise RuntimeError("not yet")
        self.tries = current.retry_count
        self.next(self.join)

    @step
    def join(self, inputs):
        self.tries = [i.tries for i in inputs]
        self.next(self.risky)

    @catch(var="_err", print_exception=False)
    @step
    def risky(self):
        self.before = "set before the failure"
        raise ValueError("boom in risky")
        self.next(self.end)

    @step
    def end(self):
        self.caught = self._err is not None and "boom in risky" in str(self._err)
        self.kept = self.before if hasattr(self, "before") else None
        print("caught", self.caught, "tries", self.tries)


if __name__ == "__main__":
    RetryCatchFlow()
