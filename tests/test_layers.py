"""Layers point one way: the command line, the test support, the examples and the benchmarks use
only the SDK's public names (keyapi_async.__all__ and its public submodules), never a private
module or a `._private` attribute of an SDK object. Checked by parsing their source (ast).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import keyapi_async

ROOT = Path(__file__).resolve().parent.parent
# each layer: its folder, and the dotted name its own relative imports resolve against
LAYERS = {
    "keyapi_async/_cli": "keyapi_async._cli",
    "keyapi_async/testing": "keyapi_async.testing",
    "examples": "examples",
    "benchmarks": "benchmarks",
}
PUBLIC_SUBMODULES = {"keyapi_async.testing", "keyapi_async.redis"}


def _module_of(path: Path, layer_dir: str, layer_module: str) -> str:
    rel = path.relative_to(ROOT / layer_dir).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([layer_module, *parts])


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _private_sdk_module(name: str, own: str) -> bool:
    """A keyapi_async module with an underscored part, other than the layer's own modules."""
    if name != "keyapi_async" and not name.startswith("keyapi_async."):
        return False
    if name == own or name.startswith(own + "."):
        return False
    parts = name.split(".")[1:]
    return any(p.startswith("_") and not p.startswith("__") for p in parts)


def violations(source: str, module: str, *, is_package: bool, own: str) -> list[str]:
    """Each private use in `source` (the module `module`), as `line: what`."""
    found: list[str] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _private_sdk_module(alias.name, own):
                    found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module, is_package)
            if _private_sdk_module(target, own):
                found.append(f"{node.lineno}: from {target} import ...")
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}"
                if target == "keyapi_async":
                    if alias.name not in keyapi_async.__all__ and full not in PUBLIC_SUBMODULES:
                        found.append(f"{node.lineno}: from keyapi_async import {alias.name}")
                elif target.startswith("keyapi_async.") and _private_sdk_module(full, own):
                    found.append(f"{node.lineno}: from {target} import {alias.name}")
        elif isinstance(node, ast.Attribute):
            name = node.attr
            owner = node.value
            if not name.startswith("_") or name.startswith("__"):
                continue
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue  # a class of the layer itself, reading its own state
            found.append(f"{node.lineno}: ._{name.lstrip('_')} attribute")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and node.args[1].value.startswith("_")
            and not node.args[1].value.startswith("__")
        ):
            found.append(f"{node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
    return found


def _files() -> list[tuple[str, Path]]:
    return [
        (layer, path)
        for layer in LAYERS
        for path in sorted((ROOT / layer).rglob("*.py"))
        if "__pycache__" not in path.parts
    ]


@pytest.mark.parametrize(
    ("layer", "path"), _files(), ids=[str(p.relative_to(ROOT)) for _, p in _files()]
)
def test_uses_only_public_names_of_the_sdk(layer: str, path: Path) -> None:
    own = LAYERS[layer]
    module = _module_of(path, layer, own)
    rel = str(path.relative_to(ROOT))
    found = violations(
        path.read_text(encoding="utf-8"),
        module,
        is_package=path.name == "__init__.py",
        own=own if own.startswith("keyapi_async.") else "\0",
    )
    assert found == [], f"{rel} uses private SDK names:\n" + "\n".join(found)


def test_every_layer_has_files() -> None:
    for layer in LAYERS:
        assert list((ROOT / layer).rglob("*.py")), layer


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from keyapi_async._window import PageWindow", "from keyapi_async._window import ..."),
        ("from .._resources import MAX_PAGE_SIZE", "from keyapi_async._resources import ..."),
        ("from .. import _params as p", "from keyapi_async import _params"),
        ("import keyapi_async._limiter", "import keyapi_async._limiter"),
        ("from keyapi_async.redis._limiter import X", "from keyapi_async.redis._limiter"),
        ("from keyapi_async.testing import _server", "from keyapi_async.testing import _server"),
        ("x = pager._plan", "._plan attribute"),
        ("client._request(e, q)", "._request attribute"),
        ("getattr(client, '_limiter')", "getattr(..., '_limiter')"),
    ],
)
def test_the_check_catches_each_kind_of_private_use(source: str, expected: str) -> None:
    found = violations(source, "keyapi_async._cli._run", is_package=False, own="keyapi_async._cli")
    assert len(found) == 1
    assert expected in found[0]


def test_the_check_allows_public_and_own_names() -> None:
    source = (
        "from .. import KeyAPI, PageStream, __version__\n"
        "from ..testing import FakeKeyAPI\n"
        "from ._errors import UsageError\n"
        "import keyapi_async.redis\n"
        "self._stream.stop()\n"
        "x.__class__\n"
    )
    assert (
        violations(source, "keyapi_async._cli._run", is_package=False, own="keyapi_async._cli")
        == []
    )
