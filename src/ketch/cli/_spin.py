"""``python flow.py spin PATHSPEC``: run one step of a past run again (see ketch.runtime._spin)."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import click

from ..exceptions import NotFoundError, StoreNotFoundError, UserError
from ._paths import check_output_file


def load_artifacts_module(path: str) -> dict[str, Any]:
    """The ``ARTIFACTS`` dict of the module at ``path``."""
    file = Path(path)
    if not file.is_file():
        raise UserError(
            f"--artifacts-module '{path}' does not exist.",
            hint="Give the path of a Python file that defines ARTIFACTS = {name: value}.",
        )
    spec = importlib.util.spec_from_file_location(f"_ketch_spin_{file.stem}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise UserError(
            f"Importing --artifacts-module '{path}' raised {type(exc).__name__}: {exc}",
            hint="Fix the module.",
        ) from None
    artifacts = getattr(module, "ARTIFACTS", None)
    if not isinstance(artifacts, dict) or not all(isinstance(k, str) for k in artifacts):
        raise UserError(
            f"--artifacts-module '{path}' has no ARTIFACTS dict.",
            hint="Define ARTIFACTS = {'artifact_name': value, ...} at its top level.",
        )
    return artifacts


def _write_whole(path: str, text: str) -> None:
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def spin_command(flow_cls: type[Any], flow_file: Path) -> click.Command:
    @click.command(help="Run one step of a past run again, locally, with that task's inputs.")
    @click.argument("pathspec")
    @click.option(
        "--skip-decorators/--no-skip-decorators",
        default=False,
        help="Run the step without its decorators (@timeout, @catch, @card, @environment...).",
    )
    @click.option(
        "--artifacts-module",
        default=None,
        metavar="FILE",
        help="A Python file whose ARTIFACTS dict replaces input artifacts by name.",
    )
    @click.option(
        "--persist/--no-persist",
        default=False,
        help="Record the spun task's artifacts in the spin store (read with inspect_spin).",
    )
    @click.option("--max-log-size", default=10, type=int, hidden=True, help="Accepted; unused.")
    @click.option("--run-id-file", default=None, help="Write the spin run's id to this file.")
    @click.option("--runner-attribute-file", default=None, hidden=True)
    @click.pass_context
    def spin(
        ctx: click.Context,
        pathspec: str,
        skip_decorators: bool,
        artifacts_module: str | None,
        persist: bool,
        max_log_size: int,
        run_id_file: str | None,
        runner_attribute_file: str | None,
    ) -> None:
        from ..flow import parse_with
        from ..graph import build_graph, lint
        from ..runtime import StepPolicy, build_policies
        from ..runtime._spin import SpinRequest, execute_spin, parse_pathspec
        from ..settings import require_home, resolve

        for path, flag in ((run_id_file, "--run-id-file"), (runner_attribute_file, "")):
            if path is not None and flag:
                check_output_file(path, flag)
        settings = resolve({}, create_home=False)
        try:
            require_home(settings)
        except StoreNotFoundError:
            raise NotFoundError(
                f"{flow_cls.__name__} has no run to spin a step of: there is no ketch store here.",
                hint=f"Run it first: python {flow_file.name} run.",
            ) from None
        graph = build_graph(flow_cls)
        lint(graph)
        step = parse_pathspec(pathspec, flow_cls.__name__)[1]
        policy = StepPolicy()
        if not skip_decorators:
            specs = [parse_with(s) for s in ctx.obj["with"]]
            policy = build_policies(flow_cls, graph, specs).get(step, StepPolicy())
        artifacts = load_artifacts_module(artifacts_module) if artifacts_module else {}
        outcome = execute_spin(
            SpinRequest(
                flow_cls,
                graph,
                flow_file,
                settings,
                pathspec,
                policy=replace_retries(policy),
                artifacts=artifacts,
                persist=persist,
                quiet=ctx.obj["quiet"],
            )
        )
        if run_id_file:
            _write_whole(run_id_file, str(outcome.run_id))
        if runner_attribute_file:
            record = {
                "flow_name": outcome.flow_name,
                "run_id": str(outcome.run_id),
                "step_name": outcome.step_name,
                "task_id": str(outcome.task_id),
                "metadata": f"local@{outcome.home}",
                "home": str(outcome.home),
                "metadata_url": "",
                "datastore_url": settings.datastore_url,
            }
            _write_whole(runner_attribute_file, json.dumps(record))
        if not ctx.obj["quiet"]:
            pathspec = f"{outcome.flow_name}/{outcome.run_id}/{outcome.step_name}/{outcome.task_id}"
            click.echo(f"Spun {pathspec}; read it with ketch.inspect_spin().", err=True)
        if not outcome.ok:
            ctx.exit(1)

    return spin


def replace_retries(policy: Any) -> Any:
    """A spin runs the step once: ``@retry`` is not applied."""
    from dataclasses import replace

    return replace(policy, retries=0)
