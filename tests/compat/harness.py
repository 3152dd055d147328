"""Shared machinery of the compatibility kit: run one case, then compare with its golden.

Used by ``record_golden.py`` (with Metaflow) and ``test_compat.py`` (with ketch, or with
Metaflow as a self-check of the harness).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

COMPAT_DIR = Path(__file__).resolve().parent
FLOWS_DIR = COMPAT_DIR / "flows"
GOLDEN_DIR = COMPAT_DIR / "golden"
EXTRACT = COMPAT_DIR / "extract.py"
REPO_ROOT = COMPAT_DIR.parent.parent
METAFLOW_PYTHON = "/tmp/mfvenv/bin/python"

COMMAND_TIMEOUT_S = 150
EXTRACT_TIMEOUT_S = 60


# --------------------------------------------------------------------------- preparation


def rewrite_for_ketch(source: str) -> str:
    """Swap Metaflow imports and module references for ketch ones."""
    source = re.sub(r"^(\s*)from metaflow(?=[\s.])", r"\1from ketch", source, flags=re.M)
    source = re.sub(r"^(\s*)import metaflow\b", r"\1import ketch", source, flags=re.M)
    source = re.sub(r"\bmetaflow\.", "ketch.", source)
    return source


def prepare_dir(case: Any, workdir: Path, impl: str) -> Path:
    """Copy the case's flow (rewritten for ``impl``) and data files into ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    src = (FLOWS_DIR / case.flow).read_text(encoding="utf-8")
    if impl == "ketch":
        src = rewrite_for_ketch(src)
    (workdir / case.flow).write_text(src, encoding="utf-8")
    for rel in case.files:
        s = FLOWS_DIR / rel
        d = workdir / rel
        if s.is_dir():
            shutil.copytree(s, d)
        else:
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)
    return workdir / case.flow


def clean_env(impl: str) -> dict[str, str]:
    """The environment for flow and extract processes: USER=tester and nothing that points
    either implementation at another store or identity."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("METAFLOW_", "KETCH_"))
        and k not in ("USERNAME", "SUDO_USER", "LOGNAME")
    }
    env["USER"] = "tester"
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("PYTHONPATH", None)
    if impl == "ketch":
        src = str(REPO_ROOT / "src")
        env["PYTHONPATH"] = src
    else:  # Metaflow starts the workers of a @parallel step with `python` from PATH
        env["PATH"] = os.pathsep.join([str(Path(METAFLOW_PYTHON).parent), env.get("PATH", "")])
    return env


# --------------------------------------------------------------------------- running


def _normalize_paths(text: str, workdir: Path) -> str:
    return text.replace(str(workdir.resolve()), "<FLOWDIR>").replace(str(workdir), "<FLOWDIR>")


_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?")
_PID = re.compile(r"\(pid \d+\)")
_LONG_ID = re.compile(r"(?<![\w.])\d{10,}(?![\w.])")


def normalize_output(text: str, workdir: Path) -> str:
    """Make console output stable across runs (informational only; never compared exactly)."""
    text = _normalize_paths(text, workdir)
    text = _TIMESTAMP.sub("<TS>", text)
    text = _PID.sub("(pid N)", text)
    return _LONG_ID.sub("<ID>", text)


def run_killing_group(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float, label: str = "compat harness"
) -> tuple[int | None, bytes, bytes]:
    """Run ``cmd``; on timeout kill its whole process group (flows start task processes).
    The exit code is None after a timeout, and stderr ends with a line from ``label`` saying
    so. (The Metaflow core shim uses it too.)"""
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # a grandchild left its own group holding the pipes
            proc.kill()
            out, err = b"", b""
        return None, out, err + f"\n[{label}: killed after {int(timeout)}s]\n".encode()


def run_case(
    case: Any,
    workdir: Path,
    impl: str,
    python: str,
    extra_env: dict[str, str] | None = None,
    prefix: list[str] | None = None,
    top_args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run ``case`` in ``workdir`` (which must not exist yet or be empty) and return the
    result record (the same shape as a golden file). ``prefix`` goes before the flow's command
    (e.g. ``ip netns exec NS``, to launch it where a Ray cluster is reachable); ``top_args``
    go right after the flow file (e.g. ``--with``)."""
    flow_path = prepare_dir(case, workdir, impl)
    env = clean_env(impl)
    env.update(extra_env or {})  # e.g. a datastore on S3 for ketch
    cmd = [*(prefix or []), python, flow_path.name, *top_args, *case.argv]
    t0 = time.monotonic()
    exit_code, out, err = run_killing_group(cmd, workdir, env, COMMAND_TIMEOUT_S)
    duration = time.monotonic() - t0

    ext_out = workdir / ".compat_extract.json"
    ext_code, _, ext_err = run_killing_group(
        [python, str(EXTRACT), impl, case.flow_class, "--out", str(ext_out)]
        + [arg for probe in case.probes for arg in ("--probe", probe)],
        workdir,
        env,
        EXTRACT_TIMEOUT_S,
    )
    if ext_code == 0 and ext_out.exists():
        extract = json.loads(_normalize_paths(ext_out.read_text(encoding="utf-8"), workdir))
        ext_out.unlink()
    else:
        extract = {
            "error": f"extract.py failed with exit code {ext_code!r}",
            "stderr": ext_err.decode("utf-8", "replace")[-4000:],
        }
    canonical = extract.get("canonical") or {}
    return {
        "case": case.name,
        "impl": impl,
        "flow": case.flow,
        "flow_class": case.flow_class,
        "argv": case.argv,
        "kind": case.kind,
        "exit_code": exit_code,
        "run_recorded": bool(canonical.get("run_count")),
        "duration_s": round(duration, 3),
        "command_stdout": normalize_output(out.decode("utf-8", "replace"), workdir),
        "command_stderr": normalize_output(err.decode("utf-8", "replace"), workdir),
        "extract": extract,
    }


