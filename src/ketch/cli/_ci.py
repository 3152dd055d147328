"""``ketch ci github FLOW_FILE``: write a GitHub Actions workflow that tests and runs a flow.

The workflow checks out the repository, sets up Python, installs the project (from its
``pyproject.toml`` and/or ``requirements.txt``), runs its tests with pytest, runs the flow with
one ``workflow_dispatch`` input per flow Parameter, and uploads the run's cards as an artifact
(exported with ``python FLOW card export``). The flow's parameters are read by loading the flow
class, which does not run it.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..exceptions import UserError

CARDS_DIR = "ketch-cards"
RUN_ID_FILE = "ketch-run-id.txt"


@dataclass(frozen=True)
class Input:
    """One ``workflow_dispatch`` input, made from a flow Parameter."""

    name: str  # the parameter's command-line name
    type: str  # string | number | boolean
    description: str
    default: str | None  # YAML text of the default; None: no default
    required: bool
    config: bool = False  # a Config: given as --config-value NAME JSON before 'run'

    @property
    def env_name(self) -> str:
        prefix = "KETCH_CONFIG_" if self.config else "KETCH_PARAM_"
        return prefix + re.sub(r"[^A-Za-z0-9]", "_", self.name).upper()

    @property
    def shell_line(self) -> str:
        """Adds the input's value (when one is given) to the command line's arguments."""
        if self.config:
            add = f'top+=(--config-value {self.name} "${self.env_name}")'
        else:
            add = f'args+=(--{self.name} "${self.env_name}")'
        return f'if [ -n "${self.env_name}" ]; then {add}; fi'


def parameter_input(parameter: Any) -> Input:
    """The workflow input for one flow Parameter (its type, default and help)."""
    from ..flow import JSONType

    if getattr(parameter, "IS_CONFIG_PARAMETER", False):
        # Its default stays the flow's (a value or a file): an empty input does not override it.
        help_ = parameter.help or f"Config {parameter.name}"
        return Input(parameter.name, "string", f"{help_} (JSON)", None, False, config=True)
    kind = _input_type(parameter)
    default = parameter.default
    description = parameter.help or f"Parameter {parameter.name}"
    if callable(default):
        description += " (default computed when the run starts)"
        text = None
    elif default is None:
        text = None
    elif kind == "boolean":
        text = "true" if default else "false"
    elif kind == "number":
        text = _yaml_number(parameter)
        if text is None:  # a default that is no finite number: the flow checks the value
            kind, text = "string", _quote(str(default))
    elif parameter.type is JSONType and not isinstance(default, str):
        text = _quote(json.dumps(default))
    else:
        text = _quote(str(default))
    required = bool(parameter.required) and text is None
    return Input(parameter.name, kind, description, text, required)


def _input_type(parameter: Any) -> str:
    """``boolean`` for a bool Parameter, ``number`` for an int or float one (declared or
    inferred from a numeric default), else ``string``; a list (``separator``) is a string."""
    if parameter.separator:
        return "string"
    if parameter.type is bool:
        return "boolean"
    return "number" if parameter.type in (int, float) else "string"


def _yaml_number(parameter: Any) -> str | None:
    """The default of a numeric Parameter as a YAML number, or None when it is not one.

    A float is written with a dot in its mantissa (``1.0e-05``, not ``1e-05``), which YAML 1.1
    readers would take for a string."""
    try:
        value = parameter.convert(parameter.default)
    except UserError:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return None
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}.0{e}{exponent}" if e and "." not in mantissa else text


def flow_inputs(flow_cls: Any) -> list[Input]:
    return [parameter_input(p) for p in flow_cls._parameters().values()]


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def _id_name(name: str) -> str:
    """A workflow file or job name from a flow name: ``TrainFlow`` -> ``trainflow``."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "flow"


@dataclass(frozen=True)
class Project:
    """What the workflow needs to know about the repository that holds the flow."""

    root: Path
    flow_path: str  # the flow file, relative to the root, with forward slashes
    install: list[str]  # shell lines that install the project


def find_root(start: Path) -> Path:
    """The repository root: the closest folder up from ``start`` that has ``.git``."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def install_lines(root: Path) -> list[str]:
    """Shell lines that install the project found at ``root``, then pytest."""
    lines = ["python -m pip install --upgrade pip"]
    texts = []
    pyproject = root / "pyproject.toml"
    requirements = root / "requirements.txt"
    if requirements.is_file():
        lines.append("pip install -r requirements.txt")
        texts.append(requirements.read_text(errors="replace"))
    if pyproject.is_file():
        extra = _test_extra(pyproject)
        lines.append(f"pip install -e '.[{extra}]'" if extra else "pip install -e .")
        texts.append(pyproject.read_text(errors="replace"))
    if not any(re.search(r"\bketch\b", t) for t in texts):
        lines.append("pip install ketch")
    lines.append("pip install pytest")
    return lines


def _test_extra(pyproject: Path) -> str | None:
    """The project's test extra (``test``, ``tests`` or ``dev``) declared in pyproject.toml.

    Read with a pattern rather than a TOML parser: ``tomllib`` is Python 3.11+, and a wrong
    guess only costs the workflow an extra or two.
    """
    text = pyproject.read_text(errors="replace")
    table = re.search(
        r"^\[project\.optional-dependencies\][^\n]*\n(.*?)(?=^\[|\Z)", text, re.M | re.S
    )
    if table is None:
        return None
    names = re.findall(r"^\s*[\"']?([A-Za-z0-9_.-]+)[\"']?\s*=", table.group(1), re.M)
    return next((e for e in ("test", "tests", "dev") if e in names), None)


def project_of(flow_file: Path) -> Project:
    root = find_root(flow_file.parent)
    return Project(root, flow_file.relative_to(root).as_posix(), install_lines(root))


@dataclass(frozen=True)
class Options:
    python: str
    schedule: str | None
    branches: tuple[str, ...]


def render(flow_name: str, inputs: list[Input], project: Project, options: Options) -> str:
    """The workflow file's text."""
    lines = [
        f"# Written by 'ketch ci github {project.flow_path}': tests the project, runs",
        f"# {flow_name} and uploads its cards. Regenerate with --force after changing the",
        "# flow's parameters.",
        f"name: {flow_name}",
        "",
        *_triggers(inputs, options),
        "",
        "permissions:",
        "  contents: read",
        "",
        "defaults:",
        "  run:",
        "    shell: bash",
        "",
        "jobs:",
        f"  {_id_name(flow_name)}:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        *_steps(flow_name, inputs, project, options),
    ]
    return "\n".join(lines) + "\n"


