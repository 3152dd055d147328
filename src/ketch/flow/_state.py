"""The per-task state behind a flow object: artifact references, lazy loads, foreach frames."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from ..datastore import BlobStore, load_artifact
from ..exceptions import DataIntegrityError
from ..metadata._records import ArtifactRecord, ForeachFrame


class TaskState:
    """What a flow object needs while one of its steps runs.

    ``artifacts`` maps names to stored records: values are unpickled only when first read.
    ``var_keys[i]`` is the blob key of the iterable that foreach frame ``i`` split over.
    """

    def __init__(
        self,
        *,
        pathspec: str,
        step_name: str,
        artifacts: dict[str, ArtifactRecord],
        readonly: frozenset[str],
        blobs: BlobStore,
        is_join: bool = False,
        frames: tuple[ForeachFrame, ...] = (),
        var_keys: tuple[str, ...] = (),
        iterations: tuple[int, ...] = (),
    ) -> None:
        self.pathspec = pathspec
        self.step_name = step_name
        self.artifacts = dict(artifacts)
        self.readonly = readonly
        self.blobs = blobs
        self.is_join = is_join
        self.frames = frames
        self.var_keys = var_keys
        self.iterations = iterations  # the _iteration_stack of recursive switches
        self.transition: tuple[tuple[str, ...], str | None] | None = None
        self.deleted: set[str] = set()
        self.caught: Any = None  # the ExceptionWrapper of an exception @catch handled
        self._inputs: dict[int, Any] = {}

    def load(self, name: str) -> Any:
        record = self.artifacts[name]
        try:
            return load_artifact(self.blobs, record.key)
        except DataIntegrityError as exc:
            raise DataIntegrityError(
                f"Artifact '{name}' read by {self.pathspec}: {exc.detail}", hint=exc.hint
            ) from None

    def index(self) -> int | None:
        return self.frames[-1].index if self.frames else None

    def _element(self, level: int) -> Any:
        if level not in self._inputs:
            frame = self.frames[level]
            values = load_artifact(self.blobs, self.var_keys[level])
            try:
                self._inputs[level] = values[frame.index]
            except (TypeError, KeyError, IndexError):
                self._inputs[level] = next(itertools.islice(iter(values), frame.index, None))
        return self._inputs[level]

    def input(self) -> Any:
        if not self.frames:
            return None
        return self._element(len(self.frames) - 1)

    def foreach_stack(self) -> list[tuple[int, int, Any]]:
        return [
            (frame.index, frame.num_splits, self._element(level))
            for level, frame in enumerate(self.frames)
        ]


class InputView:
    """A read-only view of one input of a join: ``inputs[0].x``, ``inputs.train.x``."""

    def __init__(self, flow_name: str, step_name: str, state: TaskState) -> None:
        object.__setattr__(self, "_view_state", state)
        object.__setattr__(self, "_flow_name", flow_name)
        object.__setattr__(self, "_step", step_name)
        object.__setattr__(self, "_cache", {})

    def __getattr__(self, name: str) -> Any:
        state: TaskState = object.__getattribute__(self, "_view_state")
        cache: dict[str, Any] = object.__getattribute__(self, "_cache")
        if name in cache:
            return cache[name]
        if name in state.artifacts:
            cache[name] = state.load(name)
            return cache[name]
        flow = object.__getattribute__(self, "_flow_name")
        raise AttributeError(f"Flow {flow} has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("The inputs of a join are read-only; set attributes on self.")

    @property
    def index(self) -> int | None:
        return self._view_state.index()  # type: ignore[no-any-return]

    @property
    def input(self) -> Any:
        return self._view_state.input()

    def foreach_stack(self) -> list[tuple[int, int, Any]]:
        return self._view_state.foreach_stack()  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<input {object.__getattribute__(self, '_step')}>"


class Inputs:
    """The ``inputs`` argument of a join: iterable, indexable, and by step name for branches."""

    def __init__(self, views: list[InputView]) -> None:
        self._views = views
        self._by_step = {object.__getattribute__(v, "_step"): v for v in views}

    def __iter__(self) -> Iterator[InputView]:
        return iter(self._views)

    def __len__(self) -> int:
        return len(self._views)

    def __getitem__(self, index: int) -> InputView:
        return self._views[index]

    def __getattr__(self, name: str) -> InputView:
        by_step = self.__dict__.get("_by_step", {})
        if name in by_step:
            return by_step[name]  # type: ignore[no-any-return]
        raise AttributeError(f"The join has no input from a step named '{name}'")
