"""The compatibility cases: one flow file plus one command line each.

Each case is run once with real Metaflow (``record_golden.py``, results stored in
``golden/<name>.json``) and once with ketch (``test_compat.py``); the results must agree.

``kind`` says what is compared:

``run``
    A ``run`` that starts a run (successful or failing). Exit code, whether a run was recorded
    and the full canonical Client API dump (``extract.py``) must be equal.
``usage_error``
    Bad command-line input rejected before any run starts (click usage error). Exit code and
    "no run recorded" must be equal.
``lint_error``
    A flow that fails graph validation. Exit code and "no run recorded" must be equal.
``check``
    ``check`` on a valid flow: exit code, and no run recorded.
``show``
    ``show``: exit code; every step name and every ``=> successor`` must appear in stdout.

``probes`` asks ``extract.py`` for more of the Client API (``probes.py``); those parts of the
dump are compared exactly too.

``output_contains`` lists substrings that must appear in the command's stdout+stderr (a loose
check of messages); ``task_stderr_contains`` / ``exception_contains`` map a step name to
substrings that must appear in the raw ``Task.stderr`` / ``str(Task.exception)`` of that step's
(first) task. All of them are verified against Metaflow when recording, so they hold there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NO_PYLINT = ("--no-pylint",)


@dataclass(frozen=True)
class Case:
    name: str
    flow: str  # file name under flows/
    flow_class: str  # the FlowSpec subclass (= the flow name)
    args: tuple[str, ...]  # command and its options, e.g. ("run", "--n", "3")
    kind: str = "run"  # run | usage_error | lint_error | check | show
    top_args: tuple[str, ...] = NO_PYLINT  # top-level options placed before the command
    files: tuple[str, ...] = ()  # extra files/dirs (relative to flows/) copied next to the flow
    output_contains: tuple[str, ...] = ()
    task_stderr_contains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exception_contains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    probes: tuple[str, ...] = ()  # extract.py --probe NAME, see probes.py

    @property
    def argv(self) -> list[str]:
        return [*self.top_args, *self.args]


CASES: list[Case] = [
    # ---------------------------------------------------------------- successful runs
    Case("linear_artifacts", "linear_artifacts.py", "LinearArtifactsFlow", ("run",)),
    Case("inherit_reassign", "inherit_reassign.py", "InheritReassignFlow", ("run",)),
    Case("branch_join", "branch_join.py", "BranchJoinFlow", ("run",)),
    Case("merge_variants", "merge_variants.py", "MergeVariantsFlow", ("run",)),
    Case("foreach_basic", "foreach_basic.py", "ForeachBasicFlow", ("run",)),
    Case("nested_foreach", "nested_foreach.py", "NestedForeachFlow", ("run",)),
    Case("branch_in_foreach", "branch_in_foreach.py", "BranchInForeachFlow", ("run",)),
    Case("params_defaults", "params.py", "ParamsFlow", ("run", "--must", "5")),
    Case(
        "params_overrides",
        "params.py",
        "ParamsFlow",
        (
            "run",
            "--who",
            "there",
            "--n",
            "7",
            "--alpha",
            "1.5",
            "--flag",
            "true",
            "--cfg",
            '{"a": {"b": null}, "c": [1.5, "x"]}',
            "--must",
            "-2",
            "--label",
            "custom",
            "--csv",
            "x,y,z",
        ),
    ),
    Case("include_file", "include_file.py", "IncludeFileFlow", ("run",), files=("data",)),
    Case(
        "include_file_override",
        "include_file.py",
        "IncludeFileFlow",
        ("run", "--notes", "data/other.txt"),
        files=("data",),
    ),
    Case("class_constants", "class_constants.py", "ClassConstantsFlow", ("run",)),
    Case("current_fields", "current_fields.py", "CurrentFieldsFlow", ("run", "--q", "y")),
    Case("project_default", "project_fields.py", "ProjectFieldsFlow", ("run",)),
    Case(
        "project_branch",
        "project_fields.py",
        "ProjectFieldsFlow",
        ("run",),
        top_args=(*NO_PYLINT, "--branch", "feat_1"),
        output_contains=("Project: compat_proj, Branch: test.feat_1",),
    ),
    Case(
        "project_production",
        "project_fields.py",
        "ProjectFieldsFlow",
        ("run",),
        top_args=(*NO_PYLINT, "--production"),
        output_contains=("Branch: prod",),
    ),
    Case(
        "project_production_branch",
        "project_fields.py",
        "ProjectFieldsFlow",
        ("run",),
        top_args=(*NO_PYLINT, "--production", "--branch", "b2"),
    ),
    Case("secrets_inline", "secrets_inline.py", "SecretsInlineFlow", ("run",)),
    Case("private_artifacts", "private_artifacts.py", "PrivateArtifactsFlow", ("run",)),
    Case("logs", "logs_flow.py", "LogsFlow", ("run",)),
    Case(
        "tags",
        "tags_flow.py",
        "TagsFlow",
        ("run", "--tag", "t1", "--tag", "second-tag", "--tag", "t1"),
        top_args=(),  # also checks that a plain `run` (no --no-pylint) works
    ),
    Case("retry_catch", "retry_catch.py", "RetryCatchFlow", ("run",)),
    Case("catch_success", "catch_success.py", "CatchSuccessFlow", ("run",)),
    Case("timeout_catch", "timeout_catch.py", "TimeoutCatchFlow", ("run",)),
    Case("catch_killed", "catch_killed.py", "CatchKilledFlow", ("run",)),
    Case(
        "client_lineage",
        "client_lineage.py",
        "ClientLineageFlow",
        ("run",),
        probes=("lineage", "steps", "metadata", "private=_scratch", "lookups", "provider"),
    ),
    Case(
        "parallel_gang",
        "parallel_gang.py",
        "ParallelGangFlow",
        ("run",),
        probes=("lineage", "parallel"),
    ),
    # ---------------------------------------------------------------- failing runs
    Case(
        "retry_exhausted",
        "retry_exhausted.py",
        "RetryExhaustedFlow",
        ("run",),
        exception_contains={"always": ("always fails",)},
    ),
    Case(
        "failing_step",
        "failing_step.py",
        "FailingStepFlow",
        ("run",),
        output_contains=("explode", "boom: the answer is 42"),
        task_stderr_contains={
            "explode": (
                "warning before failure",
                'raise ValueError("boom: the answer is 42")',
                "ValueError: boom: the answer is 42",
            )
        },
        exception_contains={"explode": ("ValueError", "boom: the answer is 42")},
    ),
    Case(
        "merge_conflict",
        "merge_conflict.py",
        "MergeConflictFlow",
        ("run",),
        output_contains=("clash",),
        task_stderr_contains={"join": ("clash",)},
        exception_contains={"join": ("clash",)},
    ),
    Case(
        "client_exception",
        "client_exception.py",
        "ClientExceptionFlow",
        ("run",),
        exception_contains={"explode": ("KeyError", "Something has gone wrong")},
        probes=("exception", "lineage"),
    ),
    Case(
        "join_missing_attr",
        "join_missing_attr.py",
        "JoinMissingAttrFlow",
        ("run",),
        output_contains=("AttributeError",),
        exception_contains={"join": ("AttributeError", "'x'")},
    ),
    # ---------------------------------------------------------------- configs
    Case("config_defaults", "config_flow.py", "ConfigFlow", ("run",), files=("configs",)),
    Case(
        "config_file",
        "config_flow.py",
        "ConfigFlow",
        ("run",),
        top_args=(*NO_PYLINT, "--config", "cfg", "configs/other.json"),
        files=("configs",),
    ),
    Case(
        "config_value",
        "config_flow.py",
        "ConfigFlow",
        ("run", "--alpha", "4.5"),
        top_args=(
            *NO_PYLINT,
            "--config-value",
            "extra",
            '{"greeting": "hello", "env": {"MODE": "slow"}}',
            "--config-value",
            "raw",
            "other text",
        ),
        files=("configs",),
    ),
    Case(
        "config_bad_json",
        "config_flow.py",
        "ConfigFlow",
        ("run",),
        top_args=(*NO_PYLINT, "--config", "cfg", "configs/bad.json"),
        kind="usage_error",
        files=("configs",),
        output_contains=("cfg",),
    ),
    Case(
        "config_missing_file",
        "config_flow.py",
        "ConfigFlow",
        ("run",),
        top_args=(*NO_PYLINT, "--config", "cfg", "configs/nope.json"),
        kind="usage_error",
        files=("configs",),
        output_contains=("nope.json", "cfg"),
    ),
    Case(
        "config_both_file_and_value",
        "config_flow.py",
        "ConfigFlow",
        ("run",),
        top_args=(
            *NO_PYLINT,
            "--config",
            "cfg",
            "configs/other.json",
            "--config-value",
            "cfg",
            "{}",
        ),
        kind="usage_error",
        files=("configs",),
        output_contains=("cfg",),
    ),
    # ---------------------------------------------------------------- user decorators
    Case("user_decorators", "user_decorators.py", "UserDecoratorsFlow", ("run",)),
    Case(
        "user_decorators_with",
        "user_decorators.py",
        "UserDecoratorsFlow",
        ("run", "--with", "swallow:label=w"),
    ),
    Case("mutators", "mutators.py", "MutatorsFlow", ("run",)),
    Case("mutators_with", "mutators.py", "MutatorsFlow", ("run", "--with", "replace_it")),
    # ---------------------------------------------------------------- bad command lines
    Case(
        "params_bad_int",
        "params.py",
        "ParamsFlow",
        ("run", "--must", "5", "--n", "abc"),
        kind="usage_error",
        output_contains=("--n", "abc"),
    ),
    Case(
        "params_missing_required",
        "params.py",
        "ParamsFlow",
        ("run",),
        kind="usage_error",
        output_contains=("--must",),
    ),
    Case(
        "project_bad_branch",
        "project_fields.py",
        "ProjectFieldsFlow",
        ("run",),
        kind="usage_error",
        top_args=(*NO_PYLINT, "--branch", "Bad.X"),
        output_contains=("branch name",),
    ),
    Case(
        "branch_without_project",
        "current_fields.py",
        "CurrentFieldsFlow",
        ("run",),
        kind="usage_error",
        top_args=(*NO_PYLINT, "--branch", "x"),
        output_contains=("--branch",),
    ),
    Case(
        "params_unknown_option",
        "params.py",
        "ParamsFlow",
        ("run", "--must", "1", "--bogus", "1"),
        kind="usage_error",
        output_contains=("--bogus",),
    ),
    Case(
        "params_bad_json",
        "params.py",
        "ParamsFlow",
        ("run", "--must", "1", "--cfg", "{bad"),
        kind="usage_error",
        output_contains=("--cfg",),
    ),
    Case(
        "params_bad_bool",
        "params.py",
        "ParamsFlow",
        ("run", "--must", "1", "--flag", "maybe"),
        kind="usage_error",
        output_contains=("--flag", "maybe"),
    ),
    Case(
        "include_file_missing",
        "include_file.py",
        "IncludeFileFlow",
        ("run", "--notes", "data/nope.txt"),
        kind="usage_error",
        files=("data",),
        output_contains=("--notes", "data/nope.txt"),
    ),
    # ---------------------------------------------------------------- spin errors
    Case(
        "spin_missing_pathspec",
        "foreach_basic.py",
        "ForeachBasicFlow",
        ("spin",),
        kind="usage_error",
        output_contains=("PATHSPEC",),
    ),
    Case(
        "spin_without_a_run",
        "foreach_basic.py",
        "ForeachBasicFlow",
        ("spin", "start"),
        kind="usage_error",
        output_contains=("ForeachBasicFlow",),
    ),
    # ---------------------------------------------------------------- @pypi / @conda
    # Metaflow's @pypi needs micromamba, which cannot be downloaded here: only the refusal of
    # the decorators without --environment=pypi|conda (exit 1, no run) is recorded.
    Case(
        "pypi_without_environment",
        "pypi_step.py",
        "PypiStepFlow",
        ("run",),
        kind="lint_error",
        output_contains=("Incompatible environment", "@pypi", "--environment=pypi"),
    ),
    Case(
        "pypi_base_without_environment",
        "pypi_base_flow.py",
        "PypiBaseFlow",
        ("run",),
        kind="lint_error",
        output_contains=("Incompatible environment", "--environment=pypi"),
    ),
    Case(
        "conda_without_environment",
        "conda_step.py",
        "CondaStepFlow",
        ("run",),
        kind="lint_error",
        output_contains=("Incompatible environment", "@conda", "--environment=conda"),
    ),
    Case(
        "pypi_check_without_environment",
        "pypi_step.py",
        "PypiStepFlow",
        ("check",),
        kind="lint_error",
        output_contains=("Incompatible environment", "--environment=pypi"),
    ),
    Case(
        "pypi_environment_local",
        "pypi_step.py",
        "PypiStepFlow",
        ("run",),
        kind="lint_error",
        top_args=(*NO_PYLINT, "--environment=local"),
        output_contains=("Incompatible environment", "--environment=pypi"),
    ),
    # ---------------------------------------------------------------- lint failures
    Case(
        "lint_no_next_run",
        "lint_no_next.py",
        "LintNoNextFlow",
        ("run",),
        kind="lint_error",
        output_contains=("middle", "self.next"),
    ),
    Case(
        "lint_no_next_check",
        "lint_no_next.py",
        "LintNoNextFlow",
        ("check",),
        kind="lint_error",
        output_contains=("middle",),
    ),
    Case(
        "lint_orphan",
        "lint_orphan.py",
        "LintOrphanFlow",
        ("run",),
        kind="lint_error",
        output_contains=("lonely",),
    ),
    Case(
        "lint_bad_join",
        "lint_bad_join.py",
        "LintBadJoinFlow",
        ("run",),
        kind="lint_error",
        output_contains=("join",),
    ),
    # ---------------------------------------------------------------- switch transitions
    Case(
        "switch_basic",
        "switch_basic.py",
        "SwitchBasicFlow",
        ("run",),
        # Not "steps": Metaflow's Step.parent_steps/child_steps raise when a case never ran.
        probes=("lineage",),
    ),
    Case("switch_loop", "switch_loop.py", "SwitchLoopFlow", ("run",), probes=("steps",)),
    Case(
        "switch_bad_value",
        "switch_bad_value.py",
        "SwitchBadValueFlow",
        ("run",),
        probes=("exception",),
        exception_contains={"start": ("which is not in the available cases: ['fast', 'slow']",)},
    ),
    Case(
        "lint_switch_join",
        "lint_switch_join.py",
        "LintSwitchJoinFlow",
        ("run",),
        kind="lint_error",
        output_contains=("conditional path cannot",),
    ),
    Case(
        "lint_switch_one_case",
        "lint_switch_one_case.py",
        "LintSwitchOneCaseFlow",
        ("run",),
        kind="lint_error",
        output_contains=("defines 1 transition",),
    ),
    Case("show_switch_loop", "switch_loop.py", "SwitchLoopFlow", ("show",), kind="show"),
    Case(
        "lint_parallel_no_decorator",
        "lint_parallel_no_decorator.py",
        "LintParallelNoDecoratorFlow",
        ("run",),
        kind="lint_error",
        output_contains=("@parallel",),
    ),
    Case(
        "lint_parallel_no_join",
        "lint_parallel_no_join.py",
        "LintParallelNoJoinFlow",
        ("run",),
        kind="lint_error",
        output_contains=("join",),
    ),
    Case(
        "lint_parallel_no_num",
        "lint_parallel_no_num.py",
        "LintParallelNoNumFlow",
        ("run",),
        kind="lint_error",
        output_contains=("join",),
    ),
    # ---------------------------------------------------------------- check / show
    Case("check_valid", "branch_join.py", "BranchJoinFlow", ("check",), kind="check"),
    Case(
        "show_branch_join",
        "branch_join.py",
        "BranchJoinFlow",
        ("show",),
        kind="show",
        output_contains=("Split into a and b, then join them.", "Set shared values.", "Branch b."),
    ),
    Case("show_nested_foreach", "nested_foreach.py", "NestedForeachFlow", ("show",), kind="show"),
]

CASES_BY_NAME = {c.name: c for c in CASES}
assert len(CASES_BY_NAME) == len(CASES), "duplicate case names"


# The static graphs of the flows used by `show` cases: step -> successors. `show` output is
# compared loosely: every step name and every successor must be mentioned.
SHOW_GRAPHS: dict[str, dict[str, tuple[str, ...]]] = {
    "branch_join.py": {
        "start": ("a", "b"),
        "a": ("join",),
        "b": ("join",),
        "join": ("end",),
        "end": (),
    },
    "switch_loop.py": {
        "start": ("loop",),
        "loop": ("loop", "after"),
        "after": ("end",),
        "end": (),
    },
    "nested_foreach.py": {
        "start": ("outer_body",),
        "outer_body": ("inner_body",),
        "inner_body": ("inner_join",),
        "inner_join": ("outer_join",),
        "outer_join": ("end",),
        "end": (),
    },
}
