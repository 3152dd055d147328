"""A trivial flow run with --tag options."""

from metaflow import FlowSpec, step


class TagsFlow(FlowSpec):
    @step
    def start(self):
        self.value = "tagged"
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    TagsFlow()
