"""Helpers for tests that run real flows in real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Project:
    """A throw-away project directory where flows are written and run."""

    root: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KETCH_")}
        env.update({"USER": "tester", "PYTHONUNBUFFERED": "1"})
        env.update(extra)
        return env

    def write(self, name: str, source: str) -> Path:
        path = self.root / name
        path.write_text(textwrap.dedent(source))
        return path

    def run(
        self, *args: str, timeout: float = 120, cwd: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """``python <args>`` in the project directory (or ``cwd``)."""
        return subprocess.run(
            [sys.executable, *args],
            cwd=cwd or self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def run_id(self, name: str = "run-id") -> str:
        """The id written by the last ``--run-id-file <name>``."""
        return (self.root / name).read_text().strip()

    def ketch(
        self, *args: str, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return self.run("-m", "ketch.cli", *args, timeout=timeout, **env)

    def client(self, code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run Python ``code`` in the project (e.g. Client API reads) and capture its output."""
        return self.run("-c", textwrap.dedent(code), timeout=timeout)
