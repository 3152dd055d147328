"""``python -m tests.metaflow_core``: run Metaflow's core tests and write the pass table."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import _table, expected
from ._run import CHECKOUT_ENV, Outcome, Prepared, Target, default_python, prepare, run_case


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.metaflow_core",
        description="Run Metaflow's test/core tests (one graph each) on ketch and/or Metaflow.",
    )
    parser.add_argument("--checkout", default=os.environ.get(CHECKOUT_ENV), help=CHECKOUT_ENV)
    parser.add_argument(
        "--impl", action="append", choices=["ketch", "metaflow"], help="(default: both)"
    )
    parser.add_argument("--ketch-python", default=default_python("ketch"))
    parser.add_argument("--metaflow-python", default=default_python("metaflow"))
    parser.add_argument("--tests", default="", help="comma-separated test class names")
    parser.add_argument(
        "--expected", action="store_true", help="only the tests expected to pass on ketch"
    )
    parser.add_argument(
        "--executor",
        choices=["cli", "api"],
        default="cli",
        help="run flows with the CLI (default) or through the Runner API",
    )
    parser.add_argument("--jobs", type=int, default=2, help="tests at once (default 2)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per command")
    parser.add_argument("--out", default="build/metaflow-core", help="results, table and logs")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if not args.checkout:
        parser.error(f"pass --checkout or set {CHECKOUT_ENV} (a folder holding test/core)")
    return args


def _selected(prepared: Prepared, args: argparse.Namespace) -> list[str]:
    names = sorted(prepared.cases)
    if args.tests:
        wanted = {t.strip() for t in args.tests.split(",") if t.strip()}
        names = [n for n in names if n in wanted]
    if args.expected:
        names = [n for n in names if n in expected.EXPECTED_PASS]
    return names


def _run_impl(target: Target, args: argparse.Namespace, work: Path, out: Path) -> None:
    prepared = prepare(args.checkout, target, work)
    names = _selected(prepared, args)
    print(f"[{target.impl}] {len(names)} tests with {target.python}", flush=True)

    def one(name: str) -> Outcome:
        case = prepared.cases[name]
        log = out / "logs" / target.impl / f"{name}.log"
        casedir = work / target.impl / "cases" / name
        outcome = run_case(prepared, case, casedir, log, args.timeout, args.executor)
        verdict = "pass" if outcome.passed else f"FAIL at {outcome.stage}: {outcome.reason}"
        print(
            f"[{target.impl}] {name} ({case.graph}, {outcome.seconds:.1f}s): {verdict}", flush=True
        )
        return outcome

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(one, names))
    wall = time.monotonic() - started
    passed = sum(o.passed for o in outcomes)
    print(f"[{target.impl}] {passed}/{len(outcomes)} passed; wall time {wall:.1f}s", flush=True)
    _table.save(out, prepared, outcomes)


def main(argv: list[str]) -> int:
    args = _parse(argv)
    out = Path(args.out).resolve()
    work = Path(tempfile.mkdtemp(prefix="metaflow-core-"))
    try:
        for impl in args.impl or ["metaflow", "ketch"]:
            python = args.ketch_python if impl == "ketch" else args.metaflow_python
            _run_impl(Target(impl, python), args, work, out)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    table = _table.markdown(_table.load(out))
    (out / "table.md").write_text(table, "utf-8")
    print(table)
    print(f"results: {out / _table.RESULTS}; table: {out / 'table.md'}; logs: {out / 'logs'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
