"""Metaflow's private accessors that flows read: _current_step, _foreach_stack, _graph."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_private_accessors_in_a_running_flow(project) -> None:  # type: ignore[no-untyped-def]
    project.write(
        "flow.py",
        """
        from ketch import FlowSpec, step

        class PrivFlow(FlowSpec):
            @step
            def start(self):
                self.seen = [self._current_step]
                self.items = ["a", "b"]
                self.next(self.body, foreach="items")

            @step
            def body(self):
                frame = self._foreach_stack[0]
                self.frame = (frame.step, frame.var, frame.num_splits, frame.index, frame.value)
                self.next(self.join)

            @step
            def join(self, inputs):
                self.frames = sorted(i.frame for i in inputs)
                graph = self._graph
                self.types = [graph[s].type for s in ("start", "body", "join", "end")]
                self.join_in = list(graph["join"].in_funcs)
                self.next(self.end)

            @step
            def end(self):
                print("END", self._current_step, self._foreach_stack, self.frames, self.types,
                      self.join_in)

        if __name__ == "__main__":
            PrivFlow()
        """,
    )
    proc = project.run("flow.py", "run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    end = next(line for line in proc.stdout.splitlines() if "END" in line)
    assert end.endswith(
        "END end [] [('start', 'items', 2, 0, 'a'), ('start', 'items', 2, 1, 'b')] "
        "['foreach', 'linear', 'join', 'end'] ['body']"
    )
