"""Client lifecycle, configuration from the environment, and where the key may (not) appear."""

from __future__ import annotations

import logging
import traceback

import aiohttp
import pytest

from keyapi_async import APIConnectionError, AuthenticationError, KeyAPI, KeyAPIError
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient

SECRET = "sk_live_do_not_leak_0123456789"


def test_no_key_anywhere_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYAPI_API_KEY", raising=False)
    monkeypatch.delenv("KEYAPI_TOKEN", raising=False)
    with pytest.raises(KeyAPIError, match="KEYAPI_API_KEY"):
        KeyAPI()


async def test_key_and_base_url_from_the_environment(
    fake: FakeKeyAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEYAPI_API_KEY", raising=False)
    monkeypatch.setenv("KEYAPI_TOKEN", fake.api_key)
    monkeypatch.setenv("KEYAPI_BASE_URL", fake.url)
    async with KeyAPI(qps=None) as client:
        assert client.base_url == fake.url
        page = await client.influencers.list(region="US")
    assert len(page.items) == 10
    # KEYAPI_API_KEY wins over KEYAPI_TOKEN, and the argument over both.
    monkeypatch.setenv("KEYAPI_API_KEY", "sk_from_api_key_var")
    async with KeyAPI(qps=None) as client:
        with pytest.raises(AuthenticationError):
            await client.influencers.list(region="US")
    async with KeyAPI(fake.api_key, qps=None) as client:
        await client.influencers.list(region="US")


def test_default_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYAPI_BASE_URL", raising=False)
    monkeypatch.delenv("KEYAPI_API_BASE_URL", raising=False)
    assert KeyAPI("k").base_url == "https://api.keyapi.ai"


async def test_closed_client_refuses_to_send(fake: FakeKeyAPI, make_client: MakeClient) -> None:
    client = make_client()
    await client.aclose()
    with pytest.raises(KeyAPIError, match="closed"):
        await client.influencers.list(region="US")
    assert fake.requests == []


async def test_callers_session_is_not_closed(fake: FakeKeyAPI) -> None:
    async with aiohttp.ClientSession() as session:
        async with KeyAPI(fake.api_key, base_url=fake.url, session=session) as client:
            await client.influencers.list(region="US")
        assert not session.closed
        async with session.get(fake.url + "/nowhere") as response:  # still usable
            assert response.status == 404


async def test_key_appears_in_no_repr_log_or_error(caplog: pytest.LogCaptureFixture) -> None:
    async with FakeKeyAPI(api_key=SECRET) as fake:
        fake.script(Fault.SERVER_ERROR, Fault.DROP, Fault.UNAUTHORIZED)
        with caplog.at_level(logging.DEBUG):
            async with KeyAPI(SECRET, base_url=fake.url, qps=None, retry_base_delay=0) as client:
                with pytest.raises(AuthenticationError) as caught:
                    await client.influencers.list(region="US")
                texts = [repr(client), str(client.usage), repr(client.influencers)]
        texts += [repr(fake), *(repr(r) for r in fake.requests)]
    texts += [str(caught.value), repr(caught.value)]
    texts += traceback.format_exception(caught.value)
    texts += [r.getMessage() for r in caplog.records]
    assert len(caplog.records) >= 2  # the retries were logged
    assert not [t for t in texts if SECRET in t]
    # ... while it did travel in the Authorization header.
    assert all(r.authorized for r in fake.requests)


def test_base_url_scheme_is_case_insensitive_and_empty_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert KeyAPI("k", base_url="HTTPS://api.keyapi.ai").base_url == "HTTPS://api.keyapi.ai"
    monkeypatch.setenv("KEYAPI_BASE_URL", "https://elsewhere.example")
    with pytest.raises(ValueError, match="base_url"):
        KeyAPI("k", base_url="")  # an explicit empty URL is a mistake, not "use the default"


def test_an_envelope_with_a_null_message_still_decodes() -> None:
    from keyapi_async import InsufficientCreditsError
    from keyapi_async._endpoints import INFLUENCER_LIST

    ok = b'{"code":0,"message":null,"data":[{"user_id":"1"}],"requestId":"r"}'
    records, request_id = INFLUENCER_LIST.decoder.decode(200, ok)
    assert [r.user_id for r in records] == ["1"]
    assert request_id == "r"
    with pytest.raises(InsufficientCreditsError):
        INFLUENCER_LIST.decoder.decode(200, b'{"code":402,"message":null,"data":null}')


def test_an_explicit_empty_key_is_not_replaced_by_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEYAPI_API_KEY", "sk_from_env")
    with pytest.raises(KeyAPIError, match="KEYAPI_API_KEY"):
        KeyAPI("")


async def test_a_connection_error_keeps_no_aiohttp_exception_behind_it() -> None:
    async with KeyAPI("sk_live_secret", base_url="http://127.0.0.1:9", max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.influencers.list(region="US")
    assert caught.value.__context__ is None  # aiohttp's request_info would hold the key
    assert caught.value.__cause__ is None
