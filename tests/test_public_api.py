"""The public namespace and the weight of ``import ketch``."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

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
        "on_ray",
        "local",
        "S3",
        "project",
        "secrets",
        "Runner",
        "NBRunner",
        "ExecutingRun",
        "inspect_spin",
        "parallel_map",
        "parallel_imap_unordered",
        "profile",
    }
    assert expected <= set(ketch.__all__)
    for name in ketch.__all__:
        assert getattr(ketch, name) is not None


def test_import_ketch_stays_light() -> None:
    code = "import sys, json, ketch; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    heavy = {
        "sqlalchemy",
        "rich",
        "zstandard",
        "numpy",
        "click",
        "starlette",
        "psycopg",
        "obstore",
        "ray",
    }
    assert not heavy & {name.split(".")[0] for name in loaded}


def _imported_modules(path: Path, package: str) -> set[str]:
    """Every module that ``path`` (a module of ``package``) imports, at any depth of its code,
    relative imports made absolute."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_runtime_imports_neither_cli_nor_client() -> None:
    """The runtime runs tasks on machines that have the datastore and the code package only:
    it must not depend on the command line or on the Client (DESIGN: the parts)."""
    runtime = Path(ketch.__file__).parent / "runtime"
    files = sorted(runtime.glob("*.py"))
    assert len(files) > 10
    offending = {
        f"{path.name}: {name}"
        for path in files
        for name in _imported_modules(path, "ketch.runtime")
        if name.split(".")[:2] in (["ketch", "cli"], ["ketch", "client"])
    }
    assert not offending


def test_metaflow_s3_names_are_in_ketch_s3() -> None:
    """What flows import from ``metaflow.plugins.datatools.s3`` is in ``ketch.s3``, and
    ``ketch.S3`` is the same class."""
    import ketch.s3

    names = {
        "S3",
        "S3Object",
        "S3GetObject",
        "S3PutObject",
        "RangeInfo",
        "MetaflowS3Exception",
        "MetaflowS3NotFound",
        "MetaflowS3AccessDenied",
        "MetaflowS3URLException",
        "MetaflowS3InvalidRange",
        "MetaflowS3InvalidObject",
        "MetaflowS3InsufficientDiskSpace",
    }
    assert names <= set(ketch.s3.__all__)
    assert ketch.S3 is ketch.s3.S3
