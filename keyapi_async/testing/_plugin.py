"""pytest plugin: sync fixtures running FakeKeyAPI on its own thread.

Sync on purpose: they work under any async test runner, without pytest-asyncio.
The server module is imported lazily so that merely loading the plugin stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._server import FakeKeyAPI


@pytest.fixture
def keyapi_fake() -> Iterator[FakeKeyAPI]:
    """A started FakeKeyAPI with default settings (url, api_key, dataset, log, faults)."""
    from ._server import FakeKeyAPI

    with FakeKeyAPI() as api:
        yield api


@pytest.fixture
def keyapi_fake_factory() -> Iterator[Callable[..., FakeKeyAPI]]:
    """Returns `make(**kwargs)` starting FakeKeyAPI(**kwargs); all are closed at teardown."""
    from ._server import FakeKeyAPI

    started: list[FakeKeyAPI] = []

    def make(**kwargs: Any) -> FakeKeyAPI:
        api = FakeKeyAPI(**kwargs).__enter__()
        started.append(api)
        return api

    yield make
    for api in reversed(started):
        api.__exit__(None, None, None)
