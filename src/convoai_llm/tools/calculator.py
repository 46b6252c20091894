"""Calculator: a safe arithmetic evaluator over Python's `ast` (never `eval`).

Accepts numbers, `+ - * / // % **` (and `^` as a power, as people write it), parentheses, the
constants `pi`, `e`, `tau`, and a few math functions. Anything else (names, attributes, strings,
comprehensions, …) is refused. Sizes are bounded so `9**9**9` cannot eat the CPU.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

MAX_LENGTH = 300
MAX_EXPONENT = 1000
MAX_MAGNITUDE = 1e300

Number = int | float


class CalculatorError(ValueError):
    pass


class Calculator:
    """`Calculator().evaluate("2 * (3 + 4)") == 14`; `format()` gives the spoken-friendly text."""

    def __init__(self) -> None:
        self.binary: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
            ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
            ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: self._power,
            ast.BitXor: self._power,
        }  # fmt: skip
        self.unary: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
        self.constants: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}
        self.functions: dict[str, Callable[..., Any]] = {
            "sqrt": math.sqrt, "abs": abs, "round": round, "floor": math.floor, "ceil": math.ceil,
            "exp": math.exp, "log": math.log, "log10": math.log10, "log2": math.log2, "sin": math.sin,
            "cos": math.cos, "tan": math.tan, "min": min, "max": max,
        }  # fmt: skip

    def evaluate(self, expression: str) -> Number:
        text = expression.strip().replace("\u00d7", "*").replace("\u00f7", "/")  # times and divide signs
        if not text:
            raise CalculatorError("The expression is empty.")
        if len(text) > MAX_LENGTH:
            raise CalculatorError(f"The expression is longer than {MAX_LENGTH} characters.")
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError:
            raise CalculatorError(f"{expression!r} is not an arithmetic expression.") from None
        try:
            value = self._eval(tree.body)
        except ZeroDivisionError:
            raise CalculatorError("Division by zero.") from None
        except (OverflowError, ValueError, TypeError) as exc:
            if isinstance(exc, CalculatorError):
                raise
            raise CalculatorError(f"Cannot compute {expression!r}: {exc}.") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise CalculatorError("The result is not a finite number.")
        return value

    def format(self, value: Number) -> str:
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        if isinstance(value, float):
            return f"{value:.12g}"
        return str(value)

    def _eval(self, node: ast.AST) -> Number:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return self._check(node.value)
        if isinstance(node, ast.BinOp) and type(node.op) in self.binary:
            left, right = self._eval(node.left), self._eval(node.right)
            return self._check(self.binary[type(node.op)](left, right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in self.unary:
            return self._check(self.unary[type(node.op)](self._eval(node.operand)))
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.constants[node.id]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in self.functions
            and not node.keywords
            and 0 < len(node.args) <= 8
        ):
            args = [self._eval(a) for a in node.args]
            return self._check(self.functions[node.func.id](*args))
        raise CalculatorError(f"Unsupported element in the expression: {ast.unparse(node)!r}.")

    def _power(self, base: Number, exponent: Number) -> Number:
        if abs(exponent) > MAX_EXPONENT or (abs(base) > 1e6 and abs(exponent) > 50):
            raise CalculatorError("The power is too large.")
        result: Number = base**exponent
        return result

    def _check(self, value: Any) -> Number:
        if isinstance(value, complex):
            raise CalculatorError("The result is a complex number.")
        if not isinstance(value, int | float):
            raise CalculatorError("The result is not a number.")
        if abs(value) > MAX_MAGNITUDE:
            raise CalculatorError("The result is too large.")
        return value
