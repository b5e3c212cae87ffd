"""Restricted evaluation of gateway conditions, script tasks and timer expressions.

SpiffWorkflow's default environment runs BPMN expressions with ``eval``/``exec``
and full builtins. Here they go through simpleeval instead: no imports, no
dunder or underscore attributes, no module objects, no ``format`` tricks, size
limits on strings and powers. Task data are names (values); helpers are
functions in a separate namespace, so a field called ``workdays`` can never be
called in place of the helper. Script tasks may only assign: each statement is
``name = expression``.
"""
from __future__ import annotations

import ast
import math
from typing import Any, Callable, Mapping

from simpleeval import EvalWithCompoundTypes, InvalidExpression
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import BadInput
from engine.runtime.spiff import workdays

#: Functions every expression may call. Deterministic only: no random, no clock.
BASE_HELPERS: dict[str, Callable[..., Any]] = {
    "len": len, "str": str, "int": int, "float": float, "bool": bool,
    "min": min, "max": max, "abs": abs, "round": round, "sum": sum,
    "any": any, "all": all, "sorted": sorted, "ceil": math.ceil, "floor": math.floor,
}
#: Helpers that depend on the running command (time, calendar); bound in ``make_script_engine``.
COMMAND_HELPERS = ("workdays",)

MAX_EXPRESSION_LENGTH = 2000


class ExpressionError(BadInput):
    code = "bad_expression"


def parse_script(script: str) -> list[tuple[str, str]]:
    """Split a script into ``(target, expression source)`` pairs, refusing anything but assignments."""
    try:
        tree = ast.parse(script, mode="exec")
    except SyntaxError as exc:
        raise ExpressionError(f"脚本语法错误（第 {exc.lineno} 行）：{exc.msg}") from None
    steps = []
    for statement in tree.body:
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            target = statement.targets[0].id
            if target.startswith("_"):
                raise ExpressionError(f"脚本第 {statement.lineno} 行：变量名不能以下划线开头（{target}）")
            steps.append((target, ast.get_source_segment(script, statement.value) or ast.unparse(statement.value)))
        else:
            raise ExpressionError(
                f"脚本第 {statement.lineno} 行：只允许“变量 = 表达式”形式的赋值语句")
    return steps


def check_expression(expression: str) -> None:
    """Refuse, before deployment, an expression that cannot be evaluated safely."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"表达式过长（{len(expression)} 字符，最多 {MAX_EXPRESSION_LENGTH}）")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"表达式语法错误：{exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"表达式不能访问以下划线开头的属性（{node.attr}）")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"表达式不能使用以下划线开头的名字（{node.id}）")
        if isinstance(node, (ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            raise ExpressionError(f"表达式中不允许 {type(node).__name__}")


class SafeEnvironment(BasePythonScriptEngineEnvironment):
    """A SpiffWorkflow script environment backed by simpleeval."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None):
        super().__init__({})
        self.helpers = dict(BASE_HELPERS)
        self.helpers.update(helpers or {})

    def evaluate(self, expression, context, external_context=None):
        names = dict(context)
        if external_context:
            names.update(external_context)
        check_expression(expression)
        evaluator = EvalWithCompoundTypes(names=names, functions=self.helpers)
        try:
            return evaluator.eval(expression.strip())
        except InvalidExpression as exc:
            raise ExpressionError(f"表达式 {expression!r} 无法求值：{exc}") from None

    def execute(self, script, context, external_context=None):
        for target, source in parse_script(script):
            context[target] = self.evaluate(source, context, external_context)
        return True

    def call_service(self, context, **kwargs):
        raise ExpressionError("本系统不支持服务任务直接调用外部服务")


def make_script_engine(helpers: Mapping[str, Callable[..., Any]] | None = None) -> PythonScriptEngine:
    return PythonScriptEngine(environment=SafeEnvironment({"workdays": workdays, **(helpers or {})}))
