"""The same runs with the metadata in PostgreSQL (KETCH_METADATA_URL=postgresql://...)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

FLOW = """
import os
from ketch import FlowSpec, step

class PgFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(6))
        self.next(self.body, foreach="items")

    @step
    def body(self):
        if os.environ.get("BREAK") == str(self.input):
            raise RuntimeError("broken")
        self.sq = self.input ** 2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.sq for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        print("TOTAL", self.total)

if __name__ == "__main__":
    PgFlow()
"""


def test_run_resume_and_client_on_postgres(project, pg_database: str) -> None:  # type: ignore[no-untyped-def]
    project.write("flow.py", FLOW)
    env = {"KETCH_METADATA_URL": pg_database}
    failed = project.run("flow.py", "run", "--tag", "pg", "--run-id-file", "id", BREAK="3", **env)
    assert failed.returncode == 1
    origin = project.run_id("id")
    resumed = project.run("flow.py", "resume", "--run-id-file", "id", **env)
    assert resumed.returncode == 0, resumed.stderr
    assert "TOTAL 55" in resumed.stdout
    assert not (project.root / ".ketch" / "ketch.db").exists()  # nothing went to SQLite
    out = project.run(
        "-c",
        "from ketch import Flow; f = Flow('PgFlow'); r = f.latest_run; "
        "print(r.successful, r.origin_pathspec, [t.data.sq for t in r['body']], "
        "[x.id for x in f.runs('pg')])",
        **env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"True PgFlow/{origin} [0, 1, 4, 9, 16, 25] ['{origin}']"
