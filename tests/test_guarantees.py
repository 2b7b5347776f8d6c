"""The README's Guarantees section points at tests that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[([^\]]+)\]\((tests/[^)]+)\)")


def guarantees() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## Guarantees\n", 1)[1].split("\n## ", 1)[0]


def test_every_guarantee_links_to_a_test_that_exists() -> None:
    bullets = guarantees().split("\n- ")[1:]
    assert len(bullets) >= 10
    for bullet in bullets:
        links = LINK.findall(bullet)
        assert links, f"a guarantee without a test: {bullet[:60]!r}"
        for name, path in links:
            source = ROOT / path
            assert source.is_file(), path
            if not name.endswith(".py"):
                tree = ast.parse(source.read_text(encoding="utf-8"))
                defined = {
                    node.name
                    for node in ast.walk(tree)
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                }
                assert name in defined, f"{path} has no {name}"
            else:
                assert name == Path(path).name, f"link text {name!r} should name {path}"
                assert "def test_" in source.read_text(encoding="utf-8")


def test_the_docs_page_includes_the_readme_section() -> None:
    page = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    assert "<!-- README.md#guarantees -->" in page
