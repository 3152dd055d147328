"""Prepare a copy of Metaflow's ``test/core`` for one python, and run its tests there.

What a test run does follows ``run_tests.py`` of the harness (cli executor): write the
generated ``test_flow.py`` and ``check_flow.py`` into a fresh directory, run
``python -B test_flow.py TOP_OPTIONS run --run-id-file run-id RUN_OPTIONS``; a failure is
expected for ``SHOULD_FAIL`` tests, and answered with ``resume [STEP]`` for ``RESUME`` tests;
then each checker runs as ``python check_flow.py CHECKER RUN_ID TOP_OPTIONS`` and must exit 0.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from . import _context
from ._rewrite import SHIM_MODULE, ketch_names, rewrite_source

HERE = Path(__file__).resolve().parent
CHECKOUT_ENV = "KETCH_METAFLOW_CHECKOUT"


@dataclass(frozen=True)
class Target:
    """An implementation to test: ``ketch`` (imports rewritten) or ``metaflow`` (as is)."""

    impl: str
    python: str


@dataclass(frozen=True)
class Case:
    test: str
    graph: str
    flow_name: str
    flow_code: str
    check_code: str
    should_fail: bool
    should_resume: bool
    resume_step: str | None
    copy_files: tuple[str, ...]


@dataclass(frozen=True)
class Prepared:
    target: Target
    core: Path
    cases: dict[str, Case]  # test -> its case on the chosen graph
    no_case: dict[str, str]  # test -> why it has none (import error, no graph, disabled)


@dataclass(frozen=True)
class Outcome:
    test: str
    graph: str
    impl: str
    passed: bool
    stage: str  # where it ended: run, resume, a checker's name, or "ok"
    reason: str
    seconds: float


def find_core(checkout: str | Path) -> Path:
    """``test/core`` under a Metaflow checkout (or the folder itself if it is ``test/core``)."""
    root = Path(checkout).expanduser().resolve()
    for candidate in (root / "test" / "core", root):
        if (candidate / "run_tests.py").is_file() and (candidate / "metaflow_test").is_dir():
            return candidate
    raise FileNotFoundError(f"no Metaflow test/core under {root}")


def prepare(
    checkout: str | Path,
    target: Target,
    workdir: Path,
    graphs: dict[str, str] | None = None,
) -> Prepared:
    """Copy ``test/core`` into ``workdir/<impl>/core`` (rewritten for ketch) and generate the
    flow of every test on its graph (``graphs`` overrides the choice, test -> graph name)."""
    core = workdir / target.impl / "core"
    shutil.copytree(find_core(checkout), core)
    available = None
    if target.impl == "ketch":
        available = ketch_names(target.python)
        for path in [*core.glob("metaflow_test/*.py"), *core.glob("tests/*.py")]:
            path.write_text(rewrite_source(path.read_text("utf-8"), available), "utf-8")
        shutil.copy(HERE / "_support.py", core / f"{SHIM_MODULE}.py")
    out = workdir / target.impl / "generated.json"
    subprocess.run(
        [target.python, str(HERE / "_generate.py"), str(core), str(out)],
        cwd=core,
        env=_base_env(core, target.python),
        check=True,
        capture_output=True,
    )
    generated = json.loads(out.read_text("utf-8"))
    cases: dict[str, Case] = {}
    no_case = {f"({module})": error for module, error in generated["import_errors"].items()}
    for test, info in sorted(generated["tests"].items()):
        if test in _context.DISABLED_TESTS:
            no_case[test] = _context.DISABLED_TESTS[test]
            continue
        graph = (graphs or {}).get(test) or choose_graph(info["cases"])
        if graph is None:
            no_case[test] = "no graph fits the test"
            continue
        raw = info["cases"][graph]
        flow_code, check_code = raw["flow_code"], raw["check_code"]
        if available is not None:
            flow_code = rewrite_source(flow_code, available)
            check_code = rewrite_source(check_code, available)
        cases[test] = Case(
            test=test,
            graph=graph,
            flow_name=raw["flow_name"],
            flow_code=flow_code,
            check_code=check_code,
            should_fail=raw["should_fail"],
            should_resume=raw["should_resume"],
            resume_step=raw["resume_step"],
            copy_files=tuple(raw["copy_files"]),
        )
    return Prepared(target=target, core=core, cases=cases, no_case=no_case)


def choose_graph(cases: dict[str, dict[str, object]]) -> str | None:
    """The first graph of ``GRAPH_PREFERENCE`` the test accepts, else any it accepts."""
    valid = sorted(name for name, case in cases.items() if case["valid"])
    for name in _context.GRAPH_PREFERENCE:
        if name in valid:
            return name
    return valid[0] if valid else None


def _base_env(core: Path, python: str) -> dict[str, str]:
    """run_tests.py's environment: USER, the context's variables, a UTF-8 locale (C.UTF-8,
    which every system has, where the harness names en_US.UTF-8), PATH and PYTHONPATH.
    PATH starts with the python's own directory, as in the activated virtual environment the
    harness expects: Metaflow starts some tasks (``@parallel``) with ``python`` from PATH."""
    env = {"USER": os.environ.get("USER", "tester")}
    env.update(_context.ENV)
    env.update(
        {
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PATH": f"{Path(python).parent}:{os.environ.get('PATH', '.')}",
            "PYTHONIOENCODING": "utf_8",
            "PYTHONPATH": f"{core}:{os.environ.get('PYTHONPATH', '.')}",
        }
    )
    return env


class _Log:
    """The commands of one case with their outputs, written to a text file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        path.write_text("", "utf-8")

    def add(self, cmd: list[str], rc: int | None, out: str, err: str) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(
                f"$ {' '.join(cmd)}\n[exit code {rc}]\n--- stdout\n{out}\n--- stderr\n{err}\n\n"
            )


