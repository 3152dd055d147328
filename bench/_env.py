"""The two frameworks under test, the scratch Metaflow venv and the clean environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

METAFLOW_SPEC = "metaflow==2.19.*"
FLOWS_DIR = Path(__file__).resolve().parent / "flows"
_IMPORT = re.compile(r"^from metaflow import ", re.MULTILINE)


@dataclass(frozen=True)
class Framework:
    name: str  # "ketch" | "metaflow"
    python: str
    module: str  # what ``import X`` loads
    top_args: tuple[str, ...]  # options before the command (Metaflow's --no-pylint)

    def flow_cmd(self, flow_file: str, *args: str) -> list[str]:
        return [self.python, flow_file, *self.top_args, *args]

    def install_flow(self, name: str, directory: Path) -> str:
        """Copy ``flows/<name>`` into ``directory``, rewriting the import line for ketch."""
        text = (FLOWS_DIR / name).read_text()
        if self.name == "ketch":
            text, count = _IMPORT.subn("from ketch import ", text)
            if count != 1:
                raise RuntimeError(f"{name}: expected one 'from metaflow import' line")
        (directory / name).write_text(text)
        return name


def ketch() -> Framework:
    return Framework("ketch", sys.executable, "ketch", ())


def metaflow(venv: Path) -> Framework:
    return Framework("metaflow", str(ensure_metaflow(venv)), "metaflow", ("--no-pylint",))


def ensure_metaflow(venv: Path) -> Path:
    """The venv's python; creates the venv and installs Metaflow 2.19 and numpy when missing."""
    python = venv / "bin" / "python"
    probe = "import metaflow, numpy; assert metaflow.__version__.startswith('2.19.')"
    if python.exists():
        if subprocess.run([python, "-c", probe], capture_output=True).returncode == 0:
            return python
    print(f"installing {METAFLOW_SPEC} and numpy into {venv} ...", file=sys.stderr)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", METAFLOW_SPEC, "numpy"], check=True)
    subprocess.run([python, "-c", probe], check=True)
    return python


def framework_version(fw: Framework) -> str:
    code = f"import {fw.module}; print({fw.module}.__version__)"
    done = subprocess.run([fw.python, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def clean_env() -> dict[str, str]:
    """The inherited environment without KETCH_*/METAFLOW_* settings, with USER=bench."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KETCH_", "METAFLOW_")) and k not in ("SUDO_USER", "USERNAME")
    }
    env["USER"] = "bench"
    return env


class Scratch:
    """Fresh directories under one temporary root (``$TMPDIR`` or /tmp), outside any git repo."""

    def __init__(self, keep: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ketch-bench-"))
        self.keep = keep
        self._n = 0
        for parent in self.root.parents:
            for marker in (".ketch", ".metaflow", ".git"):
                if (parent / marker).exists():
                    raise RuntimeError(
                        f"{parent / marker} exists above the scratch root {self.root}: runs there "
                        "would not start from an empty store. Remove it or set TMPDIR."
                    )

    def fresh(self, label: str) -> Path:
        self._n += 1
        path = self.root / f"{self._n:04d}-{label}"
        path.mkdir()
        return path

    def discard(self, path: Path, *, now: bool = False) -> None:
        """Mark ``path`` for deletion at :meth:`close`; with ``now`` (large files), delete it.

        Deleting a finished run's directory between measured runs made the next run pay for
        it: on this VM's file system a new file's inode is found by skipping the inodes deleted
        in the last minute, and a Metaflow store is thousands of files (`perf`: a third of a
        ketch task's CPU in ext4's allocator right after one was deleted).
        """
        if self.keep:
            return
        if now:
            subprocess.run(["rm", "-rf", str(path)], check=False)

    def close(self) -> None:
        if not self.keep:
            subprocess.run(["rm", "-rf", str(self.root)], check=False)
