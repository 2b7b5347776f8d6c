"""docs/guarantees.md, the one home of the guarantees, names tests that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "guarantees.md"
# `tests/file.py::test_name`, or `tests/file.py` for a whole file
REFERENCE = re.compile(r"`(tests/[A-Za-z0-9_/]+\.py)(?:::([A-Za-z0-9_]+))?`")


def guarantees() -> list[str]:
    return PAGE.read_text(encoding="utf-8").split("\n- ")[1:]


def test_every_guarantee_names_a_test_that_exists() -> None:
    bullets = guarantees()
    assert len(bullets) >= 10
    for bullet in bullets:
        references = REFERENCE.findall(bullet)
        assert references, f"a guarantee without a test: {bullet[:60]!r}"
        for path, name in references:
            source = ROOT / path
            assert source.is_file(), path
            text = source.read_text(encoding="utf-8")
            if name:
                defined = {
                    node.name
                    for node in ast.walk(ast.parse(text))
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                }
                assert name in defined, f"{path} has no {name}"
            else:
                assert "def test_" in text, f"{path} holds no test"


def test_the_guarantees_have_one_home() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Guarantees" not in readme
    assert "(docs/guarantees.md)" in readme  # linked, not repeated
    assert "tests/test_" not in readme
