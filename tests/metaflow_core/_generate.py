"""Enumerate the harness's tests and graphs; write each valid (test, graph) flow as JSON.

Run as a script by the python under test, in a prepared copy of Metaflow's ``test/core``:
``PYTHON _generate.py CORE_DIR OUT_JSON``. It imports the copy's own ``metaflow_test``
formatter (so it sees the copy's rewritten imports) and nothing from this package, because
the python may be Metaflow's, which has no ketch.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from typing import Any


def _graphs(core: str) -> list[dict[str, Any]]:
    root = os.path.join(core, "graphs")
    graphs = []
    for name in sorted(os.listdir(root)):
        if name.endswith(".json") and not name.startswith("."):
            with open(os.path.join(root, name), encoding="utf-8") as f:
                graph = json.load(f)
            graph["file"] = name[: -len(".json")]
            graphs.append(graph)
    return graphs


def _tests(core: str, errors: dict[str, str]) -> list[Any]:
    from metaflow_test import MetaflowTest  # type: ignore[import-not-found]

    root = os.path.join(core, "tests")
    sys.path.insert(0, root)
    found = []
    for name in sorted(os.listdir(root)):
        if not name.endswith(".py") or name.startswith("."):
            continue
        try:
            module = importlib.import_module(name[: -len(".py")])
        except Exception as exc:
            errors[name[: -len(".py")]] = f"{type(exc).__name__}: {exc}"
            continue
        for attr in dir(module):
            obj = getattr(module, attr)
            if (
                isinstance(obj, type)
                and issubclass(obj, MetaflowTest)
                and obj is not MetaflowTest
                and obj.__module__ == module.__name__
            ):
                found.append(obj())
    return found


def _case(formatter_cls: Any, graph: dict[str, Any], test: Any) -> dict[str, Any]:
    try:
        formatter = formatter_cls(graph, test)
    except Exception as exc:
        return {"valid": False, "why_invalid": f"{type(exc).__name__}: {exc}"}
    if not formatter.valid:
        return {"valid": False, "why_invalid": "the test's steps do not fit this graph"}
    return {
        "valid": True,
        "flow_name": formatter.flow_name,
        "flow_code": formatter.flow_code,
        "check_code": formatter.check_code,
        "should_fail": bool(formatter.should_fail),
        "should_resume": bool(formatter.should_resume),
        "resume_step": formatter.resume_step,
        "copy_files": list(formatter.copy_files),
    }


def main(core: str, out: str) -> None:
    sys.path.insert(0, core)
    os.chdir(core)
    errors: dict[str, str] = {}
    try:
        from metaflow_test.formatter import FlowFormatter  # type: ignore[import-not-found]

        tests = _tests(core, errors)
    except Exception:
        errors["metaflow_test"] = traceback.format_exc()
        tests = []
    result: dict[str, Any] = {"import_errors": errors, "graphs": {}, "tests": {}}
    graphs = _graphs(core)
    for graph in graphs:
        result["graphs"][graph["name"]] = graph["file"]
    for test in tests:
        name = type(test).__name__
        result["tests"][name] = {
            "module": type(test).__module__,
            "priority": getattr(test, "PRIORITY", 0),
            "cases": {g["name"]: _case(FlowFormatter, g, test) for g in graphs},
        }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
