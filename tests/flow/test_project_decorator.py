"""@project in process: its arguments and checks, the branch a run gets, and ``current``'s
project fields (Metaflow 2.19's rules: names of lowercase letters, digits and '_'; branch
user.<user>, test.<branch>, prod or prod.<branch>)."""

from __future__ import annotations

import pytest

from ketch import FlowSpec, current, project, step
from ketch.exceptions import DecoratorError, UserError
from ketch.flow import FlowDecorator
from ketch.flow._current import set_flow_fields
from ketch.flow._flowdeco import flow_decorators
from ketch.flow._project import ProjectDecorator, project_info, project_of


def _flow(**attributes: object) -> type[FlowSpec]:
    @project(**attributes)
    class DemoFlow(FlowSpec):
        @step
        def start(self) -> None:
            self.next(self.end)

        @step
        def end(self) -> None:
            pass

    return DemoFlow


def test_the_branch_follows_metaflows_naming() -> None:
    user = project_info("F", "p", None, False, "ada")
    assert (user.branch_name, user.is_user_branch, user.is_production) == ("user.ada", True, False)
    assert user.project_flow_name == "p.user.ada.F"
    assert project_info("F", "p", "feat_1", False, "ada").branch_name == "test.feat_1"
    prod = project_info("F", "p", None, True, "ada")
    assert (prod.branch_name, prod.is_user_branch, prod.is_production) == ("prod", False, True)
    assert project_info("F", "p", "b2", True, "ada").project_flow_name == "p.prod.b2.F"
    assert prod.system_tags() == ["project:p", "project_branch:prod"]


def test_a_bad_branch_is_refused() -> None:
    for bad in ("Bad", "a.b", "a-b", "x" * 129):
        with pytest.raises(UserError, match="The branch name"):
            project_info("F", "p", bad, False, "ada")


def test_the_decorator_is_kept_on_the_class_and_not_persisted() -> None:
    flow = _flow(name="demo")
    deco = project_of(flow)
    assert isinstance(deco, ProjectDecorator) and isinstance(deco, FlowDecorator)
    assert deco.origin.endswith(f"{__file__}:{_flow.__code__.co_firstlineno + 1}")
    assert flow_decorators(flow) == [deco]
    assert flow._constants() == {}  # the decorator is not a class constant (an artifact)


@pytest.mark.parametrize(
    ("attributes", "needle"),
    [
        ({}, "needs a name"),
        ({"name": "Bad-Name"}, "may hold only lowercase letters, digits and '_'"),
        ({"name": "x" * 129}, "longer than 128 characters"),
        ({"name": "ok", "colour": 1}, "unknown argument(s) colour"),
        ({"name": "ok", "branch": "a.b"}, "branch='a.b'"),
        ({"name": "ok", "production": "yes"}, "production='yes'"),
    ],
)
def test_bad_arguments_name_the_flow_and_the_line(
    attributes: dict[str, object], needle: str
) -> None:
    flow = _flow(**attributes)
    with pytest.raises(DecoratorError) as caught:
        project_of(flow)
    assert needle in str(caught.value)
    assert "@project on flow 'DemoFlow'" in str(caught.value)
    assert f"{__file__}:" in str(caught.value)


def test_arguments_and_options() -> None:
    deco = project_of(_flow(name="p", branch="b1"))
    assert deco is not None
    info = deco.resolve("F", branch=None, production=False, user="ada")
    assert info.branch_name == "test.b1"
    assert deco.resolve("F", branch="b1", production=True, user="ada").branch_name == "prod.b1"
    with pytest.raises(UserError, match="--branch was given on the command line and as an"):
        deco.resolve("F", branch="other", production=False, user="ada")
    prod = project_of(_flow(name="p", production=True))
    assert prod is not None
    assert prod.resolve("F", branch=None, production=False, user="ada").branch_name == "prod"


def test_project_decorates_a_class_only_once() -> None:
    with pytest.raises(DecoratorError, match="decorates a flow class"):
        project(name="p")(lambda: None)
    with pytest.raises(DecoratorError, match="has @project more than once"):
        project(name="q")(_flow(name="p"))


def test_a_subclass_inherits_the_project_and_may_replace_it() -> None:
    base = _flow(name="base_p")
    sub = type("SubFlow", (base,), {})
    assert project_of(sub) is project_of(base)
    project(name="sub_p")(sub)
    deco = project_of(sub)
    assert deco is not None and deco.attributes["name"] == "sub_p"
    assert len(flow_decorators(sub)) == 1


def test_current_has_the_project_fields_once_they_are_set() -> None:
    assert "project_name" not in current
    assert current.get("project_name") is None
    with pytest.raises(AttributeError):
        current.project_name  # noqa: B018
    info = project_info("F", "p", None, False, "ada")
    set_flow_fields(info.current_fields())
    try:
        assert current.project_name == "p"
        assert current.branch_name == "user.ada"
        assert current.is_user_branch is True
        assert current.is_production is False
        assert current.project_flow_name == "p.user.ada.F"
        assert "project_flow_name" in current
        assert "flow_name" not in current  # not running a task
    finally:
        set_flow_fields({})
