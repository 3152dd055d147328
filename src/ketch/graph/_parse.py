"""Build the static graph of a flow class by reading the source of its steps.

A step's transitions are read from its last statement, ``self.next(...)``, through ``ast``;
nothing of the flow is executed. Malformed steps are recorded, not rejected: the lint rules
report them with file and line. Only a flow whose source cannot be read or parsed raises.
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ketch.exceptions import FlowDefinitionError
from ketch.graph._model import PARALLEL_VAR, CaseKey, FlowGraph, NodeType, StepNode
from ketch.graph._switch import SWITCH_FORM, is_switch_call, parse_switch
from ketch.graph._walk import walk_graph

FunctionAST = ast.FunctionDef | ast.AsyncFunctionDef

_SOURCE_HINT = (
    "Define every @step with a plain `def` in a .py file: ketch reads each step's source "
    "to find its self.next() transitions."
)


_SYNTAX_HINT = "Fix the syntax error; `python -m py_compile FILE` shows where it is."
_DICT_NEEDS_CONDITION = (
    f"a dict of steps is a switch: it needs condition='attribute' and must be the only "
    f"argument, as in {SWITCH_FORM}"
)
_CONDITION_NEEDS_DICT = (
    f"condition= makes a switch: its cases must be written as a dict literal, the only "
    f"argument, as in {SWITCH_FORM}"
)


@dataclass(frozen=True)
class _Transition:
    """What the tail ``self.next(...)`` of a step says, and what is wrong with it."""

    lineno: int = 0
    targets: tuple[str, ...] = ()
    foreach: str | None = None
    foreach_given: bool = False
    num_parallel: int = 0
    problems: tuple[str, ...] = ()
    switch: bool = False
    condition: str | None = None
    switch_cases: tuple[tuple[CaseKey, str], ...] = ()


def build_graph(flow_cls: type) -> FlowGraph:
    """Parse ``flow_cls`` into a frozen :class:`FlowGraph`.

    Every attribute of the class or of its bases that is a function marked ``is_step`` is a
    step. Its source is parsed to find its arguments, decorators, docstring and the
    transition named by its last statement.

    Parameters
    ----------
    flow_cls
        The flow class (a ``FlowSpec`` subclass, or any class with step methods).

    Returns
    -------
    FlowGraph
        The graph, whether valid or not; call :func:`ketch.graph.lint` to validate it.

    Raises
    ------
    FlowDefinitionError
        When the source of the class or of one of its steps cannot be read or parsed.

    Examples
    --------
    >>> graph = build_graph(HelloFlow)  # doctest: +SKIP
    >>> graph["start"].out_funcs  # doctest: +SKIP
    ('hello',)
    """
    file = _class_file(flow_cls)
    parsed = [_parse_step(flow_cls, name, func) for name, func in _find_steps(flow_cls)]
    start, end = _start_and_end(parsed)
    typed = [_final_type(node, start, end) for node in parsed]
    nodes = _link(typed, start)
    return FlowGraph(
        flow_name=flow_cls.__name__,
        file=file,
        doc=inspect.cleandoc(flow_cls.__doc__ or ""),
        nodes=nodes,
        start=start,
        end=end,
        lineno=_class_line(flow_cls),
    )


def _class_file(flow_cls: type) -> str:
    try:
        file = inspect.getsourcefile(flow_cls)
    except (OSError, TypeError) as exc:
        raise FlowDefinitionError(
            f"Cannot locate the file that defines flow {flow_cls.__name__}: {exc}",
            hint=_SOURCE_HINT,
        ) from exc
    if file is None:
        raise FlowDefinitionError(
            f"Cannot locate the file that defines flow {flow_cls.__name__}.", hint=_SOURCE_HINT
        )
    return os.path.abspath(file)


def _class_line(flow_cls: type) -> int:
    try:
        return inspect.getsourcelines(flow_cls)[1]
    except (OSError, TypeError):
        return 0  # only used to point flow-level lint errors somewhere


def _find_steps(flow_cls: type) -> list[tuple[str, Callable[..., Any]]]:
    """The step methods of the class and its bases, bases first, each in source order.

    A name defined in several classes belongs to the most derived one, so a subclass can
    override a base step, or hide it with a plain method.
    """
    mro = flow_cls.__mro__
    owner: dict[str, tuple[int, Any]] = {}
    for depth, klass in enumerate(mro):
        for name, value in vars(klass).items():
            owner.setdefault(name, (len(mro) - depth, value))
    steps = [
        (depth, _first_line(value), name, value)
        for name, (depth, value) in owner.items()
        if callable(value) and getattr(value, "is_step", False) is True
    ]
    steps.sort(key=lambda item: (item[0], item[1], item[2]))
    return [(name, value) for _, _, name, value in steps]


def _first_line(func: Any) -> int:
    code = getattr(inspect.unwrap(func), "__code__", None)
    return int(getattr(code, "co_firstlineno", 0))


def _parse_step(flow_cls: type, name: str, func: Callable[..., Any]) -> StepNode:
    where = f"step '{name}' of flow {flow_cls.__name__}"
    try:
        file = os.path.abspath(inspect.getsourcefile(func) or inspect.getfile(func))
        lines, first = inspect.getsourcelines(func)
    except (OSError, TypeError) as exc:
        raise FlowDefinitionError(
            f"Cannot read the source of {where}: {exc}", hint=_SOURCE_HINT
        ) from exc
    except (SyntaxError, tokenize.TokenError) as exc:
        # The file changed since it was imported, and no longer parses.
        raise FlowDefinitionError(
            f"Cannot parse the source of {where} ({file}): {exc}", hint=_SYNTAX_HINT
        ) from exc
    func_ast, offset = _parse_function("".join(lines), first - 1, file, where)
    self_name = _self_name(func_ast)
    num_args = len(func_ast.args.posonlyargs) + len(func_ast.args.args)
    transition = _parse_transition(func_ast, self_name, offset)
    calls = [d for d in func_ast.decorator_list if isinstance(d, ast.Call)]
    return StepNode(
        name=name,
        type=_shape_type(transition, num_args),
        out_funcs=transition.targets,
        in_funcs=(),
        foreach_param=PARALLEL_VAR if transition.num_parallel else transition.foreach,
        num_args=num_args,
        lineno=offset + func_ast.lineno,
        doc=ast.get_docstring(func_ast) or "",
        decorators=tuple(_decorator_name(d) for d in func_ast.decorator_list),
        next_lineno=transition.lineno,
        has_valid_next=transition.lineno > 0 and not transition.problems,
        next_problems=transition.problems,
        file=file,
        annotated_start=_annotated(func, calls, "start"),
        annotated_end=_annotated(func, calls, "end"),
        condition=transition.condition,
        switch_cases=transition.switch_cases,
        num_parallel=transition.num_parallel,
    )


def _parse_function(source: str, offset: int, file: str, where: str) -> tuple[FunctionAST, int]:
    """The ``def`` node of a step's source, and the offset that makes its lines absolute."""
    try:
        body = ast.parse(textwrap.dedent(source)).body
    except SyntaxError:
        # A multi-line string that starts at column 0 defeats dedent; an indented block
        # accepts the original indentation as it is.
        try:
            block = ast.parse("if True:\n" + source).body[0]
        except SyntaxError as exc:
            line = offset + (exc.lineno or 1) - 1
            raise FlowDefinitionError(
                f"Cannot parse the source of {where} ({file}, line {line}): {exc.msg}",
                hint=_SYNTAX_HINT,
            ) from exc
        assert isinstance(block, ast.If)
        body, offset = block.body, offset - 1
    if not body or not isinstance(body[0], ast.FunctionDef | ast.AsyncFunctionDef):
        raise FlowDefinitionError(
            f"The source of {where} ({file}, line {offset + 1}) is not a function definition.",
            hint=_SOURCE_HINT,
        )
    return body[0], offset


