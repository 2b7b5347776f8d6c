"""The retry policy's waits, and the layers around the request path."""

from __future__ import annotations

import ast
import inspect
import logging
import pathlib

import pytest

import keyapi_async
from keyapi_async import KeyAPI
from keyapi_async._retry import RetryPolicy
from keyapi_async.testing import FakeKeyAPI, Fault, set_testing

from .conftest import MakeClient

PACKAGE = pathlib.Path(keyapi_async.__file__).parent


@pytest.mark.parametrize("retry", [0, 10, 62, 63, 1025, 10**6])
def test_the_exponent_is_capped_so_a_late_retry_cannot_overflow(retry: int) -> None:
    policy = RetryPolicy(max_retries=10**7, base_delay=0.5, max_delay=30.0)
    with set_testing(False):
        waits = [policy.wait_before_retry(retry, None) for _ in range(50)]
    assert all(0 <= w <= 30.0 for w in waits)


def test_retry_after_replaces_the_computed_wait_capped() -> None:
    class Hinted(Exception):
        def __init__(self, seconds: float) -> None:
            self.retry_after = seconds

    policy = RetryPolicy(max_retries=3, base_delay=0.5, max_delay=30.0)
    with set_testing(False):
        assert policy.wait_before_retry(0, Hinted(7.0)) == 7.0
        assert policy.wait_before_retry(5, Hinted(600.0)) == 30.0


async def test_each_retry_is_logged_at_debug_with_its_wait(
    fake: FakeKeyAPI, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(max_retries=3)
    fake.script(Fault.SERVER_ERROR, Fault.SERVER_ERROR)
    with caplog.at_level(logging.DEBUG, logger="keyapi_async"):
        await client.influencers.list(region="US")
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retry ")]
    assert len(retries) == 2 == client.usage.retries
    assert retries[0].startswith("retry 1/3 of /v1/tiktok/influencer/list/analytics page 1 in ")
    assert "ServerError" in retries[0]


def test_the_resources_know_nothing_of_the_client() -> None:
    tree = ast.parse((PACKAGE / "_resources.py").read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "_client" not in imported
    private_use = [
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "_client"
    ]
    assert private_use == []


def test_the_qps_default_is_stated_once_in_the_signature() -> None:
    default = inspect.signature(KeyAPI).parameters["qps"].default
    assert default == 10.0
    assert repr(default) == "10.0"
    source = (PACKAGE / "_client.py").read_text()
    assert source.count("10.0") == 1  # no second copy to drift from it


def test_one_logger_for_the_sdk() -> None:
    calls = [
        path.name
        for path in PACKAGE.rglob("*.py")
        if "getLogger(" in path.read_text() and path.name != "_logging.py"
    ]
    assert calls == []