def _triggers(inputs: list[Input], options: Options) -> list[str]:
    lines = ["on:", "  push:"]
    if options.branches:
        lines += ["    branches:", *(f"      - {_quote(b)}" for b in options.branches)]
    if options.schedule:
        lines += ["  schedule:", f"    - cron: {_quote(options.schedule)}"]
    lines.append("  workflow_dispatch:")
    if inputs:
        lines.append("    inputs:")
    for item in inputs:
        lines += [
            f"      {item.name}:",
            f"        description: {_quote(item.description)}",
            f"        type: {item.type}",
            f"        required: {'true' if item.required else 'false'}",
        ]
        if item.default is not None:
            lines.append(f"        default: {item.default}")
    return lines


def _run_block(name: str, script: Iterable[str], extra: Iterable[str] = ()) -> list[str]:
    return [f"      - name: {name}", *extra, "        run: |", *(f"          {s}" for s in script)]


def _steps(flow_name: str, inputs: list[Input], project: Project, options: Options) -> list[str]:
    flow = shlex.quote(project.flow_path)
    run_env = [
        "        env:",
        *(f"          {i.env_name}: ${{{{ inputs.{i.name} }}}}" for i in inputs),
    ]
    has_configs = any(i.config for i in inputs)
    top = ' "${top[@]}"' if has_configs else ""
    args = ' "${args[@]}"' if len(inputs) > sum(i.config for i in inputs) else ""
    run_script = [
        *(["top=()"] if top else []),
        *(["args=()"] if args else []),
        *(i.shell_line for i in inputs),
        f"python {flow}{top} run --run-id-file {RUN_ID_FILE}{args}",
    ]
    export_script = [
        f"if [ -f {RUN_ID_FILE} ]; then",
        f'  python {flow} card export "$(cat {RUN_ID_FILE})" --output-dir {CARDS_DIR}',
        "fi",
    ]
    return [
        "      - uses: actions/checkout@v5",
        "      - uses: actions/setup-python@v6",
        "        with:",
        f"          python-version: {_quote(options.python)}",
        *_run_block("Install the project", project.install),
        # pytest exits 5 when the project has no tests: that is not a failure here.
        *_run_block("Run the tests", ["pytest || [ $? -eq 5 ]"]),
        *_run_block(f"Run {flow_name}", run_script, run_env if inputs else ()),
        *_run_block("Export the run's cards", export_script, ["        if: always()"]),
        "      - name: Upload the cards",
        "        if: always()",
        "        uses: actions/upload-artifact@v6",
        "        with:",
        f"          name: {_id_name(flow_name)}-cards",
        f"          path: {CARDS_DIR}",
        "          if-no-files-found: ignore",
    ]


def write_workflow(flow_file: str, output: str | None, force: bool, options: Options) -> Path:
    """Load the flow (without running it), render its workflow and write it; the path."""
    from ..flow._load import load_flow_class

    file = Path(flow_file).resolve()
    flow_cls = load_flow_class(file)
    project = project_of(file)
    target = Path(output) if output else project.root / ".github" / "workflows"
    if not output:
        target = target / f"{_id_name(flow_cls.__name__)}.yml"
    if target.exists() and not force:
        raise UserError(
            f"{target} already exists.",
            hint="Pass --force to overwrite it, or --output to write elsewhere.",
            headline="Not overwriting the workflow file",
        )
    text = render(flow_cls.__name__, flow_inputs(flow_cls), project, options)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


@click.command(
    short_help="Write a GitHub Actions workflow that tests the project and runs FLOW_FILE.",
    help="Write .github/workflows/<flow>.yml: test the project, run the flow "
    "(parameters from workflow_dispatch inputs) and upload its cards.",
)
@click.argument("flow_file", type=click.Path())
@click.option(
    "--output", default=None, help="Where to write (default: <repo>/.github/workflows/<flow>.yml)."
)
@click.option(
    "--python",
    "python",
    default=f"{sys.version_info.major}.{sys.version_info.minor}",
    show_default=True,
    help="The Python version the workflow sets up.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing workflow file.")
@click.option(
    "--schedule",
    default=None,
    metavar="CRON",
    help="Also run on this cron schedule, e.g. '0 6 * * 1'.",
)
@click.option(
    "--branch",
    "branches",
    multiple=True,
    help="Run on pushes to this branch only (repeatable; default: every push).",
)
def github(
    flow_file: str,
    output: str | None,
    python: str,
    force: bool,
    schedule: str | None,
    branches: tuple[str, ...],
) -> None:
    target = write_workflow(flow_file, output, force, Options(python, schedule, branches))
    click.echo(f"Workflow written to {target}")


def ci_group() -> click.Group:
    """The ``ketch ci`` command group."""
    group = click.Group("ci", help="Write continuous-integration workflows for a flow.")
    group.add_command(github)
    return group
