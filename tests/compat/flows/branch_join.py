"""Static branch and join: inputs.<step>, inputs[i], iteration, merge_artifacts."""

from metaflow import FlowSpec, step


class BranchJoinFlow(FlowSpec):
    """Split into a and b, then join them."""

    @step
    def start(self):
        """Set shared values."""
        self.x = 0
        self.common = "same-everywhere"
        self.next(self.a, self.b)

    @step
    def a(self):
        """Branch a."""
        self.x = 10
        self.only_a = "from a"
        self.next(self.join)

    @step
    def b(self):
        """Branch b."""
        self.x = 20
        self.only_b = ["from", "b"]
        self.next(self.join)

    @step
    def join(self, inputs):
        """Join with explicit reads, then merge the rest."""
        self.from_a = inputs.a.x
        self.from_b = inputs.b.x
        # The order of a static join's inputs is not defined (Metaflow orders them by
        # completion), so only order-independent facts about inputs[0] are recorded.
        self.first_x_valid = inputs[0].x in (10, 20)
        self.index_matches_iter = inputs[0].x == next(iter(inputs)).x
        self.n_inputs = len(list(inputs))
        self.all_x = sorted(inp.x for inp in inputs)
        self.x = max(self.all_x)
        self.merge_artifacts(inputs)
        self.next(self.end)

    @step
    def end(self):
        """Report."""
        self.summary = [self.x, self.common, self.only_a, self.only_b, self.first_x_valid]


if __name__ == "__main__":
    BranchJoinFlow()
