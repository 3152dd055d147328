"""Runs whose datastore is an S3 bucket (KETCH_DATASTORE_URL=s3://BUCKET/PREFIX), end to end.

Every run here is a real ``python flow.py run`` against a real S3 server (moto, SeaweedFS; see
``tests/_s3servers.py``), read back by the Client, the CLI and the UI as a user would. Each
process gets a cache directory of its own test (KETCH_CACHE_DIR), so a deletion in the bucket
is never hidden by objects cached by an earlier test.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _s3servers import ENV_TO_UNSET, S3Server, start_seaweedfs
from flowrun import Project, recorded_runs, refused, start_run, wait_for_file

pytest.importorskip("obstore")

pytestmark = pytest.mark.slow

PREFIX = "team/runs"

# A foreach and its join, a card, prints, and a 3.2 MB numpy array (a blob of its own: it is
# over the pack's 1 MiB limit). BREAK=<item> makes that foreach task fail (for resume).
S3_FLOW = """
import os
import numpy as np
from ketch import FlowSpec, card, current, step
from ketch.cards import Markdown

class S3Flow(FlowSpec):
    @card
    @step
    def start(self):
        self.items = ["a", "bb", "ccc"]
        self.big = np.random.default_rng(7).random(400_000)
        current.card.append(Markdown("# Report from the bucket"))
        print("start says hello")
        self.next(self.each, foreach="items")

    @step
    def each(self):
        if os.environ.get("BREAK") == self.input:
            raise RuntimeError("broken on purpose")
        self.item, self.size = self.input, len(self.input)
        print("each got", self.input)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.sizes = sorted(i.size for i in inputs)
        self.big_sum = float(inputs[0].big.sum())
        self.next(self.end)

    @step
    def end(self):
        print("sizes", self.sizes)

if __name__ == "__main__":
    S3Flow()
"""

# Tiny tasks that print nothing: each stores one small artifact.
MANY_FLOW = """
from ketch import FlowSpec, Parameter, step

class ManyFlow(FlowSpec):
    n = Parameter("n", default=20)

    @step
    def start(self):
        self.items = list(range(self.n))
        self.next(self.each, foreach="items")

    @step
    def each(self):
        self.sq = self.input * self.input
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.sq for i in inputs)
        self.secret = "needle-in-the-pack"
        self.next(self.end)

    @step
    def end(self):
        pass

if __name__ == "__main__":
    ManyFlow()
"""

# The middle step announces itself (file "waiting") and finishes once file "go" exists.
WAIT_FLOW = """
import os, time
from ketch import FlowSpec, step

class WaitFlow(FlowSpec):
    @step
    def start(self):
        self.first = "kept"
        self.next(self.middle)

    @step
    def middle(self):
        open("waiting", "w").close()
        while not os.path.exists("go"):
            time.sleep(0.02)
        self.payload = "made in the middle"
        self.next(self.end)

    @step
    def end(self):
        print("END", self.first, self.payload)

if __name__ == "__main__":
    WaitFlow()
"""

READ_S3_RUN = """
import json
import numpy as np
from ketch import Run
from ketch.cards import get_cards

