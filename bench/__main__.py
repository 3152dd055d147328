"""``python -m bench``: run the benchmark suite on ketch and Metaflow and report the figures."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import _bigdata, _data, _metrics, _pypi, _ray, _s3, _timing, _ui, _ui100k
from ._context import METAFLOW_REPEATS, Bench, Options, nproc, pycache_env, warm_up
from ._docs import write_docs
from ._env import clean_env, framework_version, ketch, metaflow
from ._floors import fork_floors, python_start
from ._machine import describe
from ._proc import BenchError
from ._report import load_json, print_report, write_json
from ._results import Row
from ._targets import targets

Workload = Callable[[Bench], None]
# Skipped by --quick:
SLOW = ("foreach1000", "bigarray", "compressible", "resume1000", "scheduler10k", "ui1000")
# Run only when asked for (--s3, or named in --only): each needs an S3 server.
S3 = ("s3foreach100", "s3bigarray", "s3client")
# Run only when asked for (--ray, or named in --only): each needs the local Ray cluster.
RAY = ("rayfloor", "rayforeach100", "rayforeach1000", "rayscheduler10k")
# Run only when asked for (--pypi, or named in --only): builds @pypi environments with uv.
PYPI = ("pypi",)
# Run only when named in --only: a 100,000-task foreach (minutes), then its pages in Chromium.
ON_REQUEST = ("ui100k",)


def workloads(
    cores: int, s3: _s3.S3Session | None = None, ray: _ray.RaySession | None = None
) -> dict[str, Workload]:
    def on_ray(fn: Callable[[Bench, _ray.RaySession], None]) -> Workload:
        def run(bench: Bench) -> None:
            assert ray is not None
            fn(bench, ray)

        return run

    def on_s3(fn: Callable[[Bench, _s3.S3Session], None]) -> Workload:
        def run(bench: Bench) -> None:
            assert s3 is not None
            fn(bench, s3)

        return run

    return {
        "import": _timing.import_time,
        "linear10": lambda b: _timing.linear10(b, cores),
        "foreach100": lambda b: _timing.foreach100(b, cores),
        "nested": lambda b: _timing.nested(b, cores),
        "foreach1000": lambda b: _timing.foreach1000(b, cores),
        "bigarray": _bigdata.big_array,
        "compressible": _bigdata.compressible,
        "client": _data.client,
        "resume": lambda b: _timing.resume(b, cores),
        "resume1000": lambda b: _timing.resume1000(b, cores),
        "scheduler10k": lambda b: _data.scheduler10k(b, cores),
        "ui1000": _ui.ui1000,
        "metrics10k": _metrics.metrics10k,
        "s3foreach100": on_s3(lambda b, s: _s3.foreach100(b, s, cores)),
        "s3bigarray": on_s3(_s3.big_array),
        "s3client": on_s3(_s3.client),
        "rayfloor": on_ray(_ray.floor),
        "rayforeach100": on_ray(lambda b, r: _ray.foreach(b, r, 100)),
        "rayforeach1000": on_ray(lambda b, r: _ray.foreach(b, r, 1000)),
        "rayscheduler10k": on_ray(_ray.scheduler10k),
        "pypi": _pypi.pypi,
        "ui100k": _ui100k.ui100k,
    }


def parse(argv: list[str]) -> argparse.Namespace:
    names = ", ".join(workloads(1))
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"3 ketch runs, 1 Metaflow run; skip {', '.join(SLOW)}.",
    )
    p.add_argument("--only", default=None, help=f"Comma-separated workloads: {names}.")
    p.add_argument(
        "--s3",
        action="store_true",
        help=f"Run the S3 workloads ({', '.join(S3)}), which --only may also name; "
        "without either they are not run.",
    )
    p.add_argument(
        "--ray",
        action="store_true",
        help=f"Run the Ray workloads ({', '.join(RAY)}) on a 2-node Ray cluster started on "
        "this machine (needs root); --only may also name them; without either they are not run.",
    )
    p.add_argument(
        "--pypi",
        action="store_true",
        help="Run the @pypi workload (environments built with uv, cold and cached); --only "
        "may also name it; without either it is not run.",
    )
    p.add_argument(
        "--s3-server",
        choices=_s3.SERVERS,
        default=_s3.SERVERS[0],
        help="The local S3 server the S3 workloads start (default: seaweedfs).",
    )
    p.add_argument(
        "--ui100k-dir",
        type=Path,
        default=None,
        help="Keep the ui100k run in this directory and reuse it in later sessions.",
    )
    p.add_argument(
        "--ui100k-width",
        type=int,
        default=100_000,
        help="Width of the ui100k foreach (100,000; smaller to try the workload quickly).",
    )
    p.add_argument("--repeats", type=int, default=None, help="ketch runs per workload (5).")
    p.add_argument(
        "--mf-repeats",
        type=int,
        default=None,
        help="Metaflow runs per workload (default: 1-3 depending on the workload).",
    )
    p.add_argument("--no-metaflow", action="store_true", help="Run ketch only.")
    p.add_argument(
        "--metaflow-venv",
        type=Path,
        default=Path("/tmp/mfvenv"),
        help="Venv with Metaflow 2.19; created and filled when missing.",
    )
    p.add_argument("--client-runs", type=int, default=None, help="Runs for the Client (100).")
    p.add_argument("--keep", action="store_true", help="Keep the scratch directories.")
    p.add_argument("--write-docs", action="store_true", help="Regenerate docs/benchmarks.md.")
    p.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="Report (and with --write-docs, document) a saved session; run nothing.",
    )
    args = p.parse_args(argv)
    unknown = set(args.only.split(",")) - set(workloads(1)) if args.only else set()
    if unknown:
        p.error(f"unknown workload(s) {', '.join(sorted(unknown))}; choose from {names}")
    return args


def options(args: argparse.Namespace) -> Options:
    only = set(args.only.split(",")) if args.only else set()
    if args.s3:
        only |= set(S3)
    if args.ray:
        only |= set(RAY)
    if args.pypi:
        only |= set(PYPI)
    return Options(
        quick=args.quick,
        repeats=args.repeats or (3 if args.quick else 5),
        mf_repeats=args.mf_repeats,
        only=frozenset(only) or None,
        no_metaflow=args.no_metaflow,
        keep=args.keep,
        client_runs=args.client_runs or (20 if args.quick else 100),
        s3_server=args.s3_server,
        ui100k_dir=args.ui100k_dir.resolve() if args.ui100k_dir else None,
        ui100k_width=args.ui100k_width,
    )


def run_all(bench: Bench) -> tuple[str | None, str | None]:
    """Run the chosen workloads; returns the S3 server and the Ray cluster used, if any."""
    s3 = _s3.S3Session(bench, bench.options.s3_server)
    ray = _ray.RaySession(bench)
    try:
        _run_chosen(bench, s3, ray)
        return s3.describe(), ray.describe()
    finally:
        try:
            ray.close()
        finally:
            s3.close()


def chosen(options: Options, name: str) -> bool:
    """Whether the session runs workload ``name`` (S3 ones only when asked for by name)."""
    if name in S3 + RAY + PYPI + ON_REQUEST:
        return name in (options.only or ())
    skip_slow = options.quick and options.only is None
    return options.wants(name) and not (skip_slow and name in SLOW)


def _run_chosen(bench: Bench, s3: _s3.S3Session, ray: _ray.RaySession) -> None:
    cores = nproc()
    todo = [
        (name, fn) for name, fn in workloads(cores, s3, ray).items() if chosen(bench.options, name)
    ]
    bench.log("warming up (bytecode caches), measuring the floors")
    warm_up(bench)
    python_start(bench)
    fork_floors(bench)
    for name, fn in todo:
        bench.log(f"[bold]{name}[/bold]")
        before = set(bench.results.rows)
        try:
            fn(bench)
        except (BenchError, RuntimeError, ValueError, KeyError) as exc:
            _record_failure(bench, name, before, exc)


def _record_failure(bench: Bench, name: str, before: set[str], exc: Exception) -> None:
    message = f"{type(exc).__name__}: {exc}"
    bench.console.print(f"[red bold]{name} FAILED[/red bold]", markup=True)
    bench.console.print(message, markup=False, highlight=False)
    new = [row for key, row in bench.results.rows.items() if key not in before]
    target = next((r for r in new if not r.ketch or not r.metaflow), None)
    if target is None:
        target = bench.results.add(Row(f"{name}.failed", name, "s"))
    bench.results.fail(target, message)


def repeats_note(bench: Bench) -> str:
    o = bench.options
    mf = (
        "not run"
        if bench.metaflow is None
        else (
            f"{o.mf_repeats}"
            if o.mf_repeats is not None
            else ", ".join(
                f"{k} {bench.repeats(bench.metaflow, k)}" for k in METAFLOW_REPEATS if chosen(o, k)
            )
            or "none timed"
        )
    )
    imports = bench.repeats(bench.ketch, "import")
    return f"Runs per figure: import {imports} each; ketch {o.repeats}; Metaflow {mf}."


def main(argv: list[str]) -> int:
    args = parse(argv)
    command = "python -m bench" + ("" if not argv else " " + shlex.join(argv))
    if args.from_json:
        results, saved = load_json(args.from_json)
        found = targets(results)
        print_report(results, found, saved.get("repeats_note", ""))
        if args.write_docs:
            print(f"wrote {write_docs(results, found, saved)}")
        return 1 if results.failures else 0
    opts = options(args)
    env = clean_env()
    mf = None if opts.no_metaflow else metaflow(args.metaflow_venv)
    bench = Bench(opts, ketch(), mf, env)
    bench.env = pycache_env(env, bench.scratch.root)
    machine = describe({fw.name: framework_version(fw) for fw in bench.frameworks})
    started, load_before = time.time(), os.getloadavg()
    try:
        s3_server, ray_cluster = run_all(bench)
    finally:
        bench.scratch.close()
    found = targets(bench.results)
    meta: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "command": command,
        "machine": machine,
        "loadavg": {"before": load_before, "after": os.getloadavg()},
        "options": {k: sorted(v) if isinstance(v, frozenset) else v for k, v in vars(opts).items()},
        "repeats_note": repeats_note(bench),
        "floors_s": bench.floors,
        "s3_server": s3_server,
        "ray_cluster": ray_cluster,
        "uv": _pypi.uv_version() if chosen(opts, "pypi") else None,
        "browser": _ui100k.browser_version() if chosen(opts, "ui100k") else None,
    }
    print_report(bench.results, found, meta["repeats_note"])
    path = write_json(bench.results, found, meta)
    print(f"results: {path} ({meta['duration_s']:.0f} s)")
    if args.write_docs:
        print(f"wrote {write_docs(bench.results, found, meta)}")
    return 1 if bench.results.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
