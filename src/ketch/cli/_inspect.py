"""Commands that read past runs: ``dump``, ``logs`` and ``tag``."""

from __future__ import annotations

import pickle
import reprlib
from typing import Any

import click

from ..exceptions import NotFoundError, UserError
from ._paths import check_output_file, write_failed


def _tasks(flow_name: str, input_path: str) -> list[Any]:
    from ..client import Step, Task, namespace

    namespace(None)
    parts = input_path.strip("/").split("/")
    if len(parts) == 2:
        return list(Step(f"{flow_name}/{parts[0]}/{parts[1]}"))
    if len(parts) == 3:
        return [Task(f"{flow_name}/{input_path.strip('/')}")]
    raise UserError(
        f"'{input_path}' is not a valid path.",
        hint="Use RUN_ID/STEP_NAME or RUN_ID/STEP_NAME/TASK_ID.",
    )


def _shorten(value: Any, limit: int) -> str:
    text = reprlib.Repr()
    text.maxstring = limit
    text.maxother = limit
    out = repr(value)
    return out if limit <= 0 or len(out) <= limit else out[:limit] + "..."


def dump_command(flow_name: str) -> click.Command:
    @click.command(help="Print the artifacts of RUN/STEP or RUN/STEP/TASK.")
    @click.argument("input_path")
    @click.option("--private/--no-private", default=False, help="Include _private artifacts.")
    @click.option("--max-value-size", type=int, default=1000, help="Truncate values (0: names).")
    @click.option("--include", default="", help="Comma-separated artifact names to show.")
    @click.option("--file", "file", default=None, help="Pickle {pathspec: {name: value}} here.")
    def dump(
        input_path: str, private: bool, max_value_size: int, include: str, file: str | None
    ) -> None:
        if file is not None:
            check_output_file(file, "--file")
        wanted = {n for n in include.split(",") if n}
        shown = [(task, _shown_names(task, private)) for task in _tasks(flow_name, input_path)]
        if wanted:
            _check_included([names for _, names in shown], wanted, private, input_path)
        out: dict[str, dict[str, Any]] = {}
        for task, names in shown:
            values = {name: task[name].data for name in names if not wanted or name in wanted}
            out[task.pathspec] = values
            if file is None:
                click.echo(f"Dumping output of {task.pathspec}")
                for name in sorted(values):
                    if max_value_size == 0:
                        click.echo(f"  {name}")
                    else:
                        click.echo(f"  {name}: {_shorten(values[name], max_value_size)}")
        if file is not None:
            try:
                with open(file, "wb") as fh:
                    pickle.dump(out, fh)
            except OSError as exc:
                raise write_failed(file, "--file", exc) from None
            click.echo(f"Artifacts written to {file}")

    return dump


def _shown_names(task: Any, private: bool) -> list[str]:
    """The artifact names ``dump`` shows for ``task``."""
    names = [record.name for record in task._artifact_records()]
    return [n for n in names if private or not n.startswith("_")]


def _check_included(shown: list[list[str]], wanted: set[str], private: bool, where: str) -> None:
    """Refuse ``--include`` names that no task shown has (Metaflow prints nothing for them)."""
    available = sorted({name for names in shown for name in names})
    missing = sorted(wanted.difference(available))
    if not missing:
        return
    names = ", ".join(repr(n) for n in missing)
    hint = f"Available: {', '.join(available)}." if available else "It has no artifacts."
    if not private and any(n.startswith("_") for n in missing):
        hint += " Private artifacts (named _...) need --private."
    raise NotFoundError(
        f"No task of '{where}' has the artifact{'s' if len(missing) > 1 else ''} {names}.",
        hint=hint,
        headline="Artifact not found",
    )


def logs_command(flow_name: str) -> click.Command:
    @click.command(help="Print the output of RUN/STEP or RUN/STEP/TASK.")
    @click.argument("input_path")
    @click.option("--stdout", "stream", flag_value="stdout", help="Only stdout.")
    @click.option("--stderr", "stream", flag_value="stderr", help="Only stderr.")
    @click.option("--both", "stream", flag_value="both", default=True, help="Both (default).")
    def logs(input_path: str, stream: str) -> None:
        tasks = _tasks(flow_name, input_path)
        if not tasks:
            raise NotFoundError(f"'{input_path}' has no tasks.")
        for task in tasks:
            if len(tasks) > 1:
                click.echo(f"--- {task.pathspec}")
            if stream in ("stdout", "both"):
                click.echo(task.stdout, nl=False)
            if stream in ("stderr", "both"):
                click.echo(task.stderr, nl=False, err=stream == "both")

    return logs


def _run(flow_name: str, run_id: str) -> Any:
    from ..client import Run, namespace

    namespace(None)
    return Run(f"{flow_name}/{run_id}")


def tag_group(flow_name: str) -> click.Group:
    @click.group(help="Add, remove or list the tags of a run.")
    def tag() -> None:
        pass

    @tag.command(help="Add tags to a run.")
    @click.argument("tags", nargs=-1, required=True)
    @click.option("--run-id", required=True, help="The run to tag.")
    def add(tags: tuple[str, ...], run_id: str) -> None:
        _run(flow_name, run_id).add_tags(list(tags))

    @tag.command(help="Remove user tags from a run.")
    @click.argument("tags", nargs=-1, required=True)
    @click.option("--run-id", required=True, help="The run to untag.")
    def remove(tags: tuple[str, ...], run_id: str) -> None:
        _run(flow_name, run_id).remove_tags(list(tags))

    @tag.command(help="Remove then add tags, in one step.")
    @click.option("--run-id", required=True)
    @click.option("--add", "add_", multiple=True)
    @click.option("--remove", multiple=True)
    def replace(run_id: str, add_: tuple[str, ...], remove: tuple[str, ...]) -> None:
        if not add_ or not remove:  # as Metaflow's: 'tag add' and 'tag remove' do the rest
            raise UserError(
                "tag replace needs at least one --add and one --remove.",
                hint="Use 'tag add' to only add tags, 'tag remove' to only remove them.",
            )
        _run(flow_name, run_id).replace_tags(list(remove), list(add_))

    @tag.command(name="list", help="List the tags of a run (default: the latest).")
    @click.argument("run_id", required=False)
    @click.option("--run-id", "run_id_opt", default=None)
    @click.option("--hide-system-tags", is_flag=True)
    @click.option("--flat", is_flag=True, hidden=True)
    def list_(
        run_id: str | None, run_id_opt: str | None, hide_system_tags: bool, flat: bool
    ) -> None:
        from ..client import Flow, namespace

        namespace(None)
        chosen = run_id or run_id_opt
        run = _run(flow_name, chosen) if chosen else Flow(flow_name).latest_run
        if run is None:
            raise NotFoundError(f"Flow {flow_name} has no runs.")
        if flat:  # as Metaflow's: a first line, then one tag a line, on stderr
            click.echo(f"Tags of run {run.pathspec}:", err=True)
            for t in sorted(run.user_tags if hide_system_tags else run.tags):
                click.echo(t, err=True)
            return
        click.echo(f"Run {run.pathspec}")
        click.echo("  user tags:   " + (", ".join(sorted(run.user_tags)) or "(none)"))
        if not hide_system_tags:
            click.echo("  system tags: " + ", ".join(sorted(run.system_tags)))

    return tag