run = Run("S3Flow/{run_id}")
start, join = run["start"].task, run["join"].task
each = sorted(run["each"], key=lambda t: t.data.size)
cards = get_cards(start)
print(json.dumps({{
    "successful": run.successful,
    "big_equal": bool(np.array_equal(start.data.big, np.random.default_rng(7).random(400_000))),
    "sizes": join.data.sizes,
    "big_sum": join.data.big_sum,
    "each": [(t.data.item, t.data.size, t.stdout) for t in each],
    "start_stdout": start.stdout,
    "end_stdout": run["end"].task.stdout,
    "cards": [(c.type, "Report from the bucket" in c.get()) for c in cards],
    "code": "class S3Flow" in run.code.flowspec,
    "join_task": join.id,
    "start_task": start.id,
}}))
"""


def _without_ambient_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_TO_UNSET:
        monkeypatch.delenv(name, raising=False)


def s3_env(server: S3Server, bucket: str, cache: Path, **extra: str) -> dict[str, str]:
    """The environment of a process that runs or reads flows on ``bucket``."""
    return server.env() | {
        "KETCH_DATASTORE_URL": f"s3://{bucket}/{PREFIX}",
        "KETCH_CACHE_DIR": str(cache),
        **extra,
    }


def reader_env(server: S3Server, cache: Path, **extra: str) -> dict[str, str]:
    """A reader's environment: the server's address and keys, no datastore URL (the run
    recorded where its bytes are)."""
    return server.env() | {"KETCH_CACHE_DIR": str(cache), **extra}


def read_json(project: Project, code: str, **env: str) -> Any:
    proc = project.run("-c", textwrap.dedent(code), **env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bucket_keys(server: S3Server, bucket: str) -> dict[str, int]:
    """Key -> size of every object in ``bucket``."""
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


# -- one S3Flow run per server, shared by the reading tests -----------------------------------


@dataclass
class S3Run:
    project: Project
    server: S3Server
    bucket: str
    run_id: str
    proc: subprocess.CompletedProcess[str]

    def reader(self, **extra: str) -> dict[str, str]:
        return reader_env(self.server, self.project.root / "reader-cache", **extra)


@pytest.fixture(scope="module", params=["moto", "seaweedfs"])
def s3_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Run]:
    server: S3Server = request.getfixturevalue(f"{request.param}_s3")
    if server.pid is None:
        server.restart()
    with pytest.MonkeyPatch.context() as monkeypatch:
        _without_ambient_aws(monkeypatch)
        project = Project(tmp_path_factory.mktemp(f"s3-run-{request.param}"))
        project.write("flow.py", S3_FLOW)
        bucket = server.make_bucket()
        env = s3_env(server, bucket, project.root / "run-cache")
        proc = project.run("flow.py", "run", "--run-id-file", "run-id", **env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield S3Run(project, server, bucket, project.run_id(), proc)


def test_a_run_on_s3_keeps_its_bytes_in_the_bucket_and_reads_back(s3_run: S3Run) -> None:
    project, run_id = s3_run.project, s3_run.run_id
    store = project.root / ".ketch"
    files = [p.relative_to(store) for p in store.rglob("*") if p.is_file()]
    assert files and all(p.name.startswith("ketch.db") for p in files), files
    assert not any((store / d).exists() for d in ("blobs", "packs", "cards", "code"))

    keys = bucket_keys(s3_run.server, s3_run.bucket)
    assert keys and all(k.startswith(PREFIX + "/") for k in keys), keys
    kinds = {k.split("/")[2] for k in keys}
    assert {"blobs", "packs"} <= kinds, kinds
    # the array (3.2 MB, incompressible) is an object of its own, not in a pack
    assert any(k.split("/")[2] == "blobs" and size >= 3_200_000 for k, size in keys.items())

    got = read_json(project, READ_S3_RUN.format(run_id=run_id), **s3_run.reader())
    assert got["successful"] is True
    assert got["big_equal"] is True
    assert got["sizes"] == [1, 2, 3]
    assert got["each"] == [
        ["a", 1, "each got a\n"],
        ["bb", 2, "each got bb\n"],
        ["ccc", 3, "each got ccc\n"],
    ]
    assert got["start_stdout"] == "start says hello\n"
    assert got["end_stdout"] == "sizes [1, 2, 3]\n"
    assert got["cards"] == [["default", True]]
    assert got["code"] is True

    task = f"{run_id}/join/{got['join_task']}"
    dump = project.run("flow.py", "dump", task, **s3_run.reader())
    assert dump.returncode == 0, dump.stderr
    assert "sizes: [1, 2, 3]" in dump.stdout and f"big_sum: {got['big_sum']}" in dump.stdout
    logs = project.run("flow.py", "logs", f"{run_id}/start", **s3_run.reader())
    assert logs.returncode == 0, logs.stderr
    assert "start says hello" in logs.stdout
    start = f"{run_id}/start/{got['start_task']}"
    card = project.run("flow.py", "card", "get", start, **s3_run.reader())
    assert card.returncode == 0, card.stderr
    assert "Report from the bucket" in card.stdout


def test_the_ui_shows_a_run_on_s3(s3_run: S3Run, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from ketch.settings import resolve
    from ketch.ui import create_app

    # The UI reads in this process: the object store's address and keys come from os.environ.
    _without_ambient_aws(monkeypatch)
    reader = s3_run.reader(USER="tester")
    for name, value in reader.items():
        monkeypatch.setenv(name, value)
    settings = resolve(environ=reader, cwd=s3_run.project.root)
    base = f"/S3Flow/{s3_run.run_id}"
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        run_page = client.get(base)
        assert run_page.status_code == 200, run_page.text
        assert "each" in run_page.text and "join" in run_page.text

        each = client.get(f"/api{base}/each").json()["tasks"]
        assert len(each) == 3
        by_input = {}
        for entry in each:
            data = client.get(f"/api{base}/each/{entry['id']}").json()
            arts = {a["name"]: a["preview"] for a in data["artifacts"]}
            by_input[arts["item"]["text"]] = (arts["size"]["text"], data["logs"]["stdout"]["text"])
        assert by_input == {
            "a": ("1", "each got a\n"),
            "bb": ("2", "each got bb\n"),
            "ccc": ("3", "each got ccc\n"),
        }
        page = client.get(f"{base}/each/{each[0]['id']}")
        assert page.status_code == 200 and "each got" in page.text

        start = client.get(f"/api{base}/start").json()["tasks"][0]["id"]
        cards = client.get(f"/api{base}/start/{start}").json()["cards"]
        assert [c["type"] for c in cards] == ["default"] and cards[0]["error"] is None
        card = client.get(cards[0]["url"])
        assert card.status_code == 200
        assert "Report from the bucket" in card.text


# -- requests ---------------------------------------------------------------------------------


def test_a_small_task_is_one_put(
    project: Project, moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_ambient_aws(monkeypatch)
    bucket = moto_s3.make_bucket()
    project.write("flow.py", MANY_FLOW)
    before = len(moto_s3.request_log())
    # the datastore named as Metaflow names it, not by KETCH_DATASTORE_URL
    flags = ["--datastore=s3", f"--datastore-root=s3://{bucket}/{PREFIX}"]
    env = reader_env(moto_s3, project.root / "cache")
    proc = project.run("flow.py", *flags, "run", **env)
    assert proc.returncode == 0, proc.stderr
    puts = [path for verb, path in moto_s3.request_log()[before:] if verb == "PUT"]
    assert all(path.startswith(f"/{bucket}/{PREFIX}/") for path in puts), puts
    tasks = 1 + 20 + 1 + 1  # start, the foreach, join, end
    # Each task stores its artifacts in one PUT (end stores nothing new); the run itself PUTs
    # its parameters, its code package and its graph once.
    assert len(puts) <= tasks + 3, (len(puts), puts)
    packs = sum("/packs/" in path for path in puts)
    assert 1 + 20 + 1 <= packs <= tasks + 1, puts  # start, each foreach task and join wrote one


# -- a team: one run database (PostgreSQL), one bucket ------------------------------------------

TEAM_READ = """
import json
from ketch import Flow, namespace
mine = [r.id for r in Flow("ManyFlow").runs()]
namespace("user:alice")
run = Flow("ManyFlow").latest_run
print(json.dumps([mine, run.id, run.data.total, sorted(t.data.sq for t in run["each"])]))
"""

TEAM_READ_ANYWAY = """
from ketch import Flow, namespace
namespace(None)
print(Flow("ManyFlow").latest_run.data.total)
"""


def test_a_team_shares_runs_through_postgres_and_s3(
    tmp_path: Path, pg_database: str, moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_ambient_aws(monkeypatch)
    bucket = moto_s3.make_bucket()
    alice, bob = Project(tmp_path / "alice"), Project(tmp_path / "bob")
    alice.root.mkdir()
    bob.root.mkdir()
    alice.write("flow.py", MANY_FLOW)
    shared = {"KETCH_METADATA_URL": pg_database}
    env = s3_env(moto_s3, bucket, tmp_path / "alice-cache", KETCH_USER="alice", **shared)
    ran = alice.run("flow.py", "run", "--n", "3", "--run-id-file", "run-id", **env)
    assert ran.returncode == 0, ran.stderr
    run_id = alice.run_id()

    as_bob = reader_env(moto_s3, tmp_path / "bob-cache", KETCH_USER="bob", **shared)
    assert read_json(bob, TEAM_READ, **as_bob) == [[], run_id, 5, [0, 1, 4]]
    assert not (bob.root / ".ketch").exists()  # bob read everything from PG and the bucket


def test_a_team_reads_a_local_datastore_only_on_its_machine(
    tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = Project(tmp_path / "alice"), Project(tmp_path / "bob")
    alice.root.mkdir()
    bob.root.mkdir()
    alice.write("flow.py", MANY_FLOW)
    shared = {"KETCH_METADATA_URL": pg_database}
    ran = alice.run("flow.py", "run", "--n", "3", KETCH_USER="alice", **shared)
    assert ran.returncode == 0, ran.stderr
    assert (alice.root / ".ketch").is_dir()

    read = bob.run("-c", TEAM_READ_ANYWAY, KETCH_USER="bob", **shared)
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "5"

    alice.root.rename(tmp_path / "alice-moved")
    gone = bob.run("-c", TEAM_READ_ANYWAY, KETCH_USER="bob", **shared)
    assert gone.returncode != 0
    assert str(alice.root / ".ketch") in gone.stderr
    assert "does not exist on this machine" in gone.stderr


# -- resume -----------------------------------------------------------------------------------


def test_resume_on_s3_clones_the_finished_tasks(
    project: Project, s3_bucket: tuple[S3Server, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_ambient_aws(monkeypatch)
    server, bucket = s3_bucket
    project.write("flow.py", S3_FLOW)
    env = s3_env(server, bucket, project.root / "cache")
    failed = project.run("flow.py", "run", "--run-id-file", "first", BREAK="bb", **env)
    assert failed.returncode == 1, failed.stderr
    assert "broken on purpose" in failed.stdout + failed.stderr
    resumed = project.run("flow.py", "resume", "--run-id-file", "second", **env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "sizes [1, 2, 3]" in resumed.stdout

    code = READ_S3_RUN.format(run_id=project.run_id("second"))
    got = read_json(project, code, **reader_env(server, project.root / "reader-cache"))
    assert got["successful"] is True and got["big_equal"] is True
    assert got["start_stdout"] == "start says hello\n"  # cloned: its log too
    assert [e[:2] for e in got["each"]] == [["a", 1], ["bb", 2], ["ccc", 3]]
    assert got["cards"] == [["default", True]]


# -- faults -----------------------------------------------------------------------------------


@pytest.fixture
def own_seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS of this test's own, to stop and restart without disturbing the others."""
    server = start_seaweedfs(tmp_path_factory.mktemp("own-seaweedfs"))
    try:
        yield server
    finally:
        server.stop()


