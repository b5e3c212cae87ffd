"""Restricted evaluation of gateway conditions, script tasks and timer expressions.

SpiffWorkflow's default environment runs BPMN expressions with ``eval``/``exec``
and full builtins. Here they go through simpleeval instead: no imports, no
dunder or underscore attributes, no module objects, no ``format`` tricks. Task
data are names (values); helpers are functions in a separate namespace, so a
field called ``workdays`` can never be called in place of the helper. Script
tasks may only assign: each statement is ``name = expression``.

Every evaluation is bounded in memory and time (the limits are the ``MAX_*``
constants below; docs/security.md, "Bounded expressions"): operators, helpers
and the few callable methods that can grow a value are checked before they run,
every value built is measured against a budget, and a deadline is checked at
every node. Deployment refuses unknown functions and methods and evaluates the
parts of an expression that depend on no data, so a bomb written into a diagram
never reaches a case.
"""
from __future__ import annotations

import ast
import math
import operator as op
import re
import time
import types
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Callable, Iterator, Mapping

import simpleeval
from simpleeval import DEFAULT_OPERATORS, DISALLOW_FUNCTIONS, EvalWithCompoundTypes, InvalidExpression
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import ApprovalError, BadInput
from engine.runtime.spiff import workdays

#: Size and time limits of one evaluation (docs/security.md, "Bounded expressions").
MAX_EXPRESSION_LENGTH = 2000      # characters of source
MAX_NESTING = 40                  # depth of the parsed expression
MAX_STRING_LENGTH = 100_000       # characters (or bytes) of one string
MAX_ITEMS = 10_000                # items of one list, tuple, set or dict
MAX_INT_DIGITS = 4_300            # decimal digits of one integer (Python's own int/str limit)
MAX_INT_BITS = int(MAX_INT_DIGITS * math.log2(10)) + 1
MAX_DEPTH = 32                    # nesting of one value
MAX_WORK = 1_000_000              # units (a character, an item, a number) built by one evaluation
MAX_ITERATIONS = simpleeval.MAX_COMPREHENSION_LENGTH  # comprehension steps of one evaluation (10,000)
MAX_FORMAT_WIDTH = 1_000          # width or precision in an f-string format
MAX_SECONDS = 1.0                 # one evaluation
MAX_COMMAND_SECONDS = 3.0         # every evaluation of one command together (the case is locked meanwhile)


class ExpressionError(BadInput):
    code = "bad_expression"


class LimitExceeded(ExpressionError):
    """An expression would build something too big or run too long."""

    code = "expression_limit"


def _limit(what: str) -> LimitExceeded:
    return LimitExceeded(f"{what}，已停止计算；请简化流程图中的表达式或脚本，或检查填写的数据")


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _check_int(value: int) -> None:
    if value.bit_length() > MAX_INT_BITS:
        raise _limit(f"整数超过 {MAX_INT_DIGITS:,} 位")


def measure(value: Any, limit: int = MAX_WORK) -> int:
    """The size of ``value`` in units (a character, an item, a number each count one; a part
    shared n times counts n times), refusing past ``limit``, a string longer than
    MAX_STRING_LENGTH, a collection bigger than MAX_ITEMS, nesting deeper than MAX_DEPTH, an
    integer beyond MAX_INT_DIGITS, a module or a forbidden function. Each collection is walked
    once (shared ones are remembered) and the walk stops as soon as it is over, so its own cost
    is bounded by ``limit``."""
    total = _size(value, 0, {}, limit)
    if total > limit:
        raise _over_budget()
    return total


def _over_budget() -> LimitExceeded:
    return _limit(f"计算量过大（一次求值最多构造 {MAX_WORK:,} 个字符或数据项）")


_NUMBERS = frozenset({int, float, bool, type(None)})


