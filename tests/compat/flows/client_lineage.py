"""Client lineage, metadata, private artifacts and the metadata provider."""

from metaflow import FlowSpec, current, get_metadata, retry, step


class ClientLineageFlow(FlowSpec):
    @step
    def start(self):
        self._scratch = "private"
        self.next(self.a, self.b)

    @step
    def a(self):
        self.next(self.join_ab)

    @step
    def b(self):
        self.next(self.join_ab)

    @step
    def join_ab(self, inputs):
        self.next(self.fan)

    @step
    def fan(self):
        self.outer = ["p", "q"]
        self.next(self.outer_body, foreach="outer")

    @step
    def outer_body(self):
        self.o = self.input
        self.inner = [1, 2]
        self.next(self.leaf, foreach="inner")

    @retry(times=1)
    @step
    def leaf(self):
        if self.input == 2 and current.retry_count == 0:
            raise RuntimeError("retry me")
        self.label = f"{self.o}{self.input}"
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        self.labels = [i.label for i in inputs]
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        self.labels = [label for i in inputs for label in i.labels]
        self.next(self.end)

    @step
    def end(self):
        print(get_metadata())


if __name__ == "__main__":
    ClientLineageFlow()
