"""Dump what a flow's latest run looks like through the public Client API.

Usage::

    PYTHON extract.py MODULE FLOWNAME [--out FILE] [--probe NAME]...

MODULE is ``metaflow`` or ``ketch``. Run it in the directory the flow ran in (the Client API
finds the local store from the current directory). It prints (or writes to FILE) one JSON
document with two parts:

``canonical``
    Everything both implementations must answer identically: run status, user tags, steps
    (sorted by name), their tasks, public artifact names and values in a canonical JSON form,
    task stdout/stderr, exception type and message. No ids, times, paths or versions.

``raw``
    Free-form text that is *not* compared for equality (full stderr of failed tasks, exception
    text with its traceback, system tags). Test cases use it for loose substring checks.

``--probe NAME`` adds ``canonical["probes"][NAME]``: more of the Client API, for the cases that
ask for it (see ``probes.py``).

Only the public Client API shared by Metaflow and ketch is used: ``Flow``, ``namespace``,
iteration over flows/runs/steps/tasks/artifacts, ``Flow.latest_run``, ``Run.successful``,
``Run.finished``, ``Run.data``, ``Run.tags``, ``Run.user_tags``, ``run[step].task``,
``Task.index``, ``Task.successful``, ``Task.finished``, ``Task.data``, ``Task.artifacts``,
``task[name].data``, ``Task.stdout``, ``Task.stderr``, ``Task.exception``, ``.pathspec``, ``.id``.
"""

from __future__ import annotations

import builtins
import importlib
import json
import math
import re
import sys
from typing import Any

# --------------------------------------------------------------------------- canonical values


def _key(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=True)


