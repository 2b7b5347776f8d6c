"""Every ```python block of docs/*.md and README.md runs, so the samples cannot rot.

How a page runs:
- KEYAPI_API_KEY and KEYAPI_BASE_URL point at a running FakeKeyAPI, so `KeyAPI()` in a sample
  talks to it exactly as it would talk to the real API with a real key.
- A page's blocks run in order in one namespace, like cells of a notebook: a later block may use
  what an earlier one defined. Top-level `await` works (as in `python -m asyncio` or Jupyter),
  on one event loop per page; a block may also call `asyncio.run(...)` itself.
- A block titled like a test file (```python title="test_something.py") is a pytest module: it
  is written to a temporary directory and run with pytest, warnings as errors.
- A block whose only line is a snippet include (--8<-- "path") runs that file.
- KeyAPI clients a page leaves in its namespace (`client = KeyAPI()`, notebook style) are closed
  when the page is done. Anything else it leaks (an unclosed session, a socket) fails the page.

A failing block fails the test with the page and line; tracebacks point into the Markdown file.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import gc
import importlib.util
import inspect
import io
import logging
import os
import re
import shlex
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from keyapi_async import KeyAPI, _retry
from keyapi_async.testing import FakeKeyAPI, set_testing

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]

# README.md's fragments use a `client` they never define; the docs pages define their own.
PRELUDES = {"README.md": "from keyapi_async import KeyAPI\nclient = KeyAPI()\n"}
# Samples that need an optional dependency are skipped, with a reason, when it is missing.
OPTIONAL = {"fastapi", "httpx"}

_FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<info>[^`\n]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')
_INCLUDE = re.compile(r'^-{1,3}8<-{1,3} +"(?P<path>[^"]+)"$')


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the block's first code line
    source: str
    title: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def python_blocks(page: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        i += 1
        if not opening:
            continue
        indent, info = opening["indent"], opening["info"].strip()
        start, body = i, []
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent) :])
            i += 1
        i += 1
        words = info.split()
        if words and words[0] in ("python", "py"):
            title = _TITLE.search(info)
            source = "\n".join(body) + "\n"
            blocks.append(Block(page, start + 1, source, title["title"] if title else None))
    return blocks


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeKeyAPI]:
    # Small, so a sample that pages through a whole region stays quick at the default qps.
    with FakeKeyAPI(influencers=50) as server:
        yield server


@pytest.fixture
def sample_env(fake: FakeKeyAPI, monkeypatch: pytest.MonkeyPatch) -> FakeKeyAPI:
    monkeypatch.setenv("KEYAPI_API_KEY", fake.api_key)
    monkeypatch.setenv("KEYAPI_BASE_URL", fake.url)
    monkeypatch.delenv("KEYAPI_TOKEN", raising=False)
    monkeypatch.chdir(ROOT)
    return fake


def _fail(block: Block, error: BaseException | str, filename: str | None = None) -> NoReturn:
    if isinstance(error, BaseException):
        # Show the sample's own frames, not the runner's.
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next
        error.__context__ = None
        error = "".join(traceback.format_exception(error.with_traceback(tb)))
    pytest.fail(f"{block.where}: this python block failed\n{error}", pytrace=False)


def _optional_missing(error: BaseException) -> str | None:
    if isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] in OPTIONAL:
        return error.name
    return None


def _run_in_namespace(
    block: Block,
    source: str,
    filename: str,
    first_line: int,
    ns: dict[str, Any],
    loop: asyncio.AbstractEventLoop,
) -> None:
    padded = "\n" * (first_line - 1) + source  # tracebacks then point at the file's own lines
    failure: Exception | None = None
    try:
        code = compile(padded, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, ns)
        if inspect.iscoroutine(result):
            loop.run_until_complete(result)
    except Exception as error:
        failure = error
    if failure is not None:
        missing = _optional_missing(failure)
        if missing:
            pytest.skip(f"{block.where} needs {missing}")
        _fail(block, failure, filename)


def _run_as_pytest(block: Block, tmp_path: Path) -> None:
    assert block.title is not None
    test_file = tmp_path / Path(block.title).name
    test_file.write_text(block.source, encoding="utf-8")
    command = [
        *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"),
        *("-o", "asyncio_default_fixture_loop_scope=function"),  # else pytest-asyncio warns
        *("-p", "no:hypothesispytest"),  # not needed, and slow to load
    ]
    done = subprocess.run(
        [*command, test_file.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if done.returncode != 0:
        _fail(block, f"pytest {block.title} exited {done.returncode}\n{done.stdout}{done.stderr}")


def sandbox_commands(page: Path) -> list[tuple[int, str]]:
    """(line, command) of each `keyapi-async --sandbox ...` line in the page's bash blocks."""
    found, fenced = [], False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            fenced = line.strip() == "```bash"
        elif fenced and line.startswith("keyapi-async --sandbox "):
            found.append((number, line))
    return found


