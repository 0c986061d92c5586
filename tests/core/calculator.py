"""A student with a calculator: reads the numbers of a shown line and redoes its arithmetic.

``check_line(text)`` splits an explanation at its "=" and "≈" signs and, for every "="
between two steps made only of numbers and operators, evaluates the left one from the shown
numbers and checks that it gives the right one at the digits the right one shows. Symbolic
steps ("q_it · k_cat", "Σ_j exp(s_j)") and elided sums are skipped, as a student would.
"""

from __future__ import annotations

import math
import re

from attnstudio.core.numbers import half_unit, parse_shown

# A written number: "12", "0.105", ".26", "1.5e4", "2.5e−7" (the sign is an operator here).
NUMBER = re.compile(r"(?<![\w.])(?:\d+(?:\.\d+)?|\.\d+)(?:e[−-]?\d+)?")
FUNCTIONS = {"exp": math.exp, "sin": math.sin, "cos": math.cos, "max": max, "sqrt": math.sqrt, "inf": math.inf}


def body(text: str) -> str:
    """The arithmetic of a line, without the words after it ("… = 0.25 (the app subtracts …",
    "…; τ = 1.4 is the threshold …", "… — exp overflowed …")."""
    for stop in (";", " — "):
        text = text.split(stop, maxsplit=1)[0]
    m = re.search(r" \((?=[^\d(−.∞√])", text)
    return text[: m.start()] if m else text


def evaluate(expr: str) -> float | None:
    """The value of a step made of numbers, + − × / ², √n, ^, exp, sin, cos, max; None for
    a symbolic step."""
    py = expr.strip().replace("−", "-").replace("×", "*").replace("^", "**").replace("²", "**2")
    py = py.replace("∞", "inf")
    py = re.sub(r"√(\d+)", r"sqrt(\1)", py)
    words = re.sub(r"\d+(?:\.\d+)?e-?\d+", "0", py)  # an exponent's "e" is not a word
    if set(re.findall(r"[A-Za-z_]\w*", words)) - set(FUNCTIONS) or re.search(r"[^\w\s.+\-*/(),]", words):
        return None
    try:
        return float(eval(py, {"__builtins__": {}}, FUNCTIONS))  # only numbers, operators and FUNCTIONS (checked above)
    except (SyntaxError, ArithmeticError, TypeError, ValueError):
        return None


def tolerance(expr: str) -> float:
    """How far the value of ``expr`` may move when each of its numbers moves by half its last
    shown digit: the precision the written step claims."""
    base = evaluate(expr)
    assert base is not None
    tol = 0.0
    for m in NUMBER.finditer(expr):
        before = expr[: m.start()]
        h = half_unit(m.group())
        if h == 0 or before.endswith("√") or "^(" in before[-8:]:
            continue  # an exact constant of the formula (√4, 10000^(2/4)), not a rounded operand
        vs = [evaluate(expr[: m.start()] + repr(x) + expr[m.end():])
              for x in (parse_shown(m.group()) + h, parse_shown(m.group()) - h)]
        tol += max((abs(v - base) for v in vs if v is not None and math.isfinite(v)), default=0.0)
    return tol


def steps(text: str) -> list[tuple[str, str, str]]:
    """(left, sign, right) for each "=" or "≈" of the line's arithmetic."""
    parts = re.split(r" (=|≈) ", body(text))
    return [(parts[k], parts[k + 1], parts[k + 2]) for k in range(0, len(parts) - 2, 2)]


def wrong_steps(text: str) -> list[str]:
    """The "=" steps of ``text`` a calculator does not reproduce (empty when all hold)."""
    bad = []
    for left, sign, right in steps(text):
        a, b = evaluate(left), evaluate(right)
        if sign != "=" or a is None or b is None:
            continue
        if not (math.isfinite(a) and math.isfinite(b)):
            if not (a == b or (math.isnan(a) and math.isnan(b))):
                bad.append(f"{left} = {right}")
            continue
        if abs(a - b) > tolerance(right) * (1 + 1e-6) + 1e-12 * abs(b):
            bad.append(f"{left} = {right}  (a calculator gets {a!r})")
    return bad
