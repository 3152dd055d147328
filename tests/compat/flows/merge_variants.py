"""merge_artifacts with exclude= and include=."""

from metaflow import FlowSpec, step


class MergeVariantsFlow(FlowSpec):
    @step
    def start(self):
        self.shared = "s"
        self.next(self.a, self.b)

    @step
    def a(self):
        self.val, self.tag_a, self.extra = "a", 1, "ea"
        self.next(self.join1)

    @step
    def b(self):
        self.val, self.tag_b, self.extra = "b", 2, "eb"
        self.next(self.join1)

    @step
    def join1(self, inputs):
        # val and extra conflict: exclude them
        self.merge_artifacts(inputs, exclude=["val", "extra"])
        self.next(self.mid)

    @step
    def mid(self):
        self.next(self.c, self.d)

    @step
    def c(self):
        self.val, self.picked, self.skipped = "c", "p", "sc"
        self.next(self.join2)

    @step
    def d(self):
        self.val, self.picked, self.skipped = "d", "p", "sd"
        self.next(self.join2)

    @step
    def join2(self, inputs):
        self.val = "set-before-merge"
        self.merge_artifacts(inputs, include=["picked", "shared", "val"])
        self.next(self.end)

    @step
    def end(self):
        self.has_skipped = hasattr(self, "skipped")
        self.has_extra = hasattr(self, "extra")


if __name__ == "__main__":
    MergeVariantsFlow()