@pytest.mark.skipif(
    importlib.util.find_spec("keyapi_async.__main__") is None, reason="no CLI in this build"
)
def test_the_cli_pages_sandbox_commands_run(tmp_path: Path) -> None:
    page = ROOT / "docs" / "cli.md"
    commands = sandbox_commands(page)
    assert commands, "docs/cli.md shows no `keyapi-async --sandbox ...` command"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEYAPI_")}
    for number, line in commands:
        args = shlex.split(line)[1:]
        done = subprocess.run(
            [sys.executable, "-m", "keyapi_async", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        where = f"docs/cli.md:{number}: {line}"
        assert done.returncode == 0, f"{where}\nexit {done.returncode}\n{done.stderr}"
        if "--output" in args and "--limit" in args:
            output = tmp_path / args[args.index("--output") + 1]
            lines = output.read_text(encoding="utf-8").splitlines()
            assert len(lines) == int(args[args.index("--limit") + 1]), where


def test_the_pages_have_python_samples() -> None:
    found = {page.name: len(python_blocks(page)) for page in PAGES}
    for name in ("quickstart.md", "pagination.md", "rate-limiting.md", "errors.md", "testing.md"):
        assert found.get(name, 0) > 0, f"docs/{name} has no python sample"


@contextlib.contextmanager
def _restored_global_state() -> Iterator[None]:
    """Undo what a sample may change for the whole process, even when it fails halfway."""
    logger = logging.getLogger("keyapi_async")
    level = logger.level
    testing = _retry.is_testing()
    try:
        yield
    finally:
        logger.setLevel(level)
        set_testing(testing)
        # Whatever the page leaked (an unclosed session, a socket) is collected now, so that the
        # ResourceWarning, an error here, fails this page rather than whichever test runs next.
        gc.collect()


SAMPLE_PAGES = [page for page in PAGES if python_blocks(page)]


@pytest.mark.parametrize("page", SAMPLE_PAGES, ids=[str(p.relative_to(ROOT)) for p in SAMPLE_PAGES])
def test_python_samples_run(page: Path, sample_env: FakeKeyAPI, tmp_path: Path) -> None:
    ns: dict[str, Any] = {"__name__": "__main__", "__file__": str(page)}
    clients: list[KeyAPI] = []  # every client the page left in its namespace, closed at the end
    sample_env.reset_log()
    with _restored_global_state(), contextlib.redirect_stdout(io.StringIO()):
        loop = asyncio.new_event_loop()
        try:
            _run_page(page, ns, loop, tmp_path, clients)
        finally:
            clients += [v for v in ns.values() if isinstance(v, KeyAPI) and v not in clients]
            for client in clients:
                loop.run_until_complete(client.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
    empty = calls_without_data(sample_env)
    assert not empty, f"{page.relative_to(ROOT)}: these calls returned no record: {empty}"


def calls_without_data(fake: FakeKeyAPI) -> list[str]:
    """The page's successful calls that returned nothing: a listing is one call across its pages
    (a page past the end is empty by nature), a detail batch is one call."""
    records: dict[str, int] = {}
    for entry in fake.requests:
        if entry.status != 200 or entry.code != 0:
            continue  # an error a sample shows on purpose
        query = {k: v for k, v in entry.params.items() if k not in ("page_num", "page_size")}
        call = f"{entry.path.split('/')[-2]} {sorted(query.items())}"
        records[call] = records.get(call, 0) + entry.records
    return [call for call, count in records.items() if count == 0]


def _run_page(
    page: Path,
    ns: dict[str, Any],
    loop: asyncio.AbstractEventLoop,
    tmp: Path,
    clients: list[KeyAPI],
) -> None:
    def remember_clients() -> None:
        clients.extend(v for v in ns.values() if isinstance(v, KeyAPI) and v not in clients)

    prelude = PRELUDES.get(page.name)
    if prelude:
        exec(compile(prelude, f"<prelude of {page.name}>", "exec"), ns)
    for block in python_blocks(page):
        remember_clients()
        include = _INCLUDE.match(block.source.strip())
        if block.title and Path(block.title).name.startswith("test_"):
            _run_as_pytest(block, tmp)
        elif include:
            target = ROOT / include["path"]
            source = target.read_text(encoding="utf-8")
            _run_in_namespace(block, source, str(target), 1, ns, loop)
        else:
            _run_in_namespace(block, block.source, str(page), block.line, ns, loop)