def _self_name(func_ast: FunctionAST) -> str:
    positional = func_ast.args.posonlyargs + func_ast.args.args
    return positional[0].arg if positional else "self"


def _decorator_name(expr: ast.expr) -> str:
    """``step`` for ``@step``, ``@step(...)``, ``@ketch.step`` and ``@ketch.step(...)``."""
    target = expr.func if isinstance(expr, ast.Call) else expr
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    return ast.unparse(target)


def _annotated(func: Any, calls: Sequence[ast.Call], which: str) -> bool:
    """True for ``@step(start=True)`` (or ``end``), seen in the source or set by the decorator."""
    # ketch's @step records the keyword as ``step_start``; Metaflow's as ``is_start_step``.
    if any(getattr(func, attr, False) is True for attr in (f"step_{which}", f"is_{which}_step")):
        return True
    for call in calls:
        if _decorator_name(call) != "step":
            continue
        for keyword in call.keywords:
            value = keyword.value
            if keyword.arg == which and isinstance(value, ast.Constant) and value.value is True:
                return True
    return False


def _is_next_call(node: ast.AST | None, self_name: str) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    return node.func.attr == "next" and isinstance(owner, ast.Name) and owner.id == self_name


def _parse_transition(func_ast: FunctionAST, self_name: str, offset: int) -> _Transition:
    tail = func_ast.body[-1]
    call = tail.value if isinstance(tail, ast.Expr) else None
    if not isinstance(call, ast.Call) or not _is_next_call(call, self_name):
        stray = [
            offset + node.lineno
            for statement in func_ast.body
            for node in ast.walk(statement)
            if isinstance(node, ast.Call) and _is_next_call(node, self_name)
        ]
        return _Transition(
            problems=tuple(
                f"self.next() is called on line {line}, but not as the last statement"
                for line in stray
            )
        )
    if is_switch_call(call):
        shape = parse_switch(call, self_name)
        return _Transition(
            lineno=offset + call.lineno,
            targets=shape.targets,
            problems=shape.problems,
            switch=True,
            condition=shape.condition,
            switch_cases=shape.cases,
        )
    problems: list[str] = []
    if any(keyword.arg == "condition" for keyword in call.keywords):
        problems.append(_CONDITION_NEEDS_DICT)  # the root cause, whatever the arguments are
    targets = _targets(call, self_name, problems)
    foreach, foreach_given = _keywords(call, problems)
    if foreach_given and len(call.args) != 1:
        problems.append(
            "a foreach transition takes exactly one step, as in "
            "self.next(self.body, foreach='items')"
        )
    num_parallel = _num_parallel(call, problems)
    if num_parallel and (foreach_given or len(call.args) != 1):
        problems.append(
            "a num_parallel transition takes exactly one step and no foreach=, as in "
            "self.next(self.train, num_parallel=4)"
        )
    return _Transition(
        lineno=offset + call.lineno,
        targets=targets,
        foreach=foreach,
        foreach_given=foreach_given,
        num_parallel=num_parallel,
        problems=tuple(dict.fromkeys(problems)),
    )


