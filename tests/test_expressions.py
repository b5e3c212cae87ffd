"""Task data are values, never code; conditions cannot escape the sandbox."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine.runtime.expressions import ExpressionError, SafeEnvironment, parse_script
from engine.errors import BadInput
from engine.runtime.values import check_data

env = SafeEnvironment()


@pytest.mark.parametrize("expression", [
    "__import__('os').system('touch pwned')",
    "().__class__.__base__.__subclasses__()",
    "open('/etc/passwd').read()",
    "eval('1+1')",
    "exec('x=1')",
    "getattr(x, '__class__')",
    "x.__class__",
    "'{0.__class__}'.format(x)",
    "(lambda: 1)()",
])
def test_escapes_are_refused(expression):
    with pytest.raises(ExpressionError):
        env.evaluate(expression, {"x": "a"})


def test_a_module_in_the_data_cannot_be_reached_into():
    """Even if a module object got into the names, its imports stay out of reach."""
    with pytest.raises(ExpressionError):
        env.evaluate("random._os", {"random": random})
    with pytest.raises(ExpressionError):
        env.evaluate("random.seed", {"random": random})


def test_plain_conditions_work():
    assert env.evaluate('acceptance == "accept" and len(materials) >= 2',
                        {"acceptance": "accept", "materials": ["a", "b"]}) is True
    assert env.evaluate("max(days, 3)", {"days": 5}) == 5


def test_a_field_cannot_shadow_a_helper():
    # Calls resolve in the helper namespace, never in the data.
    assert env.evaluate("len(x)", {"x": [1, 2], "len": "not a function"}) == 2
    with pytest.raises(BadInput):
        check_data({"len": "x"})


def test_form_value_that_looks_like_code_stays_a_string(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    value = "__import__('os').system('touch pwned')"
    assert env.evaluate("note == expected", {"note": value, "expected": value}) is True
    assert env.evaluate("note", {"note": value}) == value
    assert not (tmp_path / "pwned").exists()


def test_scripts_only_assign():
    context = {"a": 2}
    env.execute("b = a * 3\nc = b + 1", context)
    assert context == {"a": 2, "b": 6, "c": 7}
    for script in ["import os", "def f(): pass", "for i in x: pass", "_x = 1", "a.b = 1"]:
        with pytest.raises(ExpressionError):
            parse_script(script)


def test_huge_values_are_refused():
    with pytest.raises(ExpressionError):
        env.evaluate("9 ** 9 ** 9", {})
    with pytest.raises(ExpressionError):
        env.evaluate("'x' * 10 ** 8", {})
