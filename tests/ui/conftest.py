"""Fixtures of the UI tests: a project with real runs, and the UI's app over it.

``ui_project`` runs its flows once per module (they take a few seconds; see ``uiflows``).
Tests that damage the store use the function-scoped ``project`` fixture instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from uiflows import LOCAL, UIProject, build_demo_project


@pytest.fixture(scope="module")
def ui_project(tmp_path_factory: pytest.TempPathFactory) -> UIProject:
    return build_demo_project(tmp_path_factory.mktemp("ui-project"))


@pytest.fixture(scope="module")
def client(ui_project: UIProject) -> Iterator[object]:
    from starlette.testclient import TestClient

    from ketch.ui import create_app

    with TestClient(create_app(ui_project.settings), base_url=LOCAL) as test_client:
        yield test_client
