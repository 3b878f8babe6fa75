"""The shape of the code: no function outside the tests is longer than 60 lines.

A function's length runs from its ``def`` line to its last line, docstring included
(decorators not); methods and nested functions are measured on their own, and an outer
function's length includes the functions nested in it.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Everything that is not a test: the library, the dashboard, the recipes, benchmarks and experiments.
CHECKED = ("ser_core", "ui", "app_pages", "app.py", "bench", "recipes", "experiments")
MAX_LINES = 60


def python_files() -> list[Path]:
    files = []
    for name in CHECKED:
        path = ROOT / name
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return files


def function_lengths(path: Path) -> list[tuple[str, int]]:
    """``("file:line qualified.name", lines)`` for every function and method in ``path``."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                where = f"{path.relative_to(ROOT)}:{child.lineno} {prefix}{child.name}"
                found.append((where, child.end_lineno - child.lineno + 1))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), "")
    return found


def test_the_checked_folders_hold_code():
    assert len(python_files()) > 50


def test_no_function_is_longer_than_60_lines():
    too_long = [f"{where}: {lines} lines" for path in python_files()
                for where, lines in function_lengths(path) if lines > MAX_LINES]
    assert not too_long, f"split these into functions of at most {MAX_LINES} lines:\n" + "\n".join(too_long)
