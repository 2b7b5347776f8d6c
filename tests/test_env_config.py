"""The provider's own tooling's variables work as they are (docs README: KEYAPI_TOKEN and
KEYAPI_API_BASE_URL); ours (KEYAPI_BASE_URL) wins when both are set."""

from __future__ import annotations

import pytest

from keyapi_async import InvalidParameterError, KeyAPI
from keyapi_async.testing import FakeKeyAPI


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KEYAPI_API_KEY", "KEYAPI_TOKEN", "KEYAPI_BASE_URL", "KEYAPI_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


async def test_the_providers_variables_alone_reach_the_server(
    fake: FakeKeyAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEYAPI_TOKEN", fake.api_key)
    monkeypatch.setenv("KEYAPI_API_BASE_URL", fake.url)
    async with KeyAPI(qps=None) as client:
        assert client.base_url == fake.url
        page = await client.influencers.list(region="US")
    assert page.items
    assert len(fake.requests) == 1


def test_keyapi_base_url_wins_over_the_providers_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEYAPI_BASE_URL", "https://ours.example")
    monkeypatch.setenv("KEYAPI_API_BASE_URL", "https://theirs.example")
    assert KeyAPI("k").base_url == "https://ours.example"
    assert KeyAPI("k", base_url="https://arg.example").base_url == "https://arg.example"


@pytest.mark.parametrize("variable", ["KEYAPI_BASE_URL", "KEYAPI_API_BASE_URL"])
@pytest.mark.parametrize("value", ["ftp://x.example", "not a url", "http://plain.example"])
def test_an_unusable_value_names_the_variable_it_came_from(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidParameterError) as info:
        KeyAPI("k")
    assert info.value.parameter == variable
    assert str(info.value).startswith(f"{variable}: ")


def test_an_unusable_argument_names_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYAPI_API_BASE_URL", "https://fine.example")
    with pytest.raises(InvalidParameterError) as info:
        KeyAPI("k", base_url="ftp://x.example")
    assert info.value.parameter == "base_url"
