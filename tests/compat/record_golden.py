"""Record what real Metaflow does for every case, or re-check a recording.

    python tests/compat/record_golden.py                  # record all goldens with Metaflow
    python tests/compat/record_golden.py foreach_basic    # record some cases only
    python tests/compat/record_golden.py --check          # re-run with Metaflow and diff
    python tests/compat/record_golden.py --check --impl ketch   # same comparison as the tests

Each case runs in a fresh directory under /tmp/kcompat-* (outside any git repository, so
neither implementation finds a store in a parent directory). Metaflow runs with
/tmp/mfvenv/bin/python (override with COMPAT_PYTHON). ``--check`` uses exactly the code
path of ``test_compat.py`` (harness.run_case + harness.compare), so a clean ``--check
--impl metaflow`` proves that the goldens are deterministic and the comparison is sound.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from cases import CASES, CASES_BY_NAME, SHOW_GRAPHS  # noqa: E402


def fresh_workdir(case_name: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix=f"kcompat-{case_name}-", dir="/tmp"))
    inside_git = (
        subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"], cwd=d, capture_output=True
        ).returncode
        == 0
    )
    if inside_git:
        raise SystemExit(f"temp dir {d} is inside a git work tree")
    return d / "flowdir"


def sanity(case, result) -> list[str]:
    """What every recording must satisfy, whatever Metaflow's exact exit codes are."""
    problems = harness.loose_checks(case, result)
    ext = result["extract"]
    if "error" in ext:
        problems.append("extract failed: {} {}".format(ext["error"], ext.get("stderr")))
    if case.kind == "run" and not result["run_recorded"]:
        problems.append("kind=run but no run was recorded")
    if case.kind != "run" and result["run_recorded"]:
        problems.append(f"kind={case.kind} but a run was recorded")
    if case.kind in ("check", "show") and result["exit_code"] != 0:
        problems.append("kind={} exited {!r}".format(case.kind, result["exit_code"]))
    if case.kind in ("usage_error", "lint_error") and result["exit_code"] in (0, None):
        problems.append("kind={} exited {!r}".format(case.kind, result["exit_code"]))
    if case.kind == "show":
        problems.extend(
            harness.check_show(
                SHOW_GRAPHS[case.flow], result["command_stdout"] + result["command_stderr"]
            )
        )
    return problems


def run_one(case, impl: str, keep: bool):
    workdir = fresh_workdir(case.name)
    try:
        return harness.run_case(case, workdir, impl, harness.python_for(impl))
    finally:
        if not keep:
            shutil.rmtree(workdir.parent, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("cases", nargs="*", help="case names (default: all)")
    ap.add_argument("--check", action="store_true", help="compare with goldens, write nothing")
    ap.add_argument("--impl", default="metaflow", choices=("metaflow", "ketch"))
    ap.add_argument("--jobs", type=int, default=1, help="cases run at once (timings get noisy)")
    ap.add_argument("--keep", action="store_true", help="keep the /tmp/kcompat-* directories")
    args = ap.parse_args()
    if not args.check and args.impl != "metaflow":
        ap.error("goldens are recorded with Metaflow only")

    selected = [CASES_BY_NAME[n] for n in args.cases] if args.cases else CASES
    harness.GOLDEN_DIR.mkdir(exist_ok=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda c: run_one(c, args.impl, args.keep), selected))

    failed = 0
    for case, result in zip(selected, results, strict=False):
        if args.check:
            problems = harness.compare(
                case, harness.load_golden(case.name), result, SHOW_GRAPHS.get(case.flow)
            )
        else:
            problems = sanity(case, result)
            if not problems:
                harness.golden_path(case.name).write_text(
                    json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
                )
        status = "OK  " if not problems else "FAIL"
        failed += bool(problems)
        code, recorded = result["exit_code"], result["run_recorded"]
        print(
            f"{status} {case.name:<26} exit={code!s:<4} run={recorded!s:<5} "
            f"{result['duration_s']:6.2f}s"
        )
        for p in problems:
            print("    " + p.replace("\n", "\n    "))
    verdict = "match the goldens" if args.check else "recorded"
    print(f"{len(selected) - failed}/{len(selected)} cases {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
