"""ketch must do what Metaflow does: every case of cases.py, compared with its golden file.

Each slow test copies a Metaflow flow into ``tmp_path``, rewrites ``from metaflow import`` to
``from ketch import``, runs it with ``sys.executable`` (USER=tester, no KETCH_*/METAFLOW_*
variables), then dumps the run through ketch's Client API with ``extract.py ketch FLOW`` and
compares exit code, "a run was recorded" and the canonical dump with ``golden/<case>.json``
(recorded from Metaflow 2.19 by ``record_golden.py``).

Self-check of the harness against Metaflow itself (no ketch involved)::

    COMPAT_IMPL=metaflow pytest tests/compat -m slow
    # interpreter: /tmp/mfvenv/bin/python, or COMPAT_PYTHON=/path/to/python

The fast tests at the bottom check the kit itself and need neither implementation.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from types import ModuleType

import pytest

COMPAT_DIR = Path(__file__).resolve().parent


def _load(name: str, filename: str) -> ModuleType:
    # Loaded under unique names so nothing clashes with other test directories.
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, COMPAT_DIR / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


harness = _load("ketch_compat_harness", "harness.py")
cases = _load("ketch_compat_cases", "cases.py")
extract = _load("ketch_compat_extract", "extract.py")

IMPL = os.environ.get("COMPAT_IMPL", "ketch")


def _stores_above(path: Path) -> list[Path]:
    found = []
    for parent in path.resolve().parents:
        for name in (".metaflow", ".ketch"):
            if (parent / name).exists():
                found.append(parent / name)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.name)
def test_matches_metaflow(case, tmp_path):
    _check_case(case, tmp_path, {})


@pytest.mark.slow
@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.name)
def test_matches_metaflow_with_the_datastore_on_s3(case, tmp_path, s3_server):
    """The same cases with every byte in an S3 bucket (moto, then SeaweedFS)."""
    if IMPL != "ketch":
        pytest.skip("the S3 variant checks ketch")
    env = s3_server.subprocess_env({})
    env["KETCH_DATASTORE_URL"] = f"s3://{s3_server.make_bucket()}/compat"
    env["KETCH_CACHE_DIR"] = str(tmp_path / "cache")
    _check_case(case, tmp_path, env)
    assert not (tmp_path / "flowdir" / ".ketch" / "blobs").exists()


@pytest.mark.slow
@pytest.mark.ray
@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.name)
def test_matches_metaflow_with_every_task_on_ray(case, tmp_path, ray_cluster):
    """The same cases with --executor ray: every task a Ray task on a 2-node cluster, spread
    over both nodes (Ray's default would keep these short tasks on the first node)."""
    if IMPL != "ketch":
        pytest.skip("the Ray variant checks ketch")
    env = {**ray_cluster.env(), "KETCH_EXECUTOR": "ray"}
    spread = ("--with", "on_ray:scheduling_strategy=SPREAD")
    _check_case(case, tmp_path, env, prefix=ray_cluster.command([]), top_args=spread)
    nodes = _attempt_nodes(tmp_path / "flowdir" / ".ketch" / "ketch.db")
    assert None not in nodes, f"{case.name}: a task did not run on Ray"
    _RAY_NODES_SEEN.update(nodes)
    _RAY_CASES_RUN.append(case.name)


_RAY_NODES_SEEN: set[str | None] = set()
_RAY_CASES_RUN: list[str] = []


def _attempt_nodes(db: Path) -> set[str | None]:
    """The nodes the attempts of every run in the store ``db`` ran on (None: locally)."""
    if not db.exists():  # the case records no run (a usage or lint error)
        return set()
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(
            "SELECT DISTINCT node FROM attempts WHERE task_id != 0"
        )  # not _parameters
        return {node for (node,) in rows}


@pytest.mark.slow
@pytest.mark.ray
def test_the_ray_variant_ran_tasks_on_both_nodes():
    """Across the kit's cases on Ray (run just before this test), both nodes ran tasks."""
    if len(_RAY_CASES_RUN) < len(cases.CASES):
        pytest.skip("the whole Ray variant of the kit did not run in this session")
    assert len(_RAY_NODES_SEEN) == 2, _RAY_NODES_SEEN


def _check_case(case, tmp_path, extra_env, prefix=None, top_args=()):
    assert IMPL in ("ketch", "metaflow"), "COMPAT_IMPL must be ketch or metaflow"
    golden = harness.load_golden(case.name)
    python = harness.python_for(IMPL)
    if IMPL == "metaflow" and not Path(python).exists():
        pytest.skip(f"no Metaflow interpreter at {python}")
    stray = _stores_above(tmp_path)
    assert not stray, f"a store above the test directory would be picked up: {stray}"

    result = harness.run_case(case, tmp_path / "flowdir", IMPL, python, extra_env, prefix, top_args)
    problems = harness.compare(case, golden, result, cases.SHOW_GRAPHS.get(case.flow))
    if problems:
        pytest.fail(
            f"{case.name}: {len(problems)} difference(s) from Metaflow "
            f"(golden/{case.name}.json)\n\n" + "\n\n".join(problems),
            pytrace=False,
        )


# --------------------------------------------------------------------------- the kit itself


def test_every_case_has_a_golden_and_a_flow():
    for case in cases.CASES:
        assert (harness.FLOWS_DIR / case.flow).is_file(), case.flow
        for rel in case.files:
            assert (harness.FLOWS_DIR / rel).exists(), rel
        golden = harness.load_golden(case.name)
        assert golden["case"] == case.name
        assert golden["argv"] == case.argv, f"golden is stale for {case.name}: re-record"
        assert golden["impl"] == "metaflow"
        if case.kind == "show":
            assert case.flow in cases.SHOW_GRAPHS
    goldens = {p.stem for p in harness.GOLDEN_DIR.glob("*.json")}
    assert goldens == set(cases.CASES_BY_NAME), "goldens without a case or cases without one"


def test_flows_use_only_metaflow_imports_that_rewrite_cleanly():
    for path in sorted(harness.FLOWS_DIR.glob("*.py")):
        src = path.read_text(encoding="utf-8")
        assert "from metaflow import" in src, path.name
        rewritten = harness.rewrite_for_ketch(src)
        assert "metaflow" not in rewritten, path.name
        assert "from ketch import" in rewritten
        assert len(src.splitlines()) < 60, path.name


def test_probes_are_known_and_opt_in():
    probes = _load("ketch_compat_probes", "probes.py")
    for case in cases.CASES:
        canonical = harness.load_golden(case.name)["extract"].get("canonical") or {}
        assert sorted(canonical.get("probes", {})) == sorted(case.probes), case.name
        for spec in case.probes:
            assert spec.partition("=")[0] in probes.PROBES, spec


def test_rewrite_for_ketch():
    src = "from metaflow import FlowSpec, step\nimport metaflow\nx = metaflow.current\n"
    assert harness.rewrite_for_ketch(src) == (
        "from ketch import FlowSpec, step\nimport ketch\nx = ketch.current\n"
    )
    assert harness.rewrite_for_ketch("from metaflow.cards import x\n") == (
        "from ketch.cards import x\n"
    )


def test_canon_keeps_type_distinctions():
    c = extract.canon
    assert c(1) == 1 and c(True) is True and c(1.0) == 1.0
    assert json.dumps(c([1, 1.0, True])) == "[1, 1.0, true]"
    assert c((1, 2)) == {"$tuple": [1, 2]}
    assert c({3, 1, 2}) == {"$set": [1, 2, 3]}
    assert c(frozenset("ba")) == {"$frozenset": ["a", "b"]}
    assert c(b"\x00\xff") == {"$bytes": "00ff"}
    assert c({1: "a"}) == {"$dict": [[1, "a"]]}
    assert c({"b": 1, "a": 2}) == {"b": 1, "a": 2}
    assert c(float("nan")) == {"$float": "nan"}
    assert c(object())["$object"] == "builtins.object"
    np = pytest.importorskip("numpy")
    arr = c(np.arange(4).reshape(2, 2))["$ndarray"]
    assert arr["shape"] == [2, 2] and arr["data"] == [[0, 1], [2, 3]]
    assert c(np.float64(2.5)) == {"$npscalar": {"dtype": "float64", "value": 2.5}}


def test_exception_parsing():
    tb = (
        "Traceback (most recent call last):\n"
        '  File "f.py", line 3, in s\n'
        "    raise ValueError('a: b')\n"
        "    ^^^^^\n"
        "ValueError: a: b\n"
    )
    assert extract.canon_exception(tb) == {"type": "ValueError", "message": "a: b"}
    assert extract.canon_exception("builtins.KeyError: 'k'") == {
        "type": "KeyError",
        "message": "'k'",
    }
    assert extract.canon_exception(ValueError("x: y")) == {"type": "ValueError", "message": "x: y"}
    assert extract.canon_exception("pkg.mod.MergeError: line1\nline2")["type"] == "$non_builtin"
    assert extract.canon_exception("[no stacktrace]\nbuiltins.KeyError: 'k'") == {
        "type": "KeyError",
        "message": "'k'",
    }
    assert extract.canon_exception(None) is None


def test_task_logs_lose_framework_timestamps_only():
    log = "a\n2026-01-02 03:04:05.678 Step x timed out\nb 2026-01-02 03:04:05.678 c\n"
    assert extract._untimed(log) == "a\nStep x timed out\nb 2026-01-02 03:04:05.678 c\n"
    assert extract._untimed("$error") == "$error" and extract._untimed(None) is None


def test_compare_detects_differences():
    case = cases.CASES_BY_NAME["branch_join"]
    golden = harness.load_golden(case.name)
    same = json.loads(json.dumps(golden))
    assert harness.compare(case, golden, same) == []

    changed = json.loads(json.dumps(golden))
    changed["extract"]["canonical"]["run"]["steps"]["join"][0]["artifacts"]["from_a"] = 10.0
    problems = harness.compare(case, golden, changed)
    assert len(problems) == 1 and "from_a" in problems[0]

    changed = json.loads(json.dumps(golden))
    changed["exit_code"] = 2
    assert any("exit code" in p for p in harness.compare(case, golden, changed))


def test_show_check():
    graph = cases.SHOW_GRAPHS["branch_join.py"]
    golden = harness.load_golden("show_branch_join")
    assert harness.check_show(graph, golden["command_stdout"]) == []
    assert harness.check_show(graph, "Step start\n=> a\nStep a\nStep b\nStep join\nStep end\n")