# --------------------------------------------------------------------------- comparing


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=1, ensure_ascii=False)


def _diff(expected: Any, actual: Any, label: str) -> str:
    lines = difflib.unified_diff(
        dumps(expected).splitlines(),
        dumps(actual).splitlines(),
        fromfile="golden (metaflow) " + label,
        tofile="actual " + label,
        lineterm="",
        n=4,
    )
    return "\n".join(lines)


def _word_in(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text) is not None


def check_show(graph: dict[str, tuple[str, ...]], output: str) -> list[str]:
    """Loose check of `show`: each step is named, and each step's successors are listed
    together on one line."""
    problems = []
    lines = output.splitlines()
    for stepname, succs in graph.items():
        if not _word_in(stepname, output):
            problems.append(f"show: step {stepname!r} not mentioned")
        if succs and not any(all(_word_in(s, ln) for s in succs) for ln in lines):
            problems.append(f"show: no line lists the successors {succs} of {stepname!r}")
    return problems


def _first_raw_task(extract: dict[str, Any], step: str) -> dict[str, Any] | None:
    tasks = ((extract.get("raw") or {}).get("tasks") or {}).get(step) or []
    return tasks[0] if tasks else None


def loose_checks(case: Any, result: dict[str, Any]) -> list[str]:
    """The substring checks a case declares; they are implementation-independent."""
    problems = []
    output = result["command_stdout"] + result["command_stderr"]
    for s in case.output_contains:
        if s not in output:
            problems.append(f"command output lacks {s!r}")
    pairs = (("task_stderr_contains", "stderr"), ("exception_contains", "exception"))
    for field_name, key in pairs:
        for stepname, subs in getattr(case, field_name).items():
            raw_task = _first_raw_task(result["extract"], stepname)
            text = (raw_task or {}).get(key) or ""
            for s in subs:
                if s not in text:
                    problems.append(f"{key} of step {stepname!r} lacks {s!r}")
    return problems


def compare(
    case: Any,
    golden: dict[str, Any],
    actual: dict[str, Any],
    show_graph: dict[str, tuple[str, ...]] | None = None,
) -> list[str]:
    """Return a list of human-readable differences (empty when compatible)."""
    problems = []
    if golden["exit_code"] != actual["exit_code"]:
        problems.append(
            f"exit code: golden {golden['exit_code']!r}, actual {actual['exit_code']!r}\n"
            f"--- actual stderr (tail) ---\n{actual['command_stderr'][-3000:]}"
        )
    if golden["run_recorded"] != actual["run_recorded"]:
        problems.append(
            f"run recorded: golden {golden['run_recorded']!r}, actual {actual['run_recorded']!r}"
        )
    if "error" in actual["extract"]:
        problems.append(
            "extract failed: {}\n{}".format(
                actual["extract"]["error"], actual["extract"].get("stderr", "")
            )
        )
    elif case.kind == "run":
        g = golden["extract"]["canonical"]
        a = actual["extract"]["canonical"]
        if dumps(g) != dumps(a):
            problems.append("client API dump differs:\n" + _diff(g, a, case.name))
    problems.extend(loose_checks(case, actual))
    if case.kind == "show" and show_graph is not None:
        problems.extend(check_show(show_graph, actual["command_stdout"] + actual["command_stderr"]))
    return problems


def golden_path(case_name: str) -> Path:
    return GOLDEN_DIR / (f"{case_name}.json")


def load_golden(case_name: str) -> dict[str, Any]:
    return json.loads(golden_path(case_name).read_text(encoding="utf-8"))


def python_for(impl: str) -> str:
    override = os.environ.get("COMPAT_PYTHON")
    if override:
        return override
    return METAFLOW_PYTHON if impl == "metaflow" else sys.executable