def canon(value: Any, _depth: int = 0) -> Any:
    """Turn a Python value into JSON that keeps its type distinctions.

    Plain JSON types stay as they are (dicts with string keys keep insertion order); the rest
    become one-key objects whose key starts with ``$``: ``$tuple``, ``$set``, ``$frozenset``,
    ``$bytes`` (hex), ``$dict`` (non-string keys), ``$float`` (nan/inf), ``$ndarray``,
    ``$npscalar``, ``$exception`` and, for anything else, ``$object`` (type name only).
    """
    if _depth > 50:
        return {"$too_deep": True}
    d = _depth + 1
    # numpy first: np.float64 subclasses float, np.str_ subclasses str.
    mod = type(value).__module__ or ""
    if mod == "numpy" or mod.startswith("numpy."):
        if type(value).__name__ == "ndarray" and hasattr(value, "tolist"):
            return {
                "$ndarray": {
                    "dtype": str(value.dtype),
                    "shape": list(value.shape),
                    "data": canon(value.tolist(), d),
                }
            }
        if hasattr(value, "dtype") and hasattr(value, "item"):
            return {"$npscalar": {"dtype": str(value.dtype), "value": canon(value.item(), d)}}
    if value is None or isinstance(value, (bool, str)):
        return value if type(value) in (bool, str) or value is None else str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return float(value)
        return {"$float": repr(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, tuple):
        return {"$tuple": [canon(x, d) for x in value]}
    if isinstance(value, list):
        return [canon(x, d) for x in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: canon(v, d) for k, v in value.items()}
        return {"$dict": [[canon(k, d), canon(v, d)] for k, v in value.items()]}
    if isinstance(value, (set, frozenset)):
        tag = "$frozenset" if isinstance(value, frozenset) else "$set"
        return {tag: sorted((canon(x, d) for x in value), key=_key)}
    if isinstance(value, BaseException):
        return {"$exception": type(value).__name__, "args": canon(list(value.args), d)}
    return {"$object": f"{mod}.{type(value).__qualname__}"}


# --------------------------------------------------------------------------- exceptions

_EXC_HEADER = re.compile(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$")


def parse_exception_text(text: str) -> tuple[str, str] | None:
    """Find the ``Type: message`` part of a rendered exception (the text after the last
    traceback frame, or the whole text when there is no traceback; Metaflow's exception
    wrapper renders one without a traceback after a ``[no stacktrace]`` line). The message
    may span several lines. Returns ``(qualified type name, message)`` or None."""
    lines = text.rstrip().splitlines()
    start = 0
    for i, ln in enumerate(lines):
        if ln.startswith(("  File ", "Traceback (", "[no stacktrace]")):
            start = i + 1
    while start < len(lines) and (not lines[start].strip() or lines[start][0].isspace()):
        start += 1
    if start >= len(lines):
        return None
    m = _EXC_HEADER.match(lines[start].rstrip())
    if not m:
        return None
    message = "\n".join([m.group(2) or ""] + lines[start + 1 :]).rstrip()
    return m.group(1), message


def canon_exception(exc: Any) -> Any:
    """Canonical form of ``Task.exception``.

    ``str()`` of the exception must contain the usual Python ``Type: message`` part (a
    traceback before it is allowed, as Metaflow renders it), unless the object is the original
    built-in exception itself. For built-in exception
    types the type name and message are recorded; for framework-specific types (whose class
    names legitimately differ) only the fact that it is not a built-in is recorded and the
    text goes to ``raw``.
    """
    if exc is None:
        return None
    if isinstance(exc, BaseException) and type(exc).__module__ == "builtins":
        # An implementation may hand back the original exception object itself.
        return {"type": type(exc).__name__, "message": str(exc)}
    parsed = parse_exception_text(str(exc))
    if parsed is None:
        return {"type": "$unparsed", "message": None}
    qual, message = parsed
    type_name = qual.rsplit(".", 1)[-1]
    builtin = getattr(builtins, type_name, None)
    is_builtin = (
        qual in (type_name, "builtins." + type_name)
        and isinstance(builtin, type)
        and issubclass(builtin, BaseException)
    )
    if is_builtin:
        return {"type": type_name, "message": message}
    return {"type": "$non_builtin", "message": None}


# --------------------------------------------------------------------------- extraction


def _safe(fn: Any, default: Any = "$error") -> Any:
    try:
        return fn()
    except Exception as ex:  # noqa: BLE001 - record, never crash
        _ERRORS.append(f"{type(ex).__name__}: {ex}")
        return default


_ERRORS: list[str] = []


_LOG_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ", re.MULTILINE)


def _untimed(text: Any) -> Any:
    """A task's log without the timestamps some framework lines carry (Metaflow's own logger
    writes e.g. "2024-01-01 12:00:00.000 Step x timed out ..." into the task's stdout)."""
    return _LOG_TIMESTAMP.sub("", text) if isinstance(text, str) else text


def extract_task(task: Any, flow_name: str, raw_task: dict[str, Any]) -> dict[str, Any]:
    successful = _safe(lambda: bool(task.successful))
    finished = _safe(lambda: bool(task.finished))
    index = _safe(lambda: task.index)

    arts = _safe(lambda: list(task), [])
    names = sorted(a.id for a in arts)
    by_name = {a.id: a for a in arts}
    values = {n: _safe(lambda n=n: canon(by_name[n].data)) for n in names}

    # The same artifacts must be reachable through every public access path.
    listing_names = _safe(lambda: sorted(a.id for a in task.artifacts), None)
    consistent = listing_names == names
    for n in names:
        via_item = _safe(lambda n=n: canon(task[n].data), "$missing")
        via_data = _safe(lambda n=n: canon(getattr(task.data, n)), "$missing")
        if _key(via_item) != _key(values[n]) or _key(via_data) != _key(values[n]):
            consistent = False
    pathspec = _safe(lambda: str(task.pathspec), "")
    parts = pathspec.split("/")

    stdout = _safe(lambda: _untimed(task.stdout))
    stderr = _safe(lambda: task.stderr)
    exc = _safe(lambda: task.exception)
    raw_task["stdout"] = stdout
    raw_task["stderr"] = stderr
    raw_task["exception"] = None if exc is None else str(exc)

    entry: dict[str, Any] = {
        "index": index,
        "successful": successful,
        "finished": finished,
        "pathspec_ok": len(parts) == 4
        and parts[0] == flow_name
        and parts[3] == _safe(lambda: str(task.id), None),
        "artifact_names": names,
        "artifacts": values,
        "artifact_access_consistent": consistent,
        "stdout": stdout,
        "exception": _safe(lambda: canon_exception(exc)),
    }
    if exc is None and successful is True:
        entry["stderr"] = stderr
    else:
        # A failed task's stderr holds a traceback whose frames are implementation-specific.
        # Compare only the user's own lines before it, and that the traceback mentions the
        # exception line.
        text = stderr if isinstance(stderr, str) else ""
        cexc = entry["exception"]
        entry["stderr"] = "$failed-task"
        entry["stderr_has_traceback"] = "Traceback (most recent call last):" in text
        if isinstance(cexc, dict) and cexc.get("message") is not None:
            line = "{}: {}".format(cexc["type"], cexc["message"])
            entry["stderr_has_exception_line"] = line in text
        else:
            entry["stderr_has_exception_line"] = None
    return entry


def extract(module_name: str, flow_name: str, probes: list[str] | None = None) -> dict[str, Any]:
    mod = importlib.import_module(module_name)
    Flow = mod.Flow
    namespace = mod.namespace

    canonical: dict[str, Any] = {"flow_name": flow_name}
    raw: dict[str, Any] = {"tasks": {}}

    # Runs are made with USER=tester; the default namespace (user:tester) must see them.
    default_ns_run = _safe(lambda: Flow(flow_name).latest_run, None)
    canonical["default_namespace_sees_latest_run"] = default_ns_run is not None

    namespace(None)
    flow = _safe(lambda: Flow(flow_name), None)
    canonical["flow_found"] = flow is not None
    runs = _safe(lambda: list(flow), []) if flow is not None else []
    canonical["run_count"] = len(runs)
    if not runs:
        canonical["run"] = None
        raw["errors_ignored"] = list(_ERRORS)
        return {"canonical": canonical, "raw": raw}

    latest = _safe(lambda: flow.latest_run, None)
    run = latest if latest is not None else runs[0]
    run_ps = _safe(lambda: str(run.pathspec), "")
    r: dict[str, Any] = {
        "latest_run_is_a_listed_run": latest is not None
        and run_ps in [_safe(lambda x=x: str(x.pathspec), "?") for x in runs],
        "successful": _safe(lambda: bool(run.successful)),
        "finished": _safe(lambda: bool(run.finished)),
        "user_tags": _safe(lambda: sorted(run.user_tags)),
    }
    tags = _safe(lambda: set(run.tags), set())
    r["user_tags_in_tags"] = set(r["user_tags"] or []) <= tags
    r["has_user_system_tag"] = "user:tester" in tags
    raw["tags"] = sorted(tags)

    steps = _safe(lambda: list(run), [])
    step_names = sorted(s.id for s in steps)
    r["step_names"] = step_names
    out_steps: dict[str, Any] = {}
    ordered: dict[str, list[Any]] = {}  # the tasks of each step, in the order of out_steps
    shortcut_ok: dict[str, bool] = {}
    for s in sorted(steps, key=lambda s: s.id):
        tasks = _safe(lambda s=s: list(s), [])
        entries = []
        for t in tasks:
            raw_t: dict[str, Any] = {}
            e = extract_task(t, flow_name, raw_t)
            entries.append((e, raw_t, t))
        # Iteration order depends on task ids (i.e. on scheduling); use a content order.
        entries.sort(
            key=lambda er: (er[0]["index"] if isinstance(er[0]["index"], int) else -1, _key(er[0]))
        )
        out_steps[s.id] = [e for e, _, _ in entries]
        raw["tasks"][s.id] = [rt for _, rt, _ in entries]
        ordered[s.id] = [t for _, _, t in entries]
        task_ps = {_safe(lambda t=t: str(t.pathspec), "?") for t in tasks}
        shortcut_ok[s.id] = _safe(lambda s=s: str(run[s.id].task.pathspec), None) in task_ps
    r["steps"] = out_steps
    r["step_task_shortcut_ok"] = shortcut_ok

    data = _safe(lambda: run.data, None)
    if data is None or "end" not in out_steps or not out_steps["end"]:
        r["data"] = None if data is None else "$present"
    else:
        names = out_steps["end"][0]["artifact_names"]
        r["data"] = {n: _safe(lambda n=n: canon(getattr(data, n))) for n in names}
    canonical["run"] = r
    if probes:
        from probes import Context, run_probes

        context = Context(mod, flow_name, run, ordered, _safe, canon)
        canonical["probes"] = run_probes(context, probes)
    raw["errors_ignored"] = list(_ERRORS)
    return {"canonical": canonical, "raw": raw}


def main(argv: list[str]) -> int:
    args = list(argv)
    out = None
    if "--out" in args:
        i = args.index("--out")
        out = args[i + 1]
        del args[i : i + 2]
    probes = []
    while "--probe" in args:
        i = args.index("--probe")
        probes.append(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        sys.stderr.write("usage: extract.py MODULE FLOWNAME [--out FILE] [--probe NAME]...\n")
        return 2
    result = extract(args[0], args[1], probes)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if out:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
