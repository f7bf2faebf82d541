"""Rules of docs/architecture.md that no linter checks: short functions, exceptions in one place.

The import layers and the no-cycle rule are import-linter contracts (``make imports``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import ovmer

SOURCE = Path(ovmer.__file__).parent
#: Outside cli/ (where option declarations make commands long) a function fits on a screen.
MAX_FUNCTION_LINES = 80


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(SOURCE.rglob("*.py"))]


def test_no_function_outside_the_cli_is_over_80_lines() -> None:
    long = [
        f"{path.relative_to(SOURCE)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path, tree in _modules()
        if "cli" not in path.relative_to(SOURCE).parts
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_every_public_exception_class_lives_in_errors() -> None:
    """A user catches ``ovmer.errors.X``; a second home for an exception is a second name for it."""
    elsewhere = [
        f"{path.relative_to(SOURCE)}:{node.lineno} {node.name}"
        for path, tree in _modules()
        if path.name != "errors.py"
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        and not node.name.startswith("_")
        and any(
            isinstance(base, ast.Name) and (base.id.endswith("Error") or base.id == "Exception")
            for base in node.bases
        )
    ]
    assert elsewhere == []


def test_the_checks_see_the_package() -> None:
    """Guard against the two tests above passing on an empty walk."""
    names = {path.name for path, _ in _modules()}
    assert {"errors.py", "inputs.py", "runner.py", "record.py"} <= names