def _size(item: Any, depth: int, seen: dict[int, int], limit: int) -> int:
    if isinstance(item, (str, bytes)):
        if len(item) > MAX_STRING_LENGTH:
            raise _limit(f"字符串超过 {MAX_STRING_LENGTH:,} 个字符")
        return len(item) + 1
    if isinstance(item, bool) or item is None or isinstance(item, float):
        return 1
    if isinstance(item, int):
        _check_int(item)
        return 1
    if isinstance(item, (list, tuple, set, frozenset, dict)):
        if id(item) in seen:
            return seen[id(item)]
        if len(item) > MAX_ITEMS:
            raise _limit(f"列表、集合或字典超过 {MAX_ITEMS:,} 项")
        if depth >= MAX_DEPTH:
            raise _limit(f"数据嵌套超过 {MAX_DEPTH} 层")
        total = len(item) + 1
        if not isinstance(item, dict):
            # Fast paths, at C speed, for flat collections: their numbers and strings were each
            # checked when they were made (a node's result, a literal, or data).
            kinds = set(map(type, item))
            if kinds <= _NUMBERS or kinds == {str}:
                total += len(item) + (sum(map(len, item)) if kinds == {str} else 0)
                if total > limit:
                    raise _over_budget()
                seen[id(item)] = total
                return total
        for child in ([x for pair in item.items() for x in pair] if isinstance(item, dict) else item):
            total += _size(child, depth + 1, seen, limit)
            if total > limit:
                raise _over_budget()
        seen[id(item)] = total
        return total
    if isinstance(item, types.ModuleType):
        raise ExpressionError("表达式不能使用模块")
    if callable(item) and _forbidden(item):
        raise ExpressionError("表达式不能使用这个函数")
    return 1


def _forbidden(item: Any) -> bool:
    try:
        return item in DISALLOW_FUNCTIONS
    except TypeError:  # unhashable
        return False


def _printable(value: Any, what: str) -> None:
    """Refuse to turn into text a value whose text would be longer than a string may be."""
    try:
        measure(value, MAX_STRING_LENGTH)
    except LimitExceeded:
        raise _limit(f"{what}的结果会超过 {MAX_STRING_LENGTH:,} 个字符") from None


# ---------------------------------------------------------------- operators that can grow

def _add(a, b):
    if isinstance(a, (str, bytes)) and isinstance(b, (str, bytes)) and len(a) + len(b) > MAX_STRING_LENGTH:
        raise _limit(f"拼接后的字符串超过 {MAX_STRING_LENGTH:,} 个字符")
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) + len(b) > MAX_ITEMS:
        raise _limit(f"拼接后的列表超过 {MAX_ITEMS:,} 项")
    return a + b


def _mult(a, b):
    if _is_int(a) and _is_int(b):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS + 1:
            raise _limit(f"乘积超过 {MAX_INT_DIGITS:,} 位")
        return a * b
    for seq, n in ((a, b), (b, a)):
        if _is_int(n) and isinstance(seq, (str, bytes, list, tuple)):
            cap = MAX_STRING_LENGTH if isinstance(seq, (str, bytes)) else MAX_ITEMS
            if len(seq) * max(n, 0) > cap:
                raise _limit(f"重复后的结果超过 {cap:,} 个字符或数据项")
    return a * b


def _pow(a, b):
    if _is_int(a) and _is_int(b) and b > 0 and abs(a) > 1 and (abs(a).bit_length() - 1) * b > MAX_INT_BITS:
        raise _limit(f"乘方的结果超过 {MAX_INT_DIGITS:,} 位")
    return a ** b


def _lshift(a, b):
    if _is_int(a) and _is_int(b) and a and b > 0 and a.bit_length() + b > MAX_INT_BITS:
        raise _limit(f"左移的结果超过 {MAX_INT_DIGITS:,} 位")
    return a << b


def _mod(a, b):
    if isinstance(a, (str, bytes)):
        raise ExpressionError("不支持用 % 格式化字符串：请用 + 拼接，或用 f-string")
    return a % b


OPERATORS = {**DEFAULT_OPERATORS, ast.Add: _add, ast.Mult: _mult, ast.Pow: _pow,
             ast.LShift: _lshift, ast.RShift: op.rshift, ast.Mod: _mod}


# ---------------------------------------------------------------- functions and methods

def _str(value: Any = "") -> str:
    _printable(value, "str()")
    return str(value)


def _int(value: Any = 0, *base: int) -> int:
    if isinstance(value, (str, bytes)) and len(value) > MAX_INT_DIGITS + 2:
        raise _limit(f"int() 的数字超过 {MAX_INT_DIGITS:,} 位")
    return int(value, *base)


def _round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is None:
        return round(number)
    if _is_int(ndigits) and abs(ndigits) > MAX_INT_DIGITS:
        raise _limit(f"round() 的位数超过 {MAX_INT_DIGITS:,}")
    return round(number, ndigits)


def _sum(iterable: Any, start: Any = 0) -> Any:
    if not isinstance(start, (int, float)):
        raise ExpressionError("sum() 只能对数字求和")
    return sum(iterable, start)


