"""Settings: declared once, each with its help; the datastore URL's resolution."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from ketch.settings import HELP, Settings, env_name, resolve


def test_every_setting_has_help_and_an_environment_variable() -> None:
    names = [f.name for f in fields(Settings)]
    assert sorted(HELP) == sorted(names)
    assert env_name("datastore_url") == "KETCH_DATASTORE_URL"


def test_the_datastore_is_the_store_directory_by_default(tmp_path: Path) -> None:
    settings = resolve(environ={}, cwd=tmp_path)
    assert settings.datastore_url == ""
    assert settings.resolved_datastore_url == str(tmp_path / ".ketch")
    assert Settings(home="/srv/.ketch").resolved_datastore_url == "/srv/.ketch"


def test_the_datastore_url_comes_from_the_environment_or_pyproject(tmp_path: Path) -> None:
    url = (tmp_path / "blobs here").as_uri()
    assert resolve(environ={"KETCH_DATASTORE_URL": url}, cwd=tmp_path).datastore_url == url
    relative = resolve(environ={"KETCH_DATASTORE_URL": "data/store"}, cwd=tmp_path)
    assert relative.resolved_datastore_url == str(tmp_path / "data" / "store")  # made absolute
    (tmp_path / "pyproject.toml").write_text('[tool.ketch]\ndatastore_url = "memory://t"\n')
    assert resolve(environ={}, cwd=tmp_path).resolved_datastore_url == "memory://t"
    explicit = resolve({"datastore_url": "/abs"}, environ={"KETCH_DATASTORE_URL": "/env"})
    assert explicit.datastore_url == "/abs"  # a flag's value wins