def _call(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> tuple[int | None, str, str]:
    """Run ``cmd``; after ``timeout`` kill its process group (flows start task processes)."""
    rc, out, err = _compat_harness().run_killing_group(
        cmd, cwd, env, timeout, label="metaflow_core shim"
    )
    return rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _compat_harness() -> ModuleType:
    """The compatibility kit's harness (``tests/compat/harness.py``), loaded from its file as
    the kit's own tests load it: it is no package, and this shim runs both under pytest and
    as ``python -m tests.metaflow_core``."""
    name = "ketch_compat_harness"
    with _HARNESS_LOCK:  # the tests run in threads: none may see it half loaded
        if name not in sys.modules:
            path = HERE.parent / "compat" / "harness.py"
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
    return sys.modules[name]


_HARNESS_LOCK = threading.Lock()


def run_case(
    prepared: Prepared,
    case: Case,
    casedir: Path,
    log_path: Path,
    timeout: float,
    executor: str = "cli",
) -> Outcome:
    """Run one test on its graph in ``casedir`` (created here) and say whether it passed;
    ``executor`` ``api`` runs and resumes the flow through ``Runner`` (``_api_driver.py``)."""
    started = time.monotonic()
    stage, reason = _run_stages(prepared, case, casedir, _Log(log_path), timeout, executor)
    reason = reason.replace(f"{casedir}/", "")
    return Outcome(
        test=case.test,
        graph=case.graph,
        impl=prepared.target.impl,
        passed=stage == "ok",
        stage=stage,
        reason=reason,
        seconds=round(time.monotonic() - started, 2),
    )


def _write_case(prepared: Prepared, case: Case, casedir: Path) -> None:
    casedir.mkdir(parents=True)
    # Each case keeps its runs in its own store, whatever lies above the directory.
    (casedir / (".ketch" if prepared.target.impl == "ketch" else ".metaflow")).mkdir()
    (casedir / "test_flow.py").write_text(case.flow_code, "utf-8")
    (casedir / "check_flow.py").write_text(case.check_code, "utf-8")
    shutil.copytree(prepared.core / "metaflow_test", casedir / "metaflow_test")
    for name in case.copy_files:
        shutil.copy2(prepared.core / "tests" / name, casedir / name)


def _run_stages(
    prepared: Prepared, case: Case, casedir: Path, log: _Log, timeout: float, executor: str
) -> tuple[str, str]:
    _write_case(prepared, case, casedir)
    env = _base_env(prepared.core, prepared.target.python)
    python = prepared.target.python

    def flow_cmd(mode: str, *args: str) -> list[str]:
        if executor == "api":
            options = json.dumps(_context.API_OPTIONS)
            driver = str(HERE / "_api_driver.py")
            return [python, "-B", driver, prepared.target.impl, mode, options, *args]
        return [
            python,
            "-B",
            "test_flow.py",
            *_context.TOP_OPTIONS,
            mode,
            *args,
            "--run-id-file",
            "run-id",
            *_context.RUN_OPTIONS,
        ]

    def call(cmd: list[str]) -> tuple[int | None, str]:
        rc, out, err = _call(cmd, casedir, env, timeout)
        log.add(cmd, rc, out, err)
        return rc, out + "\n" + err

    rc, text = call(flow_cmd("run"))
    resume_failure = ""
    if rc != 0 and not case.should_fail:
        if not case.should_resume:
            return "run", reason_from(text, "the flow failed")
        run_rc, run_text = rc, text
        # Like run_tests.py, go on to the checkers whatever resume's exit code is.
        rc, text = call(flow_cmd("resume", *([case.resume_step] if case.resume_step else [])))
        if "ResumeFromHere" not in run_text:  # the run failed, but not on purpose
            resume_failure = "the run failed: " + reason_from(run_text, f"exit code {run_rc}")
        elif rc != 0:
            resume_failure = "resume failed: " + reason_from(text, f"exit code {rc}")
    elif rc == 0 and case.should_fail:
        return "run", "the flow should have failed but succeeded"
    if not (casedir / "run-id").is_file():
        return "run", resume_failure or reason_from(text, "no run-id file was written")
    run_id = (casedir / "run-id").read_text("utf-8")
    for checker in _context.CHECKS:
        rc, text = call([python, "check_flow.py", checker, run_id, *_context.TOP_OPTIONS])
        if rc != 0:
            return checker, resume_failure or reason_from(text, f"{checker} failed")
    return "ok", ""


_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (\[[^\]]*\] )?")
_ERROR = re.compile(
    r"^([A-Za-z_][\w.]*(Error|Exception|Failed|Mismatch|Interrupt|Exit)|"
    r"AssertionError|KeyError|TypeError)\b(:.*)?$"
)
_MISSING = re.compile(r"ketch has no ([\w.]+)")