#: Functions every expression may call. Deterministic only: no random, no clock.
BASE_HELPERS: dict[str, Callable[..., Any]] = {
    "len": len, "str": _str, "int": _int, "float": float, "bool": bool,
    "min": min, "max": max, "abs": abs, "round": _round, "sum": _sum,
    "any": any, "all": all, "sorted": sorted, "ceil": math.ceil, "floor": math.floor,
}
#: Helpers that depend on the running command (time, calendar); bound in ``make_script_engine``.
COMMAND_HELPERS = ("workdays",)
#: Constructors simpleeval's compound evaluator adds (bounded by the size checks on results).
CONSTRUCTORS = ("list", "tuple", "dict", "set")
KNOWN_FUNCTIONS = frozenset(BASE_HELPERS) | frozenset(COMMAND_HELPERS) | frozenset(CONSTRUCTORS)

#: Methods an expression may call: none changes its object, each result is bounded.
ALLOWED_METHODS = frozenset({
    # text (str and bytes)
    "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "rsplit",
    "splitlines", "count", "find", "rfind", "index", "rindex", "title", "capitalize", "casefold",
    "swapcase", "partition", "rpartition", "removeprefix", "removesuffix", "isdigit", "isalpha",
    "isalnum", "isspace", "isdecimal", "isnumeric", "islower", "isupper", "istitle",
    "replace", "join", "ljust", "rjust", "center", "zfill", "expandtabs",
    # dict, set, numbers
    "get", "keys", "values", "items", "union", "intersection", "difference", "symmetric_difference",
    "issubset", "issuperset", "isdisjoint", "bit_length", "is_integer",
})
_VALUE_TYPES = (str, bytes, list, tuple, dict, set, frozenset, int, float)


def _width(args, kwargs, position, name, default=None):
    value = args[position] if len(args) > position else kwargs.get(name, default)
    return value if _is_int(value) else None


def _guard_pad(text, args, kwargs):
    width = _width(args, kwargs, 0, "width")
    if width is not None and width > MAX_STRING_LENGTH:
        raise _limit(f"填充后的字符串超过 {MAX_STRING_LENGTH:,} 个字符")
    return args


def _guard_expandtabs(text, args, kwargs):
    size = _width(args, kwargs, 0, "tabsize", 8)
    if size is not None and len(text) + text.count("\t" if isinstance(text, str) else b"\t") * max(size, 0) \
            > MAX_STRING_LENGTH:
        raise _limit(f"展开制表符后的字符串超过 {MAX_STRING_LENGTH:,} 个字符")
    return args


def _guard_replace(text, args, kwargs):
    if len(args) >= 2 and isinstance(args[0], type(text)) and isinstance(args[1], type(text)):
        old, new = args[0], args[1]
        times = text.count(old) if old else len(text) + 1
        count = _width(args, kwargs, 2, "count", -1)
        if count is not None and count >= 0:
            times = min(times, count)
        if len(text) + times * (len(new) - len(old)) > MAX_STRING_LENGTH:
            raise _limit(f"替换后的字符串超过 {MAX_STRING_LENGTH:,} 个字符")
    return args


def _guard_join(text, args, kwargs):
    if len(args) != 1:
        return args
    parts = list(args[0])
    size = sum(len(p) for p in parts if isinstance(p, (str, bytes))) + len(text) * max(len(parts) - 1, 0)
    if size > MAX_STRING_LENGTH:
        raise _limit(f"连接后的字符串超过 {MAX_STRING_LENGTH:,} 个字符")
    return (parts,)


_METHOD_GUARDS = {"ljust": _guard_pad, "rjust": _guard_pad, "center": _guard_pad, "zfill": _guard_pad,
                  "expandtabs": _guard_expandtabs, "replace": _guard_replace, "join": _guard_join}

_FORMAT_NUMBER = re.compile(r"\d+")


def _check_format_spec(spec: str) -> None:
    for number in _FORMAT_NUMBER.findall(spec):
        if len(number) > 6 or int(number) > MAX_FORMAT_WIDTH:
            raise _limit(f"格式中的宽度或精度超过 {MAX_FORMAT_WIDTH:,}")


# ---------------------------------------------------------------- the evaluator

#: Nodes whose result may be newly built (measured against MAX_WORK); the others return
#: something that already exists (a name, an item, a branch's value) and are checked shallowly.
_BUILDING = (ast.BinOp, ast.UnaryOp, ast.Call, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.ListComp,
             ast.GeneratorExp, ast.DictComp, ast.JoinedStr, ast.FormattedValue)

_command_deadline: ContextVar[float | None] = ContextVar("expression_command_deadline", default=None)


