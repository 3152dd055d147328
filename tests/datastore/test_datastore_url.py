"""A run stores its blobs where ``datastore_url`` says, and readers find them there."""

from __future__ import annotations

from pathlib import Path

from flowrun import Project

FLOW = """
from ketch import FlowSpec, step

class UrlFlow(FlowSpec):
    @step
    def start(self):
        self.value = list(range(20_000))  # a blob of a file of its own
        print("hello from start")
        self.next(self.end)

    @step
    def end(self):
        self.total = sum(self.value)

if __name__ == "__main__":
    UrlFlow()
"""

READ = """
from ketch import Flow
run = Flow("UrlFlow").latest_run
print(run["end"].task.data.total, run["start"].task.stdout.strip())
"""


def test_a_run_stores_and_reads_its_blobs_at_the_datastore_url(project: Project) -> None:
    project.write("flow.py", FLOW)
    elsewhere = project.root / "elsewhere"
    url = elsewhere.as_uri()
    proc = project.run("flow.py", "run", "--run-id-file", "run-id", KETCH_DATASTORE_URL=url)
    assert proc.returncode == 0, proc.stderr
    assert (elsewhere / "blobs").is_dir() and (elsewhere / "packs" / "data").is_file()
    store = project.root / ".ketch"
    assert (store / "ketch.db").is_file()  # the run database stays in the store directory
    assert not (store / "blobs").exists() and not (store / "packs").exists()

    read = project.run("-c", READ, KETCH_DATASTORE_URL=url)
    assert read.stdout.split() == [str(sum(range(20_000))), "hello", "from", "start"], read.stderr
    logs = project.run("flow.py", "logs", f"{project.run_id()}/start", KETCH_DATASTORE_URL=url)
    assert "hello from start" in logs.stdout
    # The run recorded where its bytes are: a reader without the setting reads them there.
    found = project.run("-c", READ)
    assert found.stdout.split() == read.stdout.split(), found.stderr
    elsewhere.rename(project.root / "moved")  # a datastore this machine does not have
    lost = project.run("-c", READ)
    assert lost.returncode != 0 and "DataIntegrityError" in lost.stderr
    assert f"stored in the datastore {elsewhere}" in lost.stderr
    assert "does not exist on this machine" in lost.stderr


def test_a_run_with_a_datastore_url_it_cannot_open_is_refused(project: Project) -> None:
    project.write("flow.py", FLOW)
    for url, says in [
        ("ftp://bucket/runs", "has a scheme ketch cannot open"),
        ("memory://runs", "cannot use an in-memory datastore"),
    ]:
        proc = project.run("flow.py", "run", KETCH_DATASTORE_URL=url)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1 and says in out and "Traceback" not in out
    assert not Path(project.root / ".ketch" / "blobs").exists()
