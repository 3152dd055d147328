"""Reading a switch transition, ``self.next({"a": self.a, "b": self.b}, condition="mode")``.

A switch takes exactly one of its targets, chosen at run time by the value of the attribute
named by ``condition``. Case keys must be known without running the flow: string or number
literals, or an attribute chain such as ``self.config.mode`` (kept as its source text; Python
evaluates it when the step calls ``self.next``). Problems are returned as text, for the lint
rules to report with the file and line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ketch.graph._model import CaseKey

SWITCH_FORM = "self.next({'a': self.a, 'b': self.b}, condition='mode')"


@dataclass(frozen=True)
class SwitchShape:
    """What a switch ``self.next`` says: its cases, its condition and what is wrong."""

    cases: tuple[tuple[CaseKey, str], ...] = ()
    condition: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def targets(self) -> tuple[str, ...]:
        """The distinct steps the switch may take, in the order the cases name them."""
        return tuple(dict.fromkeys(step for _, step in self.cases))


def is_switch_call(call: ast.Call) -> bool:
    """True for ``self.next({...}, condition=...)``: one dict argument and a condition."""
    has_condition = any(k.arg == "condition" for k in call.keywords)
    return has_condition and len(call.args) == 1 and isinstance(call.args[0], ast.Dict)


def parse_switch(call: ast.Call, self_name: str) -> SwitchShape:
    """The cases and condition of a switch call (see :func:`is_switch_call`)."""
    problems: list[str] = []
    condition: str | None = None
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg == "condition":
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                condition = value.value
            else:
                problems.append(
                    f"condition= must be a string literal naming an attribute, as in {SWITCH_FORM}"
                )
        elif keyword.arg in ("foreach", "num_parallel"):
            problems.append(f"a switch cannot be combined with {keyword.arg}=")
        else:
            problems.append(
                f"unknown keyword argument '{keyword.arg}' (a switch takes only condition=)"
            )
    dict_node = call.args[0]
    assert isinstance(dict_node, ast.Dict)
    cases: list[tuple[CaseKey, str]] = []
    for key, value in zip(dict_node.keys, dict_node.values, strict=True):
        case = _case_key(key, self_name)
        step = _case_step(value, self_name)
        if case is None:
            text = "**" if key is None else ast.unparse(key)
            problems.append(
                f"switch case key `{text}` is not a string or number literal, nor an attribute "
                f"chain such as {self_name}.config.key"
            )
        if step is None:
            problems.append(
                f"switch case `{ast.unparse(value)}` is not a step written as {self_name}.<step>"
            )
        if case is not None and step is not None:
            cases.append((case, step))
    if not dict_node.keys:
        problems.append(f"the switch defines no cases, as in {SWITCH_FORM}")
    return SwitchShape(tuple(cases), condition, tuple(problems))


def _case_key(key: ast.expr | None, self_name: str) -> CaseKey | None:
    if isinstance(key, ast.Constant) and isinstance(key.value, str | int | float | bool):
        return key.value
    if isinstance(key, ast.UnaryOp) and isinstance(key.op, ast.USub):
        inner = _case_key(key.operand, self_name)
        if isinstance(inner, int | float) and not isinstance(inner, bool):
            return -inner
        return None
    chain = attribute_chain(key)
    if chain is not None and len(chain) >= 3 and chain[0] == self_name:
        return ".".join(chain)
    return None


def attribute_chain(expr: ast.expr | None) -> list[str] | None:
    """``["self", "config", "mode"]`` for ``self.config.mode``; None for anything else."""
    names: list[str] = []
    while isinstance(expr, ast.Attribute):
        names.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name) or not names:
        return None
    return [expr.id, *reversed(names)]


def _case_step(value: ast.expr, self_name: str) -> str | None:
    chain = attribute_chain(value)
    if chain is not None and len(chain) == 2 and chain[0] == self_name:
        return chain[1]
    return None
