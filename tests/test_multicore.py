"""parallel_map, parallel_imap_unordered and profile (Metaflow's multicore and timing helpers)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ketch import parallel_imap_unordered, parallel_map, profile
from ketch.exceptions import MulticoreError


def test_parallel_map_keeps_the_order_and_runs_in_children() -> None:
    offset = 10  # a closure: nothing is pickled on the way in

    def work(x: int) -> tuple[int, int]:
        time.sleep(0.05 * (5 - x))  # the first items finish last
        return x + offset, os.getpid()

    results = parallel_map(work, range(5), max_parallel=5)
    assert [value for value, _ in results] == [10, 11, 12, 13, 14]
    assert os.getpid() not in {pid for _, pid in results}


def test_parallel_imap_unordered_yields_every_result() -> None:
    assert sorted(parallel_imap_unordered(lambda x: x * x, range(7), max_parallel=3)) == [
        0,
        1,
        4,
        9,
        16,
        25,
        36,
    ]


def test_max_parallel_bounds_the_children(tmp_path: Path) -> None:
    def work(x: int) -> int:
        marker = tmp_path / str(x)
        marker.touch()
        running = len(list(tmp_path.iterdir()))
        time.sleep(0.05)
        marker.unlink()
        return running

    assert max(parallel_map(work, range(6), max_parallel=2)) <= 2


def test_a_child_that_raises_names_the_item_and_the_error() -> None:
    def work(x: int) -> int:
        if x == 3:
            raise ValueError("three is bad")
        return x

    with pytest.raises(MulticoreError, match="Item 3 raised ValueError: three is bad"):
        parallel_map(work, range(5), max_parallel=2)


def test_a_child_that_dies_is_reported() -> None:
    def work(x: int) -> int:
        if x == 1:
            os._exit(7)
        return x

    with pytest.raises(MulticoreError, match="Item 1: the child process exited with code 7"):
        parallel_map(work, range(3))


def test_result_files_go_to_dir_and_are_removed(tmp_path: Path) -> None:
    assert parallel_map(str, [1, 2], dir=str(tmp_path)) == ["1", "2"]
    assert list(tmp_path.iterdir()) == []


def test_empty_input() -> None:
    assert parallel_map(str, []) == []


def test_profile_prints_or_adds_to_stats(capsys: pytest.CaptureFixture[str]) -> None:
    with profile("load"):
        time.sleep(0.01)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "PROFILE: load starting"
    assert out[1].startswith("PROFILE: load completed in ") and out[1].endswith("ms")
    stats: dict[str, int] = {}
    for _ in range(2):
        with profile("step", stats):
            time.sleep(0.01)
    assert stats["step"] >= 20 and capsys.readouterr().out == ""


@pytest.mark.slow
def test_parallel_map_inside_a_step(project: object) -> None:
    from flowrun import Project

    assert isinstance(project, Project)
    project.write(
        "flow.py",
        """
        from ketch import FlowSpec, parallel_map, step

        class MapFlow(FlowSpec):
            @step
            def start(self):
                self.squares = parallel_map(lambda x: x * x, range(6), max_parallel=3)
                self.next(self.end)

            @step
            def end(self):
                pass

        if __name__ == "__main__":
            MapFlow()
        """,
    )
    done = project.run("flow.py", "run")
    assert done.returncode == 0, done.stderr
    read = project.client('from ketch import Flow; print(Flow("MapFlow").latest_run.data.squares)')
    assert read.stdout.strip() == "[0, 1, 4, 9, 16, 25]"
