"""The @pypi workloads: a step environment built with uv, cold and cached.

``pypicold``: with an empty ketch environment cache, ``bench/flows/pypi.py`` (``@pypi_base``
with six and tomli, two steps in one environment) runs with ``--environment=pypi``; the
figure is the resolve + build time the run reports for its environment (uv's own download
cache is warm, as on any machine that installed these packages once). The floor is what uv
alone takes for the same packages: ``uv venv`` + ``uv pip install six==1.16.0 tomli==2.0.1``
into a fresh directory, with the same index options, measured next to each ketch run.

``pypiwarm``: the same run again on the filled cache (no uv runs): the whole run's wall time;
the floor is the same flow without ``@pypi_base`` run in the launching interpreter.

Metaflow's ``@pypi`` needs micromamba, which it downloads on first use: tried once; where that
fails, the row says so.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

from ._context import Bench
from ._proc import Completed, run
from ._results import Row

FLOW = "pypi.py"
PACKAGES = ("six==1.16.0", "tomli==2.0.1")
_BUILT = re.compile(r"resolved and built in ([0-9.]+) s")


def uv_version() -> str:
    """What the @pypi section says of uv: its version and where the packages come from."""
    import subprocess

    from ketch.pyenv._uv import index_args, uv_binary

    version = subprocess.run([uv_binary(), "--version"], capture_output=True, text=True)
    index = " ".join(index_args()) or "uv's default index (PyPI)"
    return f"{version.stdout.strip()}; index options: {index}"


def _uv_floor(bench: Bench) -> float:
    """uv venv + uv pip install of the same packages into a fresh directory (seconds)."""
    from ketch.pyenv._uv import index_args, uv_binary

    uv, target = uv_binary(), bench.scratch.fresh("uv-floor") / "venv"
    started = time.perf_counter()
    run([uv, "venv", "--quiet", str(target)], cwd=target.parent, env=bench.env, timeout_s=600)
    install = [uv, "pip", "install", "--quiet", "--python", str(target / "bin" / "python")]
    run([*install, *PACKAGES, *index_args()], cwd=target.parent, env=bench.env, timeout_s=600)
    return time.perf_counter() - started


def pypi(bench: Bench) -> None:
    cold = Row(
        "pypi.cold",
        "@pypi: environment resolved and built, empty cache (six + tomli, 2 steps)",
        "s",
        floor_label="uv venv + uv pip install",
    )
    warm = Row(
        "pypi.warm",
        "@pypi: the same run, environment cached",
        "s",
        floor_label="the flow without @pypi_base",
    )
    floors, plain, runs = [], [], []
    for _ in range(bench.options.repeats):
        cache = bench.scratch.fresh("envcache")
        cwd = bench.scratch.fresh("ketch-pypi")
        bench.ketch.install_flow(FLOW, cwd)
        done = _flow(bench, cwd, cache)
        built = _BUILT.search(done.stderr)
        if built is None:
            raise RuntimeError(f"the run did not report building its environment:\n{done.stderr}")
        cold.ketch.values.append(float(built.group(1)))
        runs.append(done.wall_s)
        floors.append(_uv_floor(bench))
        again = _flow(bench, cwd, cache)
        if "resolved and built" in again.stderr:
            raise RuntimeError("the second run built its environment again")
        warm.ketch.values.append(again.wall_s)
        plain.append(_plain(bench, cwd))
    cold.floor, warm.floor = statistics.median(floors), statistics.median(plain)
    cold.note = f"whole first run {statistics.median(runs):.2f} s; " + _metaflow(bench)
    warm.note = "no uv ran (the environment's lock and directory were found in the cache)"
    bench.results.add(cold)
    bench.results.add(warm)


def _flow(bench: Bench, cwd: Path, cache: Path) -> Completed:
    cmd = [bench.ketch.python, FLOW, "--environment=pypi", "run"]
    env = {**bench.env, "KETCH_ENV_CACHE": str(cache)}
    done = bench.command(bench.ketch, cmd, cwd, env=env)
    bench.log(f"  ketch    {FLOW} --environment=pypi run: {done.wall_s:.2f} s")
    return done


def _plain(bench: Bench, cwd: Path) -> float:
    source = (cwd / FLOW).read_text()
    plain = cwd / "plain.py"
    source = re.sub(r"^@pypi_base\(.*\)\n", "", source, flags=re.MULTILINE)
    source = re.sub(r"^ *import (six|tomli)\n", "", source, flags=re.MULTILINE)
    plain.write_text(source.replace("[six.__version__, tomli.__name__]", "[]"))
    done = bench.command(bench.ketch, [bench.ketch.python, "plain.py", "run"], cwd)
    return done.wall_s


def _metaflow(bench: Bench) -> str:
    """Metaflow's @pypi, tried once: its time, or why it could not run here."""
    if bench.metaflow is None:
        return "Metaflow not run"
    cwd = bench.scratch.fresh("metaflow-pypi")
    bench.metaflow.install_flow(FLOW, cwd)
    cmd = bench.metaflow.flow_cmd(FLOW, "--environment=pypi", "run")
    done = bench.command(bench.metaflow, cmd, cwd, check=False)
    if done.returncode == 0:
        return f"Metaflow's @pypi first run {done.wall_s:.2f} s"
    text = done.stdout + done.stderr
    reason = next((line.strip() for line in text.splitlines() if "failed" in line), "")
    return f"Metaflow's @pypi could not run here ({reason or 'exit ' + str(done.returncode)})"
