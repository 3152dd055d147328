"""The public namespace and the weight of ``import ketch``."""

from __future__ import annotations

import json
import subprocess
import sys

import ketch


def test_all_names_are_importable() -> None:
    expected = {
        "FlowSpec",
        "step",
        "Parameter",
        "JSONType",
        "IncludeFile",
        "current",
        "Metaflow",
        "Flow",
        "Run",
        "Step",
        "Task",
        "DataArtifact",
        "namespace",
        "get_namespace",
        "default_namespace",
        "metadata",
        "get_metadata",
        "default_metadata",
        "retry",
        "catch",
        "timeout",
        "environment",
        "resources",
    }
    assert expected <= set(ketch.__all__)
    for name in ketch.__all__:
        assert getattr(ketch, name) is not None


def test_import_ketch_stays_light() -> None:
    code = "import sys, json, ketch; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    heavy = {"sqlalchemy", "rich", "zstandard", "numpy", "click", "starlette", "psycopg"}
    assert not heavy & {name.split(".")[0] for name in loaded}
