import os
import signal

from metaflow import FlowSpec, catch, current, retry, step


class CatchKilledFlow(FlowSpec):
    """@catch of a task whose process died: a fallback attempt records the failure."""

    @step
    def start(self):
        self.next(self.killed, self.exited)

    @catch(var="_err", print_exception=False)
    @step
    def killed(self):
        self.before = "lost with the process"
        print("killed attempt", current.retry_count)
        os.kill(os.getpid(), signal.SIGKILL)
        self.next(self.join)

    @retry(times=1, minutes_between_retries=0)
    @catch(var="_err", print_exception=False)
    @step
    def exited(self):
        print("exited attempt", current.retry_count)
        os._exit(3)
        self.next(self.join)

    @step
    def join(self, inputs):
        # sorted: the order of a static join's inputs is not deterministic in Metaflow
        self.err_classes = sorted(i._err.type.rsplit(".", 1)[-1] for i in inputs)
        self.err_starts = sorted(i._err.exception.split(".")[0] for i in inputs)
        self.kept_before = sorted(hasattr(i, "before") for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print(self.err_classes, self.err_starts)


if __name__ == "__main__":
    CatchKilledFlow()
