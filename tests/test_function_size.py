"""House rule (DEVELOPERS.md "Size"): no function in the package over ~80 lines of code.

Counted as lines holding code: blank lines, comment lines and docstrings are not code (a rule's
docstring carries its calibration and is meant to be long).  A nested function counts towards
the function it is written in, so splitting a long function into closures does not hide it.
Ruff's C901 (pyproject.toml) bounds the branching; this bounds the length."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "validator"
MAX_CODE_LINES = 80


def _docstring_lines(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = n.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    out.update(range(body[0].lineno, (body[0].end_lineno or 0) + 1))
    return out


def code_lines(path: Path) -> list[tuple[str, int, int]]:
    """(function name, first line, lines of code) for every function in `path`."""
    src = path.read_text(encoding="utf-8")
    tree = ast.parse(src)
    docs = _docstring_lines(tree)
    lines = src.splitlines()
    out = []
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            count = 0
            for i in range(n.lineno, (n.end_lineno or n.lineno) + 1):
                text = lines[i - 1].strip()
                if text and not text.startswith("#") and i not in docs:
                    count += 1
            out.append((n.name, n.lineno, count))
    return out


def test_the_counter_counts_code_not_docstrings_or_comments(tmp_path):
    f = tmp_path / "m.py"
    body = "\n".join(f"    x{i} = {i}  # c" for i in range(5))
    f.write_text(f'def f():\n    """Doc\n\n    more doc."""\n    # a comment\n\n{body}\n')
    assert code_lines(f) == [("f", 1, 6)]


def test_no_function_in_the_package_is_over_80_lines_of_code():
    long = [
        f"{p.relative_to(PACKAGE.parent)}:{line} {name} ({n} lines)"
        for p in sorted(PACKAGE.rglob("*.py"))
        for name, line, n in code_lines(p)
        if n > MAX_CODE_LINES
    ]
    assert not long, "split these (DEVELOPERS.md, Size):\n" + "\n".join(long)
