"""Flows for the graph tests, written to real files so ``inspect`` can read their source.

``ketch.flow`` is not used: a tiny stand-in ``step`` decorator marks the methods the way the
real one does (``is_step = True`` on the function itself).
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ketch.graph import FlowGraph, build_graph

HEADER = '''\
def step(func=None, *, start=False, end=False):
    """Stand-in for ketch's @step: marks the function, wraps nothing."""

    def mark(f):
        f.is_step = True
        f.decorators = []
        return f

    return mark(func) if func is not None else mark


def retry(func=None, **options):
    """Stand-in for a decorator that only records itself."""

    def mark(f):
        return f

    return mark(func) if func is not None else mark


catch = card = parallel = retry
'''

_numbers = itertools.count()


@dataclass(frozen=True)
class FlowFile:
    """A flow class loaded from a file, with its source for finding line numbers."""

    cls: type
    path: Path
    source: str

    def line(self, marker: str, nth: int = 1) -> int:
        """The 1-based line of the ``nth`` line of the file that contains ``marker``."""
        hits = [i for i, text in enumerate(self.source.splitlines(), 1) if marker in text]
        assert len(hits) >= nth, f"{marker!r} is not in the flow source"
        return hits[nth - 1]

    @property
    def graph(self) -> FlowGraph:
        return build_graph(self.cls)


MakeFlow = Callable[..., FlowFile]


@pytest.fixture
def make_flow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MakeFlow:
    """Write ``body`` (a flow class, dedented) under the stand-in header and import it."""

    def make(body: str, name: str = "MyFlow", header: str = HEADER) -> FlowFile:
        module_name = f"ketch_graph_test_flow_{next(_numbers)}"
        source = header + "\n\n" + textwrap.dedent(body)
        path = tmp_path / f"{module_name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # inspect finds a class's file through sys.modules.
        monkeypatch.setitem(sys.modules, module_name, module)
        spec.loader.exec_module(module)
        return FlowFile(cls=getattr(module, name), path=path, source=source)

    return make
