from __future__ import annotations

import pytest

from convoai_llm.tools.calculator import Calculator, CalculatorError


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 * (3 + 4)", "14"),
        ("10 / 4", "2.5"),
        ("7 // 2 + 7 % 2", "4"),
        ("2 ** 10", "1024"),
        ("2 ^ 10", "1024"),
        ("-3 + +5", "2"),
        ("sqrt(2) * 10", "14.1421356237"),
        ("round(pi, 2)", "3.14"),
        ("max(1, 7, 3) - min(4, 2)", "5"),
        ("12.5 \u00d7 4 \u00f7 5", "10"),
        ("0.1 + 0.2", "0.3"),
        ("2 ** 0.5 ** 2", "1.189207115"),
    ],
)
def test_evaluates_arithmetic(expression: str, expected: str) -> None:
    calc = Calculator()
    assert calc.format(calc.evaluate(expression)) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('id')", "Unsupported element"),
        ("open('/etc/passwd')", "Unsupported element"),
        ("(1).__class__", "Unsupported element"),
        ("x + 1", "Unsupported element"),
        ("[1, 2][0]", "Unsupported element"),
        ("'a' * 3", "Unsupported element"),
        ("True + 1", "Unsupported element"),
        ("sqrt(x=4)", "Unsupported element"),
        ("lambda: 1", "Unsupported element"),
        ("9 ** 9 ** 9", "too large"),
        ("10 ** 400", "too large"),
        ("1 / 0", "Division by zero"),
        ("sqrt(-1)", "Cannot compute"),
        ("(-8) ** 0.5", "complex"),
        ("2 +", "not an arithmetic expression"),
        ("", "empty"),
        ("1+" * 200 + "1", "longer than"),
    ],
)
def test_refuses_anything_else(expression: str, message: str) -> None:
    with pytest.raises(CalculatorError, match=message):
        Calculator().evaluate(expression)
