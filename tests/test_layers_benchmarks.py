"""benchmarks/ and examples/ use only the SDK's public names: what `keyapi_async.__all__` exports
and public submodules (keyapi_async.testing, keyapi_async.redis), never a `_private` module,
name or attribute. They show what a user can do, so they may not reach behind the API."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "benchmarks").glob("*.py"), *(ROOT / "examples").rglob("*.py")])
# Waiting for a public seam of the SDK; each entry names the seam. Remove it once the seam lands.
PENDING: dict[str, str] = {}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(source: str, where: str) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules, names = [node.module], [alias.name for alias in node.names]
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"{where}:{node.lineno}: .{node.attr}")
            continue
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] != "keyapi_async":
                continue
            if any(_private(part) for part in parts):
                found.append(f"{where}:{node.lineno}: {module}")
                continue
            public = set(getattr(importlib.import_module(module), "__all__", ()))
            found += [f"{where}:{node.lineno}: {module}.{n}" for n in names if n not in public]
    return found


def test_the_check_sees_each_kind_of_reach() -> None:
    source = (
        "import keyapi_async._limiter\n"
        "from keyapi_async import KeyAPI, _retry\n"
        "from keyapi_async.testing import FakeKeyAPI, _render\n"
        "client._limiter, self._own, cls._own, client.__class__\n"
    )
    assert sorted(violations(source, "x.py")) == [
        "x.py:1: keyapi_async._limiter",
        "x.py:2: keyapi_async._retry",
        "x.py:3: keyapi_async.testing._render",
        "x.py:4: ._limiter",
    ]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_only_public_names_of_the_sdk(path: Path) -> None:
    where = path.relative_to(ROOT).as_posix()
    pending = {v for v in PENDING if v.startswith(where + ":")}
    found = violations(path.read_text(encoding="utf-8"), where)
    assert {re.sub(r":\d+:", ":", v) for v in found} == pending, found
