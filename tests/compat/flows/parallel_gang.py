"""A gang of 3 tasks (@parallel, num_parallel=3) and a join that reads each task's artifact."""

from metaflow import FlowSpec, current, parallel, resources, step


class ParallelGangFlow(FlowSpec):
    @step
    def start(self):
        self.base = 10
        self.next(self.train, num_parallel=3)

    # Half a CPU per task, so that the gang fits on the 2-node, 1-CPU-per-node cluster of the
    # kit's Ray variant (a gang cannot take turns); a local run ignores it.
    @resources(cpu=0.5)
    @parallel
    @step
    def train(self):
        p = current.parallel
        self.node_index = p.node_index
        self.num_nodes = p.num_nodes
        self.main_ip = p.main_ip
        self.is_control = p.control_task_id == current.task_id
        self.is_parallel = current.is_parallel
        self.my_input = self.input
        self.my_index = self.index
        self.score = self.base + p.node_index * p.node_index
        self.next(self.join)

    @step
    def join(self, inputs):
        self.scores = [inp.score for inp in inputs]
        self.nodes = sorted(inp.node_index for inp in inputs)
        self.controls = sum(1 for inp in inputs if inp.is_control)
        self.base = inputs[0].base
        print("scores", self.scores)
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(self.scores)
        print("total", self.total)


if __name__ == "__main__":
    ParallelGangFlow()
