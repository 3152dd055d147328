"""@project: current's project fields, current.tags and the run's project system tags."""

from metaflow import FlowSpec, current, project, step

FIELDS = ("project_name", "branch_name", "is_user_branch", "is_production", "project_flow_name")


def snapshot():
    return {
        "fields": {name: getattr(current, name) for name in FIELDS},
        "contains": [name in current for name in FIELDS],
        "get": current.get("branch_name"),
        "tags": sorted(current.tags),
        "project_tags": sorted(t for t in current.run.system_tags if t.startswith("project")),
    }


@project(name="compat_proj")
class ProjectFieldsFlow(FlowSpec):
    @step
    def start(self):
        self.cur = snapshot()
        self.next(self.end)

    @step
    def end(self):
        self.cur_end = snapshot()


if __name__ == "__main__":
    ProjectFieldsFlow()