def reason_from(text: str, default: str) -> str:
    """The most telling line of a failed command's output, shortened to one line."""
    missing = _MISSING.search(text)
    if missing:
        return f"needs {missing.group(1)}, which ketch lacks"
    lines = [_PREFIX.sub("", line).rstrip() for line in text.splitlines()]
    for line in reversed(lines):
        if _ERROR.match(line.strip()) and "CalledProcessError" not in line:
            return _short(line.strip())
    for line in reversed(lines):
        if ") failed: " in line:  # ketch's summary of a failed task
            return _short(line.strip())
    # A user error shown as a headline with its detail indented below it (ketch, Metaflow);
    # not a progress message ("Validating your flow...").
    for i in range(len(lines) - 2, -1, -1):
        head, detail = lines[i], lines[i + 1]
        if head and not head[0].isspace() and not head.endswith("...") and detail.strip():
            if detail.startswith("    "):
                return _short(f"{head.strip().rstrip(':')}: {detail.strip()}")
    for line in reversed(lines):
        if "error" in line.lower() or "failed" in line.lower():
            return _short(line.strip())
    return default


def _short(line: str, limit: int = 240) -> str:
    return line if len(line) <= limit else line[: limit - 3] + "..."


def default_python(impl: str) -> str:
    if impl == "ketch":
        return sys.executable
    return os.environ.get("KETCH_METAFLOW_PYTHON", "/tmp/mfvenv/bin/python")
