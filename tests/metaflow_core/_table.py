"""Results on disk (one JSON file for every implementation) and the Markdown pass table."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import expected
from ._context import DISABLED_TESTS
from ._run import Outcome, Prepared

RESULTS = "results.json"
IMPLS = ("metaflow", "ketch")


def load(out: Path) -> dict[str, Any]:
    path = out / RESULTS
    if path.is_file():
        data: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return data
    return {}


def save(out: Path, prepared: Prepared, outcomes: list[Outcome]) -> dict[str, Any]:
    """Store ``outcomes`` as the results of ``prepared``'s implementation (keeping the other
    implementation's results, and this one's for tests not run this time)."""
    data = load(out)
    mine = data.setdefault(prepared.target.impl, {"python": "", "results": {}, "no_case": {}})
    mine["python"] = prepared.target.python
    mine["no_case"] = prepared.no_case
    for outcome in outcomes:
        mine["results"][outcome.test] = asdict(outcome)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULTS).write_text(json.dumps(data, indent=1, sort_keys=True), "utf-8")
    return data


def _cell(data: dict[str, Any], impl: str, test: str) -> str:
    result = data.get(impl, {}).get("results", {}).get(test)
    if result is None:
        return "-" if test not in data.get(impl, {}).get("no_case", {}) else "no case"
    return "pass" if result["passed"] else f"FAIL ({result['stage']})"


def _status(test: str) -> str:
    if test in DISABLED_TESTS:
        return "disabled"
    if test in expected.EXCLUDED:
        return "excluded"
    if test in expected.EXPECTED_PASS:
        return "expected pass"
    if test in expected.KNOWN_FAILURES:
        return "known ketch difference"
    return "not classified"


def _why(test: str) -> str:
    if test in DISABLED_TESTS:
        return DISABLED_TESTS[test]
    return expected.EXCLUDED.get(test) or expected.KNOWN_FAILURES.get(test, "")


def _seen(data: dict[str, Any], test: str, limit: int = 140) -> str:
    result = data.get("ketch", {}).get("results", {}).get(test)
    if not result or result["passed"]:
        return ""
    text = f"{result['stage']}: {result['reason']}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def markdown(data: dict[str, Any]) -> str:
    """One row per test: its graph, Metaflow's and ketch's result, why ketch fails (from
    ``expected``) and the failure ketch showed (the stage and its most telling line)."""
    tests: set[str] = set()
    for impl in IMPLS:
        tests |= set(data.get(impl, {}).get("results", {}))
        tests |= {t for t in data.get(impl, {}).get("no_case", {}) if not t.startswith("(")}
    rows = [
        "| test | graph | Metaflow | ketch | class | why | failure seen on ketch |",
        "|---|---|---|---|---|---|---|",
    ]
    for test in sorted(tests):
        graph = ""
        for impl in IMPLS:
            graph = graph or data.get(impl, {}).get("results", {}).get(test, {}).get("graph", "")
        cells = [
            test,
            graph,
            _cell(data, "metaflow", test),
            _cell(data, "ketch", test),
            _status(test),
            _why(test),
            _seen(data, test),
        ]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
