"""``@project``: group flows into a project, with one namespace per branch.

The branch a run belongs to is ``user.<username>`` by default, ``test.<branch>`` with
``--branch`` (or ``branch=``), ``prod`` with ``--production`` and ``prod.<branch>`` with both.
A run of a flow with ``@project`` carries the system tags ``project:<name>`` and
``project_branch:<branch>``, and its tasks see ``current.project_name``, ``branch_name``,
``is_user_branch``, ``is_production`` and ``project_flow_name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..exceptions import UserError
from ._flowdeco import FlowDecorator, find_flow_decorator, flow_decorator_factory

_INVALID = re.compile(r"[^a-z0-9_]")
MAX_NAME_LENGTH = 128


@dataclass(frozen=True)
class ProjectInfo:
    """What ``@project`` resolves to for one run."""

    project_name: str
    branch_name: str
    is_user_branch: bool
    is_production: bool
    project_flow_name: str

    def current_fields(self) -> dict[str, Any]:
        """The values this adds to ``current``."""
        return {
            "project_name": self.project_name,
            "branch_name": self.branch_name,
            "is_user_branch": self.is_user_branch,
            "is_production": self.is_production,
            "project_flow_name": self.project_flow_name,
        }

    def system_tags(self) -> list[str]:
        return [f"project:{self.project_name}", f"project_branch:{self.branch_name}"]


class ProjectDecorator(FlowDecorator):
    """Put the flow in a project: ``@project(name="fraud")``.

    ``name`` may hold lowercase letters, digits and ``_``. ``branch=`` and ``production=`` set
    what the ``--branch NAME`` and ``--production`` options set; giving both the attribute and
    a different option is refused.

    Examples
    --------
    >>> from ketch import FlowSpec, project, step
    >>> @project(name="fraud")
    ... class ScoreFlow(FlowSpec):
    ...     @step
    ...     def start(self):
    ...         self.next(self.end)
    ...     @step
    ...     def end(self):
    ...         pass
    """

    name = "project"
    defaults = {"name": None, "branch": None, "production": False}

    def check(self, flow_name: str) -> None:
        name = self.attributes["name"]
        if not name:
            self.fail(flow_name, "needs a name", "Write @project(name='some_name').")
        problem = _name_problem(name)
        if problem:
            self.fail(flow_name, f"has the name {name!r}, which {problem}", _NAME_HINT)
        branch = self.attributes["branch"]
        if branch is not None and (not isinstance(branch, str) or _name_problem(branch)):
            self.fail(flow_name, f"has branch={branch!r}, which is invalid", _NAME_HINT)
        if not isinstance(self.attributes["production"], bool):
            self.fail(
                flow_name,
                f"has production={self.attributes['production']!r}",
                "production is True or False.",
            )

    def resolve(
        self, flow_name: str, *, branch: str | None, production: bool, user: str
    ) -> ProjectInfo:
        """The project of a run given the ``--branch`` and ``--production`` options."""
        self.validate(flow_name)
        for option, given, default in (("branch", branch, None), ("production", production, False)):
            attribute = self.attributes[option]
            if option in self.given and given != default and given != attribute:
                raise UserError(
                    f"--{option} was given on the command line and as an argument of "
                    f"@project ({self.origin}).",
                    hint=f"Leave out --{option}, or {option}= of @project.",
                    headline=f"Conflicting --{option}",
                )
        if "branch" in self.given:
            branch = self.attributes["branch"]
        if "production" in self.given:
            production = bool(self.attributes["production"])
        return project_info(flow_name, self.attributes["name"], branch, production, user)


_NAME_HINT = "Use only lowercase letters, digits and '_' (at most 128 characters)."


def _name_problem(name: object) -> str:
    if not isinstance(name, str):
        return "is not a string"
    if _INVALID.search(name):
        return "may hold only lowercase letters, digits and '_'"
    if len(name) > MAX_NAME_LENGTH:
        return f"is longer than {MAX_NAME_LENGTH} characters"
    return ""


def project_info(
    flow_name: str, name: str, branch: str | None, production: bool, user: str
) -> ProjectInfo:
    """Name the branch of a run (raises a UserError for a bad ``--branch``)."""
    if branch:
        problem = _name_problem(branch)
        if problem:
            raise UserError(
                f"The branch name {branch!r} {problem}.",
                hint=_NAME_HINT,
                headline="Invalid --branch",
            )
        branch_name = f"{'prod' if production else 'test'}.{branch}"
    elif production:
        branch_name = "prod"
    else:
        branch_name = f"user.{user}"
    return ProjectInfo(
        project_name=name,
        branch_name=branch_name,
        is_user_branch=not branch and not production,
        is_production=production,
        project_flow_name=f"{name}.{branch_name}.{flow_name}",
    )


def project_of(flow_cls: type[Any]) -> ProjectDecorator | None:
    """The ``@project`` of a flow class, checked; None for a flow without one."""
    deco = find_flow_decorator(flow_cls, ProjectDecorator)
    if deco is not None:
        deco.validate(flow_cls.__name__)
    return deco


project = flow_decorator_factory(ProjectDecorator)
