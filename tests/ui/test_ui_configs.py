"""The run page lists a run's Configs apart from its parameters."""

from __future__ import annotations

import pytest
from flowrun import Project
from uiflows import LOCAL, settings_for

pytestmark = pytest.mark.slow


def test_run_page_shows_configs_apart_from_parameters(project: Project) -> None:
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    project.write(
        "flow.py",
        """
        from ketch import Config, FlowSpec, Parameter, step

        class ConfigPageFlow(FlowSpec):
            cfg = Config("cfg", default_value={"layers": 3})
            alpha = Parameter("alpha", default=cfg.layers)

            @step
            def start(self):
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            ConfigPageFlow()
        """,
    )
    proc = project.run("flow.py", "run", "--run-id-file", "run-id")
    assert proc.returncode == 0, proc.stderr
    with TestClient(create_app(settings_for(project.root)), base_url=LOCAL) as client:
        data = client.get(f"/api/ConfigPageFlow/{project.run_id()}").json()
        page = client.get(f"/ConfigPageFlow/{project.run_id()}").text
    assert [p["name"] for p in data["parameters"]] == ["alpha"]
    assert data["configs"] == [{"name": "cfg", "value": {"layers": 3}, "text": '{"layers": 3}'}]
    assert "<h2>Configs</h2>" in page