def _targets(call: ast.Call, self_name: str, problems: list[str]) -> tuple[str, ...]:
    targets: list[str] = []
    for position, arg in enumerate(call.args, start=1):
        if (
            isinstance(arg, ast.Attribute)
            and isinstance(arg.value, ast.Name)
            and arg.value.id == self_name
        ):
            targets.append(arg.attr)
        elif isinstance(arg, ast.Dict):
            problems.append(_DICT_NEEDS_CONDITION)
        elif isinstance(arg, ast.Starred):
            problems.append("the steps must be listed one by one, not unpacked with *")
        else:
            problems.append(
                f"argument {position} of self.next() is `{ast.unparse(arg)}`, "
                f"not a step written as {self_name}.<step>"
            )
    if not call.args:
        problems.append("self.next() names no step")
    repeated = sorted({t for t in targets if targets.count(t) > 1})
    if repeated:
        problems.append(f"self.next() names step '{repeated[0]}' more than once")
    return tuple(targets)


def _keywords(call: ast.Call, problems: list[str]) -> tuple[str | None, bool]:
    foreach: str | None = None
    foreach_given = False
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg == "foreach":
            foreach_given = True
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                if value.value.isidentifier():
                    foreach = value.value
                    continue
            problems.append(
                "foreach= must be a string literal naming an attribute, as in foreach='items'"
            )
        elif keyword.arg is None:
            problems.append("keyword arguments cannot be unpacked with ** in self.next()")
        elif keyword.arg == "condition":
            problems.append(_CONDITION_NEEDS_DICT)
        elif keyword.arg != "num_parallel":  # read by _num_parallel
            problems.append(
                f"unknown keyword argument '{keyword.arg}' (only foreach= and num_parallel= "
                "are allowed)"
            )
    return foreach, foreach_given


