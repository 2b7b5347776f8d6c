"""mkdocs hook: the Benchmarks page shows benchmarks/results.md, kept outside docs/.

`nox -s bench` writes benchmarks/results.md and results.png outside docs/, if a run has written
them. This puts the results into the page at the `<!-- benchmarks/results.md -->` marker, one
heading level down, and publishes results.png beside the page, so the build passes --strict with
or without a run.

Only the standard mkdocs hook API is used: no plugin to install.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path("benchmarks/results.md")
IMAGE = Path("benchmarks/results.png")
MARKER = "<!-- benchmarks/results.md -->"
PAGE = "benchmarks.md"
NO_RESULTS = (
    "!!! note\n    No results in this build: run `nox -s bench`, then build the docs again.\n"
)


def _root(config: Any) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def on_files(files: Files, config: Any) -> Files:
    image = _root(config) / IMAGE
    if image.is_file():  # linked from results.md as "results.png", beside the page's source
        files.append(File.generated(config, "results.png", abs_src_path=str(image)))
    return files


def _demoted(markdown: str) -> str:
    """Every heading one level down (the page has its own title), code fences left alone."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,5} ", line):
            line = "#" + line
        out.append(line)
    return "\n".join(out) + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if page.file.src_uri != PAGE or MARKER not in markdown:
        return markdown
    results = _root(config) / RESULTS
    text = _demoted(results.read_text(encoding="utf-8")) if results.is_file() else NO_RESULTS
    return markdown.replace(MARKER, text)