def test_a_server_that_stops_mid_run_fails_the_task_and_resume_finishes(
    project: Project, own_seaweedfs: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_ambient_aws(monkeypatch)
    server = own_seaweedfs
    bucket = server.make_bucket()
    project.write("flow.py", WAIT_FLOW)
    env = s3_env(server, bucket, project.root / "cache")
    proc = start_run(project, **env)
    try:
        wait_for_file(project.root / "waiting", proc)
        server.stop()
        (project.root / "go").touch()
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.communicate()
    both = out + err
    assert proc.returncode != 0, both
    assert "Traceback" not in both, both
    assert "The datastore cannot be reached" in both, both
    assert server.endpoint in both and "PUT s3://" in both
    assert "failed after 5 attempts" in both and "'payload'" in both, both
    assert "retrying in 0.25 s (attempt 2 of 5)" in both, both
    assert "'resume' the run" in both
    assert "Step middle (task WaitFlow/" in err, err

    server.restart()
    resumed = project.run("flow.py", "resume", **env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "END kept made in the middle" in resumed.stdout


def test_a_missing_bucket_fails_the_run_before_any_task(
    project: Project, seaweedfs_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_ambient_aws(monkeypatch)
    if seaweedfs_s3.pid is None:
        seaweedfs_s3.restart()
    project.write("flow.py", MANY_FLOW)
    env = s3_env(seaweedfs_s3, "no-such-bucket-here", project.root / "cache")
    proc = project.run("flow.py", "run", **env)
    refused(
        proc,
        "The datastore's bucket does not exist",
        f"The bucket 'no-such-bucket-here' of the datastore s3://no-such-bucket-here/{PREFIX} "
        f"at {seaweedfs_s3.endpoint} does not exist.",
    )
    assert "Task is starting" not in proc.stdout + proc.stderr
    assert recorded_runs(project) == []


def test_refused_credentials_fail_the_run_before_any_task(
    project: Project, seaweedfs_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_ambient_aws(monkeypatch)
    if seaweedfs_s3.pid is None:
        seaweedfs_s3.restart()
    bucket = seaweedfs_s3.make_bucket()
    project.write("flow.py", MANY_FLOW)
    env = s3_env(seaweedfs_s3, bucket, project.root / "cache", AWS_SECRET_ACCESS_KEY="wrong")
    proc = project.run("flow.py", "run", **env)
    refused(
        proc,
        "The datastore refused the credentials",
        f"refused the credentials for s3://{bucket}/{PREFIX} at {seaweedfs_s3.endpoint}: "
        "answered 403",
    )
    assert "Task is starting" not in proc.stdout + proc.stderr
    assert recorded_runs(project) == []


READ_SECRET = """
from ketch import Flow
from ketch.exceptions import DataIntegrityError
task = Flow("ManyFlow").latest_run["join"].task
try:
    task.data.secret
except DataIntegrityError as exc:
    print("PATH", task.pathspec)
    print(exc)
"""


def test_a_deleted_pack_is_a_data_integrity_error(
    project: Project, moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_ambient_aws(monkeypatch)
    bucket = moto_s3.make_bucket()
    project.write("flow.py", MANY_FLOW)
    url = f"s3://{bucket}/{PREFIX}"  # named by the option, not by KETCH_DATASTORE_URL
    env = reader_env(moto_s3, project.root / "c1")
    ran = project.run("flow.py", "--datastore-url", url, "run", "--n", "2", **env)
    assert ran.returncode == 0, ran.stderr
    client = moto_s3.client()
    holding = [
        key
        for key in bucket_keys(moto_s3, bucket)
        if "/packs/" in key
        and b"needle-in-the-pack" in client.get_object(Bucket=bucket, Key=key)["Body"].read()
    ]
    assert len(holding) == 1, holding
    client.delete_object(Bucket=bucket, Key=holding[0])

    # a fresh cache: the run's own processes may have cached the pack
    proc = project.run("-c", READ_SECRET, **reader_env(moto_s3, project.root / "c2"))
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.split("PATH ", 1)[1].split()[0]
    assert path.startswith("ManyFlow/") and path.split("/")[2] == "join", path
    pack_id = "".join(holding[0].split("/")[-2:])  # team/runs/packs/ab/cdef... -> abcdef...
    message = proc.stdout.split("\n", 1)[1]
    assert message.startswith(f"Artifact 'secret' of task {path}: Blob "), message
    assert f"@{pack_id}:" in message, message  # the located key names the pack
    assert f"is missing from s3://{bucket}/{PREFIX}." in message, message
