"""docs/testing.md cannot rot: its code blocks are the files under examples/testing, and the
example test runs here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "testing.md"
BLOCK = re.compile(r"<!-- file: (\S+) -->\n```python\n(.*?)```", re.DOTALL)


def test_the_doc_shows_the_example_files_verbatim() -> None:
    blocks = BLOCK.findall(DOC.read_text())
    assert [name for name, _ in blocks] == [
        "examples/testing/sample_flow.py",
        "examples/testing/test_sample_flow.py",
    ]
    for name, code in blocks:
        assert code == (ROOT / name).read_text(), f"docs/testing.md is out of date with {name}"


@pytest.mark.slow
def test_the_example_test_passes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETCH_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(ROOT / "examples" / "testing"),
        ],
        cwd=ROOT,
        env={**env, "USER": "tester"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
