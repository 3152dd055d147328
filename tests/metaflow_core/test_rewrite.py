"""The shim's own pieces, without Metaflow's checkout: import rewriting and placeholders."""

from __future__ import annotations

import sys

import pytest

from ._rewrite import ketch_names, rewrite_source
from ._run import reason_from
from ._support import is_stringish, missing

AVAILABLE = {
    "ketch": {"FlowSpec", "step", "current", "Task"},
    "ketch.exceptions": {"KetchException", "MergeArtifactsError"},
    "ketch.client": {"Flow"},
    "ketch.cards": {"get_cards"},
}


def test_names_go_where_ketch_has_them() -> None:
    source = "from metaflow import FlowSpec, step, project as proj\nx = 1\n"
    assert rewrite_source(source, AVAILABLE) == (
        "from ketch import FlowSpec, step; from ketch_core_shim import missing; "
        "proj = missing('metaflow.project')\nx = 1\n"
    )


def test_renamed_nested_and_multiline_imports() -> None:
    source = (
        "def f():\n"
        "    from metaflow.exception import (\n"
        "        MetaflowException,\n"
        "        UnhandledInMergeArtifactsException,\n"
        "    )\n"
        "    from metaflow.metaflow_current import current\n"
        "    from metaflow.util import is_stringish\n"
        "from metaflow_test import steps\n"
    )
    assert rewrite_source(source, AVAILABLE) == (
        "def f():\n"
        "    from ketch.exceptions import KetchException as MetaflowException, "
        "MergeArtifactsError as UnhandledInMergeArtifactsException\n"
        "    from ketch import current\n"
        "    from ketch_core_shim import is_stringish\n"
        "from metaflow_test import steps\n"
    )


def test_source_without_metaflow_imports_is_unchanged() -> None:
    source = "import metaflow_test\nfrom metaflow_test import x  # from metaflow import y\n"
    assert rewrite_source(source, AVAILABLE) is source


def test_ketch_names_lists_the_installed_ketch() -> None:
    names = ketch_names(sys.executable)
    assert {"FlowSpec", "step", "current"} <= names["ketch"]
    assert "NamespaceMismatchError" in names["ketch.exceptions"]
    assert "get_cards" in names["ketch.cards"]


def test_placeholder_refuses_use_but_allows_checks() -> None:
    project = missing("metaflow.project")
    with pytest.raises(NotImplementedError, match="ketch has no metaflow.project"):
        project(name="x")  # type: ignore[call-arg]
    assert not isinstance(3, project)
    try:
        raise KeyError("k")
    except project:  # never matches
        raise AssertionError("matched") from None
    except KeyError:
        pass
    assert is_stringish("a") and is_stringish(b"a") and not is_stringish(1)


def test_reason_from_prefers_the_telling_line() -> None:
    assert reason_from("x\nNotImplementedError: ketch has no metaflow.parallel\n", "d") == (
        "needs metaflow.parallel, which ketch lacks"
    )
    text = "Traceback (most recent call last):\n  File 'x'\nKeyError: 'missing'\n"
    assert reason_from(text, "d") == "KeyError: 'missing'"
    text = "Validating your flow...\n    The graph looks good!\nBad decorator\n    @card bad.\n"
    assert reason_from(text, "d") == "Bad decorator: @card bad."
    assert reason_from("nothing to see\n", "default") == "default"
