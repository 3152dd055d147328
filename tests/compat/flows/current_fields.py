"""Fields of the current singleton that do not depend on ids or times."""

from metaflow import FlowSpec, Parameter, current, step


def snapshot():
    parts = current.pathspec.split("/")
    return {
        "flow_name": current.flow_name,
        "step_name": current.step_name,
        "is_running_flow": current.is_running_flow,
        "retry_count": current.retry_count,
        "parameter_names": sorted(current.parameter_names),
        "pathspec_flow": parts[0],
        "pathspec_step": parts[2],
        "pathspec_parts": len(parts),
        "run_id_matches": parts[1] == str(current.run_id),
        "task_id_matches": parts[3] == str(current.task_id),
        "username": current.username,
        "origin_run_id": current.origin_run_id,
        "namespace": current.namespace,
    }


class CurrentFieldsFlow(FlowSpec):
    p = Parameter("p", default=1)
    q = Parameter("q", default="x")

    @step
    def start(self):
        self.cur = snapshot()
        self.next(self.end)

    @step
    def end(self):
        self.cur_end = snapshot()


if __name__ == "__main__":
    CurrentFieldsFlow()
