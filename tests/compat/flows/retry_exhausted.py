from metaflow import FlowSpec, current, retry, step


class RetryExhaustedFlow(FlowSpec):
    """@retry that runs out: the run fails after 1 + times attempts."""

    @step
    def start(self):
        self.next(self.always)

    @retry(times=1)
    @step
    def always(self):
        print("attempt", current.retry_count)
        raise RuntimeError("always fails")
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    RetryExhaustedFlow()