@contextmanager
def evaluation_budget(seconds: float | None = None) -> Iterator[None]:
    """Let every evaluation inside (one command) share ``seconds`` (MAX_COMMAND_SECONDS)."""
    token = _command_deadline.set(time.monotonic() + (MAX_COMMAND_SECONDS if seconds is None else seconds))
    try:
        yield
    finally:
        _command_deadline.reset(token)


class BoundedEvaluator(EvalWithCompoundTypes):
    """simpleeval with a deadline checked at every node, the size of every built value
    measured, growing operators and methods checked before they run, and only known
    functions and side-effect-free methods callable."""

    def __init__(self, names: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]],
                 deadline: float, command_deadline: bool = False):
        super().__init__(operators=dict(OPERATORS), functions=dict(functions), names=names)
        self.deadline, self.command_deadline, self.work = deadline, command_deadline, 0

    def eval(self, expr, previously_parsed=None):
        self.work = 0
        return super().eval(expr, previously_parsed)

    def _eval(self, node):
        if time.monotonic() > self.deadline:
            raise _limit(f"本次操作的表达式合计用时超过 {MAX_COMMAND_SECONDS:g} 秒" if self.command_deadline
                         else f"表达式求值超过 {MAX_SECONDS:g} 秒")
        try:
            handler = self.nodes[type(node)]
        except KeyError:
            raise ExpressionError(f"表达式中不支持 {type(node).__name__}") from None
        result = handler(node)
        if isinstance(node, _BUILDING) or (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)):
            self.work += measure(result, MAX_WORK - self.work)
        elif isinstance(result, int):
            _check_int(result)
        elif isinstance(result, types.ModuleType):
            raise ExpressionError("表达式不能使用模块")
        elif callable(result) and _forbidden(result):
            raise ExpressionError("表达式不能使用这个函数")
        return result

    def _arguments(self, node: ast.Call) -> tuple[list, dict]:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise ExpressionError("函数调用中不支持 * 或 ** 展开参数")
        return [self._eval(a) for a in node.args], {k.arg: self._eval(k.value) for k in node.keywords}

    def _eval_call(self, node):
        if isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name not in ALLOWED_METHODS:
                raise ExpressionError(_unknown_method(name))
            owner = self._eval(node.func.value)
            if not isinstance(owner, _VALUE_TYPES) or not hasattr(owner, name):
                raise ExpressionError(f"{type(owner).__name__} 类型的值没有方法 .{name}()")
            args, kwargs = self._arguments(node)
            guard = _METHOD_GUARDS.get(name)
            if guard is not None and isinstance(owner, (str, bytes)):
                args = guard(owner, args, kwargs)
            return getattr(owner, name)(*args, **kwargs)
        if not isinstance(node.func, ast.Name) or node.func.id not in self.functions:
            raise ExpressionError(_unknown_function(node.func))
        args, kwargs = self._arguments(node)
        return self.functions[node.func.id](*args, **kwargs)

    def _eval_formattedvalue(self, node):
        value = self._eval(node.value)
        spec = self._eval(node.format_spec) if node.format_spec else ""
        _check_format_spec(spec)
        _printable(value, "格式化")
        return format(value, spec)


def _unknown_method(name: str) -> str:
    return f"不能调用方法 .{name}()：表达式只能调用不修改数据的方法（{', '.join(sorted(ALLOWED_METHODS))}）"


def _unknown_function(func: ast.expr) -> str:
    name = func.id if isinstance(func, ast.Name) else ast.unparse(func)
    return f"函数 {name}() 不存在或不可用；可用的函数：{', '.join(sorted(KNOWN_FUNCTIONS))}"


def _run(evaluator: BoundedEvaluator, tree: ast.expr, expression: str) -> Any:
    """Evaluate, turning simpleeval's and Python's size failures into clear refusals."""
    try:
        return evaluator.eval(expression, previously_parsed=tree)
    except simpleeval.IterableTooLong:
        raise _limit(f"列表推导式合计超过 {MAX_ITERATIONS:,} 步") from None
    except simpleeval.NumberTooHigh:
        raise _limit("数值过大") from None
    except InvalidExpression as exc:
        raise ExpressionError(f"表达式 {expression!r} 无法求值：{exc}") from None
    except OverflowError:
        raise _limit("数值超出范围") from None
    except (RecursionError, MemoryError):
        raise _limit("表达式或数据嵌套过深、过大") from None


