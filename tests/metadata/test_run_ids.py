"""Run ids: a run created at the same microsecond as another one takes the next free id."""

from __future__ import annotations

import pytest

from ketch.metadata import open_store
from ketch.metadata._ids import create_with_run_id


class Taken(Exception):
    pass


def test_a_taken_id_moves_on_to_the_next() -> None:
    tried: list[int] = []

    def create(run_id: int) -> int:
        tried.append(run_id)
        if len(tried) < 3:
            raise Taken
        return run_id

    got = create_with_run_id(create, None, Taken)
    assert got == tried[-1] and len(tried) == 3
    assert tried[0] < tried[1] < tried[2]


def test_a_given_id_is_never_changed() -> None:
    def create(run_id: int) -> int:
        raise Taken

    with pytest.raises(Taken):
        create_with_run_id(create, 42, Taken)


@pytest.mark.parametrize("sqlalchemy", [False, True])
def test_the_stores_skip_an_id_already_in_use(tmp_path, sqlalchemy: bool, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ketch.metadata import _ids

    store = open_store(f"sqlite:///{tmp_path / 'k.db'}", sqlalchemy=sqlalchemy)
    try:
        first = store.create_run("F", user="u", tags=[], system_tags=[])
        # The clock reads the same microsecond again, as in another process starting a run
        # at that moment.
        monkeypatch.setattr(_ids, "new_run_id", lambda: first.run_id)
        second = store.create_run("F", user="u", tags=["t"], system_tags=[])
        assert second.run_id == first.run_id + 1 and second.tags == frozenset({"t"})
    finally:
        store.close()
