"""``python flow.py card view | get | list``: thin commands over :mod:`ketch.cards`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..exceptions import NotFoundError, UserError
from ._client import Card, get_cards, open_in_browser, require_cards


def _task(flow_name: str, path: str) -> Any:
    """The task of RUN/STEP/TASK (or of RUN/STEP when the step has exactly one task)."""
    from ..client import Step, Task, namespace

    namespace(None)
    parts = path.strip("/").split("/")
    if len(parts) == 3:
        return Task(f"{flow_name}/{'/'.join(parts)}")
    if len(parts) == 2:
        tasks = list(Step(f"{flow_name}/{parts[0]}/{parts[1]}"))
        if len(tasks) == 1:
            return tasks[0]
        raise UserError(
            f"Step '{flow_name}/{path.strip('/')}' has {len(tasks)} tasks.",
            hint="Name one: RUN/STEP/TASK (see 'card list RUN/STEP').",
        )
    raise UserError(f"'{path}' is not a task path.", hint="Use RUN/STEP/TASK, e.g. 12/train/3.")


def _tasks(flow_name: str, path: str | None) -> list[Any]:
    """Every task under RUN, RUN/STEP or RUN/STEP/TASK (default: the latest run)."""
    from ..client import Flow, Run, Step, namespace

    namespace(None)
    parts = path.strip("/").split("/") if path else []
    if not parts:
        run = Flow(flow_name).latest_run
        if run is None:
            raise NotFoundError(f"Flow {flow_name} has no runs.")
        return [task for step in run for task in step]
    if len(parts) == 1:
        return [task for step in Run(f"{flow_name}/{parts[0]}") for task in step]
    if len(parts) == 2:
        return list(Step(f"{flow_name}/{parts[0]}/{parts[1]}"))
    return [_task(flow_name, path or "")]


def _selected(flow_name: str, path: str, card_id: str | None, card_type: str | None) -> Card:
    task = _task(flow_name, path)
    cards = get_cards(task, id=card_id, type=card_type)
    require_cards(task, cards, card_id, card_type)
    if len(cards) > 1:
        click.echo(
            f"{task.pathspec} has {len(cards)} matching cards; showing the first "
            "(choose one with --id or --type).",
            err=True,
        )
    return cards[0]


def _select_options(func: Any) -> Any:
    func = click.option("--type", "card_type", default=None, help="Only cards of this type.")(func)
    return click.option("--id", "card_id", default=None, help="Only the card with this id.")(func)


def card_group(flow_name: str) -> click.Group:
    """The ``card`` command group of a flow's command line."""

    @click.group(help="View, get and list the cards of tasks.")
    def card() -> None:
        pass

    @card.command(help="Write a task's card to an HTML file, print its path and open it.")
    @click.argument("path", metavar="RUN/STEP/TASK")
    @_select_options
    def view(path: str, card_id: str | None, card_type: str | None) -> None:
        target = _selected(flow_name, path, card_id, card_type).save()
        click.echo(str(target))
        open_in_browser(target)

    @card.command(help="Print a task's card as HTML, or write it to FILE.")
    @click.argument("path", metavar="RUN/STEP/TASK")
    @click.argument("file", required=False, type=click.Path(dir_okay=False))
    @_select_options
    def get(path: str, file: str | None, card_id: str | None, card_type: str | None) -> None:
        selected = _selected(flow_name, path, card_id, card_type)
        if file is None:
            click.echo(selected.get(), nl=False)
        else:
            click.echo(f"Card written to {selected.save(file)}", err=True)

    @card.command(name="list", help="List the cards of RUN[/STEP[/TASK]] (default: latest run).")
    @click.argument("path", metavar="[RUN[/STEP[/TASK]]]", required=False)
    @click.option("--as-json", is_flag=True, help="Print JSON instead of text.")
    def list_(path: str | None, as_json: bool) -> None:
        found = [(task, card) for task in _tasks(flow_name, path) for card in get_cards(task)]
        if as_json:
            rows = [_card_dict(task, c) for task, c in found]
            click.echo(json.dumps(rows, indent=2))
            return
        if not found:
            click.echo("No cards found.", err=True)
            return
        last = None
        for task, c in found:
            if task.pathspec != last:
                click.echo(f"Cards of {task.pathspec}:")
                last = task.pathspec
            card_id = f"id={c.id}" if c.id else ""
            error = "  (render error)" if c.error else ""
            click.echo(f"  {c.position:>2}  {c.type:<8} {card_id:<16} {c.hash[:12]}{error}")

    @card.command(help="Write every card of RUN[/STEP[/TASK]] (default: latest run) to a folder.")
    @click.argument("path", metavar="[RUN[/STEP[/TASK]]]", required=False)
    @click.option("--output-dir", default="cards", show_default=True, type=click.Path())
    def export(path: str | None, output_dir: str) -> None:
        written = export_cards(_tasks(flow_name, path), Path(output_dir))
        click.echo(f"{len(written)} card(s) written to {output_dir}", err=True)

    return card


def export_cards(tasks: list[Any], folder: Path) -> list[Path]:
    """Save the cards of ``tasks`` as ``STEP-TASK-TYPE[-ID]-POSITION.html`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for task in tasks:
        step, task_id = task.pathspec.split("/")[-2:]
        for c in get_cards(task):
            name = "-".join(p for p in (step, task_id, c.type, c.id, str(c.position)) if p)
            written.append(c.save(folder / f"{name}.html"))
    return written


def _card_dict(task: Any, c: Card) -> dict[str, Any]:
    return {
        "pathspec": task.pathspec,
        "position": c.position,
        "type": c.type,
        "id": c.id,
        "hash": c.hash,
        "error": c.error,
    }