def _num_parallel(call: ast.Call, problems: list[str]) -> int:
    """N of ``num_parallel=N``: an int literal >= 1; 0 when absent or invalid."""
    for keyword in call.keywords:
        if keyword.arg != "num_parallel":
            continue
        value = keyword.value
        if isinstance(value, ast.Constant) and type(value.value) is int and value.value >= 1:
            return value.value
        problems.append(
            f"num_parallel={ast.unparse(value)} is not an integer literal >= 1, as in "
            "num_parallel=4 (the size of the gang is fixed when the flow is checked)"
        )
    return 0


def _shape_type(transition: _Transition, num_args: int) -> NodeType:
    """The type the transition gives a step, before the start and end are known."""
    if transition.switch:
        return "split-switch"
    if transition.foreach_given or transition.num_parallel:
        return "foreach"
    if len(transition.targets) > 1:
        return "split"
    return "join" if num_args == 2 else "linear"


def _start_and_end(nodes: Sequence[StepNode]) -> tuple[str, str]:
    """The start and end steps; empty when there is no unique one (lint explains)."""
    names = {node.name for node in nodes}
    if len(names) == 1:
        (only,) = names
        return only, only

    def pick(marked: list[str], fallback: str) -> str:
        if marked:
            return marked[0] if len(marked) == 1 else ""
        return fallback if fallback in names else ""

    start = pick([n.name for n in nodes if n.annotated_start], "start")
    end = pick([n.name for n in nodes if n.annotated_end], "end")
    return start, end


def _final_type(node: StepNode, start: str, end: str) -> StepNode:
    if node.name == end:
        return replace(node, type="end")
    if node.name == start and node.type == "linear":
        return replace(node, type="start")
    return node


def _link(nodes: Sequence[StepNode], start: str) -> dict[str, StepNode]:
    """Fill ``in_funcs``, ``split_parents`` and ``matching_join`` from the transitions."""
    names = {node.name for node in nodes}
    parents: dict[str, set[str]] = {node.name: set() for node in nodes}
    for node in nodes:
        for child in node.out_funcs:
            if child in names:
                parents[child].add(node.name)
    walk = walk_graph(
        start,
        {node.name: node.out_funcs for node in nodes},
        {node.name: node.type for node in nodes},
    )
    matching: dict[str, str] = {}
    for join in walk.order:
        if join in walk.closes:
            matching.setdefault(walk.closes[join][0], join)
    return {
        node.name: replace(
            node,
            in_funcs=tuple(sorted(parents[node.name])),
            split_parents=tuple(split for split, _ in walk.context.get(node.name, ())),
            matching_join=matching.get(node.name),
        )
        for node in nodes
    }
