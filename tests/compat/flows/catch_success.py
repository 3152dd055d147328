from metaflow import FlowSpec, catch, current, retry, step


class CatchSuccessFlow(FlowSpec):
    """@catch's variable is None after a step that raised nothing, also after a retry."""

    @step
    def start(self):
        self.next(self.fine)

    @catch(var="err")
    @step
    def fine(self):
        self.had_err_before = hasattr(self, "err")
        self.next(self.flaky)

    @retry(times=1, minutes_between_retries=0)
    @catch(var="err2", print_exception=False)
    @step
    def flaky(self):
        self.tries = current.retry_count
        if current.retry_count == 0:
            raise RuntimeError("first attempt fails")
        self.next(self.caught)

    @catch(var="_err3", print_exception=False)
    @step
    def caught(self):
        raise KeyError("k")
        self.next(self.again)

    @catch(var="_err3")
    @step
    def again(self):
        self.inherited_was_set = self._err3 is not None
        self.next(self.end)

    @step
    def end(self):
        self.all_none = [self.err is None, self.err2 is None, self._err3 is None]
        print("all none", self.all_none)


if __name__ == "__main__":
    CatchSuccessFlow()
