"""Opt-in parts of the canonical dump: Client API behaviour beyond what every case compares.

A case lists the probes it wants (``Case.probes``); ``extract.py --probe NAME`` adds
``canonical["probes"][NAME]``. Cases without probes dump exactly what they always did, so their
goldens stay as recorded. Tasks are named ``step[i]``, ``i`` being the task's place in the
content order of ``canonical["run"]["steps"][step]`` (never an id, which differs between runs).

``lineage``
    Per task: its parent and child tasks (``parent_task_pathspecs``, ``child_task_pathspecs``)
    as task names, and whether ``parent_tasks``/``child_tasks`` name the same tasks.
``steps``
    Per step: ``parent_steps`` and ``child_steps`` (for a run whose steps all ran).
``exception``
    Per failed task: ``Task.exception``'s ``type`` (the class name for a built-in, else
    ``$non_builtin``), ``exception`` (the message), whether it is an ``Exception``, whether
    ``str()`` is the stacktrace, and whether the stacktrace ends with ``Type: message``.
``private=_a,_b``
    Per task holding one of those artifacts: how each access path sees it.
``lookups``
    Whether a missing step, task, artifact or run raises ``KeyError``.
``metadata``
    Per task: the ``metadata_dict`` values both implementations record, and the ``attempt``
    entries of ``Task.metadata``.
``parallel``
    Per step: its ``control_tasks()`` and ``control_task``; per task of a ``@parallel`` step:
    its ``parallel-world-size`` and ``internal_task_type`` metadata, and the tasks its
    ``_control_mapper_tasks`` names (all as task names).
``provider``
    ``get_metadata()``, ``default_metadata()`` and ``metadata("local@<cwd>")`` (the harness
    replaces the directory with ``<FLOWDIR>``), and whether the switched Client sees the run.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Context:
    mod: Any  # the metaflow or ketch module
    flow_name: str
    run: Any
    ordered: dict[str, list[Any]]  # step name -> its tasks in content order
    safe: Callable[..., Any]
    canon: Callable[[Any], Any]

    def label(self, pathspec: str) -> str:
        for step, tasks in self.ordered.items():
            for i, task in enumerate(tasks):
                if task.pathspec == pathspec:
                    return f"{step}[{i}]"
        return f"?{pathspec.split('/')[-2]}"

    def tasks(self) -> list[tuple[str, Any]]:
        steps = sorted(self.ordered.items())
        return [(f"{s}[{i}]", t) for s, ts in steps for i, t in enumerate(ts)]


def lineage(ctx: Context, _arg: str) -> dict[str, Any]:
    out = {}
    for name, task in ctx.tasks():
        parents = ctx.safe(lambda t=task: sorted(t.parent_task_pathspecs), [])
        children = ctx.safe(lambda t=task: sorted(t.child_task_pathspecs), [])
        out[name] = {
            "parents": sorted(ctx.label(p) for p in parents),
            "children": sorted(ctx.label(p) for p in children),
            "parent_tasks_agree": ctx.safe(
                lambda t=task, p=parents: sorted(x.pathspec for x in t.parent_tasks) == p
            ),
            "child_tasks_agree": ctx.safe(
                lambda t=task, c=children: sorted(x.pathspec for x in t.child_tasks) == c
            ),
        }
    return out


def steps(ctx: Context, _arg: str) -> dict[str, Any]:
    return {
        step: {
            "parents": ctx.safe(lambda s=step: sorted(x.id for x in ctx.run[s].parent_steps)),
            "children": ctx.safe(lambda s=step: sorted(x.id for x in ctx.run[s].child_steps)),
        }
        for step in sorted(ctx.ordered)
    }


def exception(ctx: Context, _arg: str) -> dict[str, Any]:
    out = {}
    for name, task in ctx.tasks():
        exc = ctx.safe(lambda t=task: t.exception, None)
        if exc is not None:
            out[name] = ctx.safe(lambda e=exc: _exception(e))
    return out


def _exception(exc: Any) -> dict[str, Any]:
    short = str(exc.type).rsplit(".", 1)[-1]
    found = getattr(builtins, short, None)
    builtin = exc.type == f"builtins.{short}" and isinstance(found, type)
    stacktrace = exc.stacktrace or ""
    return {
        "type": short if builtin else "$non_builtin",
        "exception": exc.exception if builtin else None,
        "is_exception": isinstance(exc, Exception),
        "str_is_stacktrace": bool(stacktrace) and str(exc) == stacktrace,
        "stacktrace_ends_with_it": stacktrace.rstrip().endswith(f"{short}: {exc.exception}"),
    }


def private(ctx: Context, arg: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, task in ctx.tasks():
        for artifact in arg.split(","):
            if not ctx.safe(lambda t=task, a=artifact: a in t, False):
                continue
            out[f"{name}.{artifact}"] = {
                "item": ctx.safe(lambda t=task, a=artifact: ctx.canon(t[a].data)),
                "hasattr_data": ctx.safe(lambda t=task, a=artifact: hasattr(t.data, a)),
                "in_data": ctx.safe(lambda t=task, a=artifact: a in t.data),
                "iterated": ctx.safe(lambda t=task, a=artifact: a in [x.id for x in t]),
                "in_artifacts": ctx.safe(
                    lambda t=task, a=artifact: a in [x.id for x in t.artifacts]
                ),
            }
    out["run.data"] = {a: ctx.safe(lambda a=a: hasattr(ctx.run.data, a)) for a in arg.split(",")}
    return out


def lookups(ctx: Context, _arg: str) -> dict[str, Any]:
    run, flow = ctx.run, ctx.mod.Flow(ctx.flow_name)
    checks = {
        "run[missing step]": lambda: run["no_such_step"],
        "step[missing task]": lambda: run["start"]["999999"],
        "task[missing artifact]": lambda: run["start"].task["no_such_artifact"],
        "flow[run id not a number]": lambda: flow["no_such_run"],
        "flow[missing run]": lambda: flow["999999"],
    }
    out = {}
    for name, check in checks.items():
        try:
            check()
            out[name] = "no error"
        except KeyError:
            out[name] = "KeyError"
        except Exception:  # noqa: BLE001 - recorded, not raised
            out[name] = "another error"
    return out


_METADATA_KEYS = (
    "attempt",
    "attempt_ok",
    "attempt-done",
    "origin-run-id",
    "origin-task-id",
    "foreach-stack",
    "foreach-execution-path",
    "user",
    "runtime",
    "script-name",
)


def metadata(ctx: Context, _arg: str) -> dict[str, Any]:
    out = {}
    for name, task in ctx.tasks():
        md = ctx.safe(lambda t=task: t.metadata_dict, {})
        entries = ctx.safe(lambda t=task: list(t.metadata), [])
        out[name] = {
            "values": {k: md.get(k, "$absent") for k in _METADATA_KEYS},
            "python_version": "python_version" in md,
            "attempts": sorted(str(m.value) for m in entries if m.type == "attempt"),
            "entries_are_tuples": all(
                m.task.pathspec == task.pathspec and isinstance(m.created_at, int) for m in entries
            ),
        }
    return out


def provider(ctx: Context, _arg: str) -> dict[str, Any]:
    mod = ctx.mod
    out = {"get": ctx.safe(mod.get_metadata), "default": ctx.safe(mod.default_metadata)}
    out["switch"] = ctx.safe(lambda: mod.metadata("local@" + os.getcwd()))
    out["switched_sees_run"] = ctx.safe(
        lambda: mod.Flow(ctx.flow_name).latest_run.pathspec == ctx.run.pathspec
    )
    out["back"] = ctx.safe(mod.default_metadata)
    return out


def parallel(ctx: Context, _arg: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for step in sorted(ctx.ordered):
        found = ctx.safe(lambda s=step: [t.pathspec for t in ctx.run[s].control_tasks()], [])
        one = ctx.safe(lambda s=step: ctx.run[s].control_task)
        out[step] = {
            "control_tasks": sorted(ctx.label(p) for p in found),
            "control_task": None if one is None else ctx.label(one.pathspec),
        }
    for name, task in ctx.tasks():
        md = ctx.safe(lambda t=task: t.metadata_dict, {})
        if "parallel-world-size" not in md:
            continue
        mappers = ctx.safe(lambda t=task: t["_control_mapper_tasks"].data, None)
        out[name] = {
            "parallel-world-size": str(md.get("parallel-world-size")),
            "internal_task_type": md.get("internal_task_type", "$absent"),
            "control_mapper_tasks": None
            if not isinstance(mappers, list)
            else [ctx.label(f"{ctx.flow_name}/{p}") for p in mappers],
        }
    return out


PROBES: dict[str, Callable[[Context, str], dict[str, Any]]] = {
    "lineage": lineage,
    "steps": steps,
    "exception": exception,
    "private": private,
    "lookups": lookups,
    "metadata": metadata,
    "provider": provider,
    "parallel": parallel,
}


def run_probes(ctx: Context, names: list[str]) -> dict[str, Any]:
    out = {}
    for spec in names:
        name, _, arg = spec.partition("=")
        out[spec] = PROBES[name](ctx, arg)
    return out
