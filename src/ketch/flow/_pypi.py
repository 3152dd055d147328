"""Per-step Python environments: ``@pypi``, ``@conda`` and the flow-wide ``@pypi_base`` and
``@conda_base``.

The decorators only record what they ask for; ``ketch.pyenv`` checks the request against the
``--environment`` of the run, resolves it with uv and builds the environment each step's tasks
run in. A step's decorator is merged with the flow's base one (the step's packages and python
win), as in Metaflow.

Examples
--------
>>> from ketch import FlowSpec, pypi, pypi_base, step
>>> @pypi_base(packages={"six": "1.16.0"}, python="3.11")
... class Flow(FlowSpec):
...     @pypi(packages={"tomli": "2.0.1"})
...     @step
...     def start(self):
...         self.next(self.end)
...     @step
...     def end(self):
...         pass
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from ._decorators import DECORATORS, StepDecorator, _factory, _origin

ENV_BASE_ATTR = "_ketch_env_base"  # the flow class attribute that holds @pypi_base/@conda_base


class EnvDecorator(StepDecorator):
    """What ``@pypi`` and ``@conda`` share: packages (name -> version), python, disabled."""

    defaults: ClassVar[dict[str, Any]] = {"packages": {}, "python": None, "disabled": None}

    def check(self, step_name: str) -> None:
        packages = self.packages
        if not isinstance(packages, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in packages.items()
        ):
            self.fail(
                step_name,
                f"packages={packages!r} is invalid",
                'packages maps a package name to a version, e.g. {"pandas": "2.2.2"} '
                '("" for any version).',
            )
        python = self.attributes["python"]
        if python is not None and not isinstance(python, str):
            self.fail(step_name, f"python={python!r} is invalid", 'python is a string: "3.11".')

    @property
    def packages(self) -> Any:
        return self.attributes["packages"]


class PypiDecorator(EnvDecorator):
    """``@pypi(packages={...}, python=None, disabled=None)``: the step's tasks run in an
    environment holding these PyPI packages (``--environment=pypi``)."""

    name = "pypi"


class CondaDecorator(EnvDecorator):
    """``@conda(packages={...}, libraries={...}, python=None, disabled=None)``: as ``@pypi``;
    ketch builds it from PyPI with uv, so each package must exist there under its name."""

    name = "conda"
    defaults: ClassVar[dict[str, Any]] = {**EnvDecorator.defaults, "libraries": {}}

    @property
    def packages(self) -> Any:
        libraries, packages = self.attributes["libraries"], self.attributes["packages"]
        if isinstance(libraries, dict) and isinstance(packages, dict):
            return {**libraries, **packages}  # ``libraries`` is Metaflow's older name
        return packages if libraries == {} else libraries


DECORATORS.update({cls.name: cls for cls in (PypiDecorator, CondaDecorator)})

pypi = _factory(PypiDecorator)
conda = _factory(CondaDecorator)


class PypiBaseDecorator(PypiDecorator):
    name = "pypi_base"


class CondaBaseDecorator(CondaDecorator):
    name = "conda_base"


def _base_factory(cls: type[EnvDecorator]) -> Callable[..., Any]:
    def decorator(flow_cls: Any = None, **attributes: Any) -> Any:
        origin = _origin()

        def attach(target: Any) -> Any:
            setattr(target, ENV_BASE_ATTR, cls(_origin=origin, **attributes))
            return target

        return attach(flow_cls) if isinstance(flow_cls, type) else attach

    decorator.__name__ = cls.name
    decorator.__doc__ = (
        f"The @{cls.name} flow decorator: the environment of every step (merged with a "
        f"step's own, whose packages and python win). Defaults: {cls.defaults}."
    )
    return decorator


pypi_base = _base_factory(PypiBaseDecorator)
conda_base = _base_factory(CondaBaseDecorator)


def env_base(flow_cls: Any) -> EnvDecorator | None:
    """The flow's ``@pypi_base`` or ``@conda_base``, if it has one."""
    base = getattr(flow_cls, ENV_BASE_ATTR, None)
    return base if isinstance(base, EnvDecorator) else None
