"""Linear flow storing artifacts of many types."""

import numpy as np
from metaflow import FlowSpec, step


class LinearArtifactsFlow(FlowSpec):
    """A three-step linear flow."""

    @step
    def start(self):
        """Create one artifact of each common type."""
        self.an_int = 42
        self.big_int = 2**70
        self.neg = -7
        self.a_str = "héllo wörld"
        self.a_list = [1, "two", 3.0, None, [4, 5]]
        self.a_dict = {"b": 2, "a": [1, 2], "nested": {"k": (1, 2)}}
        self.int_keys = {1: "one", 2: "two"}
        self.a_tuple = (1, "x", (2, 3))
        self.a_set = {3, 1, 2}
        self.a_frozenset = frozenset(["z", "y"])
        self.nothing = None
        self.a_bytes = b"\x00\x01binary\xff"
        self.a_float = 3.25
        self.a_bool = True
        self.empty_list = []
        self.arr = np.arange(6, dtype=np.int64).reshape(2, 3)
        self.farr = np.array([0.5, 1.5])
        self.np_scalar = np.float64(2.5)
        self.next(self.middle)

    @step
    def middle(self):
        """Derive new artifacts from the inherited ones."""
        self.total = self.an_int + int(self.arr.sum())
        self.upper = self.a_str.upper()
        self.list_len = len(self.a_list)
        self.next(self.end)

    @step
    def end(self):
        """Check inherited values are intact."""
        self.check = (self.a_tuple[2][1], sorted(self.a_set), self.a_bytes[:2])


if __name__ == "__main__":
    LinearArtifactsFlow()
