"""House rules of the code itself: no function in vdeblur/ is over 80 lines; the errors are all exported."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vdeblur"


def test_no_function_is_over_80_lines():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 80:
                    long.append(f"{path.relative_to(PACKAGE.parent)}:{node.name} ({n} lines)")
    assert not long, long


def test_every_error_class_is_exported():
    import vdeblur
    from vdeblur import errors

    ours = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.VdeblurError)}
    assert ours <= set(vdeblur.__all__), ours - set(vdeblur.__all__)