def parse_script(script: str) -> list[tuple[str, str]]:
    """Split a script into ``(target, expression source)`` pairs, refusing anything but assignments."""
    try:
        tree = ast.parse(script, mode="exec")
    except SyntaxError as exc:
        raise ExpressionError(f"脚本语法错误（第 {exc.lineno} 行）：{exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("脚本嵌套过深或含有无法解析的字符") from None
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


def _depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


@lru_cache(maxsize=1024)
def _parsed(expression: str) -> ast.expr:
    """The checked tree of an expression: everything that can be told without evaluating."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"表达式过长（{len(expression)} 字符，最多 {MAX_EXPRESSION_LENGTH}）")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        near = f"（第 {exc.offset} 个字符附近）" if exc.offset else ""
        raise ExpressionError(f"表达式语法错误{near}：请检查括号和引号是否成对，比较是否相等要写 ==") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("表达式嵌套过深或含有无法解析的字符") from None
    if _depth(tree) > MAX_NESTING:
        raise ExpressionError(f"表达式嵌套超过 {MAX_NESTING} 层")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"表达式不能访问以下划线开头的属性（{node.attr}）")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"表达式不能使用以下划线开头的名字（{node.id}）")
        if isinstance(node, (ast.Lambda, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)):
            raise ExpressionError(f"表达式中不允许 {type(node).__name__}")
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                if node.func.attr not in ALLOWED_METHODS:
                    raise ExpressionError(_unknown_method(node.func.attr))
            elif not isinstance(node.func, ast.Name) or node.func.id not in KNOWN_FUNCTIONS:
                raise ExpressionError(_unknown_function(node.func))
        if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)
                and (isinstance(node.left, ast.JoinedStr)
                     or isinstance(node.left, ast.Constant) and isinstance(node.left.value, (str, bytes)))):
            raise ExpressionError("不支持用 % 格式化字符串：请用 + 拼接，或用 f-string")
    return tree.body


def _closed(node: ast.expr) -> bool:
    """Whether ``node`` can be evaluated without task data or the command (a constant part)."""
    bound = {n.id for c in ast.walk(node) if isinstance(c, ast.comprehension)
             for n in ast.walk(c.target) if isinstance(n, ast.Name)}
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id not in bound and child.id not in KNOWN_FUNCTIONS:
            return False
        if isinstance(child, ast.Name) and child.id in COMMAND_HELPERS:
            return False
    return True


def _evaluate_constant_parts(tree: ast.expr, expression: str) -> None:
    """Evaluate, within the limits, every largest part that depends on no data, so that a
    bomb written into the diagram is refused at deployment rather than in a running case."""
    deadline = time.monotonic() + MAX_SECONDS
    pending = [tree]
    while pending:
        node = pending.pop()
        if (isinstance(node, ast.expr) and not isinstance(node, (ast.Constant, ast.Name, ast.Starred))
                and _closed(node)):
            try:
                _run(BoundedEvaluator({}, BASE_HELPERS, deadline), node, expression)
            except LimitExceeded as exc:
                raise LimitExceeded(f"部署前即可看出超出上限：{exc.message}") from None
            except ApprovalError:
                raise
            except Exception:  # noqa: BLE001 - a failure other than a limit is the case's business at run time
                pass
            continue
        pending.extend(ast.iter_child_nodes(node))


def check_expression(expression: str) -> None:
    """Refuse, before deployment, an expression that cannot be evaluated safely: unsafe or
    unknown names, functions and methods, and limits its constant parts already exceed."""
    tree = _parsed(expression)
    _evaluate_constant_parts(tree, expression)


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
        tree = _parsed(expression)
        now, command_deadline = time.monotonic(), _command_deadline.get()
        deadline = now + MAX_SECONDS
        by_command = command_deadline is not None and command_deadline < deadline
        evaluator = BoundedEvaluator(names, self.helpers, command_deadline if by_command else deadline, by_command)
        result = _run(evaluator, tree, expression)
        measure(result)  # a name may hand back shared parts built earlier: what is kept stays bounded
        return result

    def execute(self, script, context, external_context=None):
        for target, source in parse_script(script):
            context[target] = self.evaluate(source, context, external_context)
        return True

    def call_service(self, context, **kwargs):
        raise ExpressionError("本系统不支持服务任务直接调用外部服务")


def make_script_engine(helpers: Mapping[str, Callable[..., Any]] | None = None) -> PythonScriptEngine:
    return PythonScriptEngine(environment=SafeEnvironment({"workdays": workdays, **(helpers or {})}))
