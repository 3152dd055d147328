"""What every workload needs: the options, the two frameworks, scratch dirs and a runner."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from ._env import Framework, Scratch
from ._memory import SampleMode
from ._proc import BenchError, Completed, run
from ._results import Results

# Metaflow repeats per workload (ketch uses --repeats); slow workloads get fewer.
METAFLOW_REPEATS = {
    "linear10": 3,
    "foreach100": 2,
    "foreach1000": 1,
    "nested": 2,
    "bigarray": 1,
    "compressible": 1,
    "client": 3,
    "resume": 2,
    "resume1000": 1,
    "s3foreach100": 1,
    "s3bigarray": 1,
    "s3client": 1,
    "rayforeach100": 2,
    "rayforeach1000": 1,
}
KETCH_TIMEOUT_S = 600.0
METAFLOW_TIMEOUT_S = 3600.0


@dataclass(frozen=True)
class Options:
    quick: bool
    repeats: int  # ketch repeats of each flow workload
    mf_repeats: int | None  # explicit Metaflow repeats (else METAFLOW_REPEATS, capped by repeats)
    only: frozenset[str] | None
    no_metaflow: bool
    keep: bool
    client_runs: int
    s3_server: str = "seaweedfs"  # the local S3 server of the S3 workloads
    ui100k_dir: Path | None = None  # where the ui100k run is kept between sessions
    ui100k_width: int = 100_000  # the ui100k foreach's width

    def wants(self, name: str) -> bool:
        return self.only is None or name in self.only


class Bench:
    """The shared state of one benchmark session."""

    def __init__(
        self, options: Options, ketch: Framework, metaflow: Framework | None, env: dict[str, str]
    ) -> None:
        self.options = options
        self.ketch = ketch
        self.metaflow = metaflow
        self.env = env
        self.scratch = Scratch(keep=options.keep)
        self.results = Results()
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.floors: dict[str, float] = {}

    @property
    def frameworks(self) -> list[Framework]:
        return [self.ketch] + ([self.metaflow] if self.metaflow else [])

    def repeats(self, fw: Framework, workload: str) -> int:
        if workload == "import":  # cheap and noisy: more runs, the same for both
            return 5 if self.options.quick else max(10, self.options.repeats)
        if fw.name == "ketch":
            return self.options.repeats
        if self.options.mf_repeats is not None:
            return self.options.mf_repeats
        default = METAFLOW_REPEATS.get(workload, 1)
        return 1 if self.options.quick else min(default, self.options.repeats)

    def alternate(self, workload: str) -> Iterator[tuple[int, Framework]]:
        """(repeat index, framework) pairs, ketch and Metaflow taking turns."""
        counts = {fw.name: self.repeats(fw, workload) for fw in self.frameworks}
        for i in range(max(counts.values())):
            for fw in self.frameworks:
                if i < counts[fw.name]:
                    yield i, fw

    def log(self, message: str) -> None:
        self.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")

    def command(
        self,
        fw: Framework,
        cmd: Sequence[str],
        cwd: Path,
        *,
        sample: SampleMode | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
    ) -> Completed:
        timeout = KETCH_TIMEOUT_S if fw.name == "ketch" else METAFLOW_TIMEOUT_S
        # Write back what earlier commands left dirty (a deleted Metaflow store is thousands
        # of files) before the clock starts, so no command pays for the one before it.
        os.sync()
        return run(cmd, cwd=cwd, env=env or self.env, timeout_s=timeout, sample=sample, check=check)

    def flow_run(
        self,
        fw: Framework,
        flow: str,
        args: Sequence[str] = (),
        *,
        cwd: Path | None = None,
        sample: SampleMode | None = None,
        verb: str = "run",
        env: dict[str, str] | None = None,
        check: bool = True,
        prefix: Sequence[str] = (),
    ) -> tuple[Completed, Path]:
        """Run ``flows/<flow>`` with ``fw`` in ``cwd`` (a fresh directory when not given);
        ``prefix`` goes before the command line (``ip netns exec NS`` for a Ray cluster's)."""
        if cwd is None:
            cwd = self.scratch.fresh(f"{fw.name}-{Path(flow).stem}")
        if not (cwd / flow).exists():
            fw.install_flow(flow, cwd)
        cmd = [*prefix, *fw.flow_cmd(flow, verb, *args)]
        done = self.command(fw, cmd, cwd, sample=sample, env=env, check=check)
        if check and verb == "run" and "for user:bench" not in done.stdout + done.stderr:
            raise BenchError(f"{fw.name} {flow}: the output never says 'for user:bench'.")
        mark = "." if done.returncode == 0 else "x"
        self.log(f"  {fw.name:8s} {flow} {verb} {' '.join(args)}: {done.wall_s:.2f} s {mark}")
        return done, cwd


def warm_up(bench: Bench) -> None:
    """Run a tiny flow once per framework so every module's bytecode is cached (not timed)."""
    for fw in bench.frameworks:
        done, cwd = bench.flow_run(fw, "tiny.py")
        bench.scratch.discard(cwd)


def pycache_env(env: dict[str, str], scratch_root: Path) -> dict[str, str]:
    """Cache bytecode under the scratch root for both frameworks (see docs/benchmarks.md)."""
    env = dict(env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch_root / "pycache")
    return env


def python_version() -> str:
    return sys.version.split()[0]


def nproc() -> int:
    return len(os.sched_getaffinity(0))
