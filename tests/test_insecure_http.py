"""Plain http: refused off loopback unless opted into (the key would travel in clear text)."""

from __future__ import annotations

import pytest

from keyapi_async import InvalidParameterError, KeyAPI


@pytest.mark.parametrize(
    "url", ["http://api.keyapi.ai", "http://10.0.0.5:8080", "HTTP://example.com/v1"]
)
def test_plain_http_off_loopback_is_refused(url: str) -> None:
    with pytest.raises(InvalidParameterError, match="allow_insecure_http") as caught:
        KeyAPI("k", base_url=url)
    assert caught.value.parameter == "base_url"
    assert KeyAPI("k", base_url=url, allow_insecure_http=True).base_url == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost", "http://[::1]:9"])
def test_plain_http_on_loopback_is_fine(url: str) -> None:
    assert KeyAPI("k", base_url=url).base_url == url
