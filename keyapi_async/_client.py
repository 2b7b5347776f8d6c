"""KeyAPI: configuration, lifecycle, and the one path every request takes.

A request attempt goes: refuse if closed -> hold a credit of the budget (max_credits) -> wait for
the limiter -> once the connection is ready, count the request (see _transport) -> send ->
decode. Retries and redirect hops go the same way, so each is paced, budgeted and counted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from ._endpoints import Endpoint
from ._errors import (
    APIConnectionError,
    AuthenticationError,
    CreditBudgetExceeded,
    InvalidParameterError,
    KeyAPIError,
    RateLimitError,
)
from ._limiter import RateLimiter
from ._params import finite_number, shown, whole
from ._resources import Influencers
from ._retry import RetryPolicy
from ._transport import Answer, Limiter, Transport

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.keyapi.ai"
MAX_REDIRECTS = 3
_LOOPBACK_NAMES = ("localhost", "localhost.")
_DEFAULT_QPS = 10.0


class Usage:
    """What this client has spent. `requests` equals what the server received."""

    __slots__ = ("credits", "requests", "retries")

    def __init__(self) -> None:
        self.requests = 0  # HTTP attempts sent
        self.credits = 0  # successful answers
        self.retries = 0  # attempts that were retried

    def __repr__(self) -> str:
        return f"Usage(requests={self.requests}, credits={self.credits}, retries={self.retries})"


def _resolve_key(api_key: str | None) -> str:
    if api_key is None:
        key = os.environ.get("KEYAPI_API_KEY") or os.environ.get("KEYAPI_TOKEN")
        if not key:
            raise KeyAPIError(
                "no API key: pass api_key=... or set KEYAPI_API_KEY (KEYAPI_TOKEN is read too)"
            )
    elif not isinstance(api_key, str) or not api_key:
        raise InvalidParameterError(
            "api_key", "must be a non-empty string; leave it unset to read KEYAPI_API_KEY"
        )
    else:
        key = api_key
    if not (key.isascii() and key.isprintable()) or " " in key:
        # Never shown: even a malformed key is a secret.
        raise InvalidParameterError(
            "api_key", "must be printable ASCII without spaces (keys look like sk_live_...)"
        )
    return key


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() in _LOOPBACK_NAMES


def _check_base_url(url: Any, *, allow_insecure_http: bool) -> str:
    try:
        parsed = URL(url) if isinstance(url, str) else None
        host, port = (parsed.host, parsed.port) if parsed is not None else (None, None)
    except (ValueError, UnicodeError) as exc:
        raise InvalidParameterError("base_url", f"is not a valid URL ({exc})") from None
    if parsed is None or parsed.scheme not in ("http", "https") or not host or port is None:
        raise InvalidParameterError("base_url", f"must be an http(s) URL, got {shown(url)}")
    if parsed.scheme == "http" and not _is_loopback(host) and not allow_insecure_http:
        raise InvalidParameterError(
            "base_url",
            f"plain http to {host} would send the API key in clear text; "
            "use https, or pass allow_insecure_http=True",
        )
    return str(url)


def _seconds(name: str, value: Any, *, allow_zero: bool) -> float:
    if not finite_number(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InvalidParameterError(name, f"must be a finite number {bound}, got {shown(value)}")
    return float(value)


def _count(name: str, value: Any, *, low: int, high: int | None = None) -> int:
    return whole(name, value, low, high)


class _Passage:
    """One request's way out: wait for the limiter, then count it once it is really sent."""

    __slots__ = ("_client", "start", "was_sent")

    def __init__(self, client: KeyAPI) -> None:
        self._client = client
        self.start = 0.0  # on the loop's clock
        self.was_sent = False

    async def wait_for_slot(self) -> None:
        client = self._client
        limiter = client._limiter
        if isinstance(limiter, RateLimiter):
            self.start = await limiter.acquire()
        elif limiter is not None:
            await limiter.acquire()
        client._ensure_open()

    def sent(self) -> None:
        client = self._client
        client._reserved -= 1
        client.usage.requests += 1
        self.was_sent = True
        if isinstance(client._limiter, RateLimiter):
            # A late wake-up or a cold connection (TCP, TLS) delays this request past its slot;
            # the later ones must not catch up with it in the server's window.
            client._limiter.slip(asyncio.get_running_loop().time() - self.start)


class KeyAPI:
    """Async client for KeyAPI's TikTok influencer analytics.

    Use it as `async with KeyAPI() as client:` or call `await client.aclose()` when done.
    """

    __slots__ = (
        "_closed",
        "_limiter",
        "_max_credits",
        "_reserved",
        "_retry",
        "_transport",
        "base_url",
        "detail_batch_size",
        "influencers",
        "usage",
    )

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        qps: float | None = 10.0,
        max_retries: int = 4,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 30.0,
        timeout: float = 30.0,
        max_credits: int | None = None,
        detail_batch_size: int = 20,
        limiter: Limiter | None = None,
        session: aiohttp.ClientSession | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        key = _resolve_key(api_key)
        if base_url is None:
            base_url = os.environ.get("KEYAPI_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = _check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        base_delay = _seconds("retry_base_delay", retry_base_delay, allow_zero=True)
        max_delay = _seconds("retry_max_delay", retry_max_delay, allow_zero=True)
        if base_delay > max_delay:
            raise InvalidParameterError(
                "retry_base_delay", f"must be <= retry_max_delay ({base_delay:g} > {max_delay:g})"
            )
        self._retry = RetryPolicy(
            max_retries=_count("max_retries", max_retries, low=0),
            base_delay=base_delay,
            max_delay=max_delay,
        )
        if limiter is not None:
            if not callable(getattr(limiter, "acquire", None)):
                raise InvalidParameterError("limiter", "must have an async acquire() method")
            if qps is not None and qps != _DEFAULT_QPS:  # 10.0 is the signature's default
                raise InvalidParameterError("qps", "set the rate on the limiter you pass, not here")
            self._limiter: Limiter | None = limiter
        else:
            self._limiter = None if qps is None else RateLimiter(qps)
        self._max_credits = (
            None if max_credits is None else _count("max_credits", max_credits, low=1)
        )
        self.detail_batch_size = _count("detail_batch_size", detail_batch_size, low=1, high=100)
        timeout_s = _seconds("timeout", timeout, allow_zero=False)
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise InvalidParameterError("session", "must be an aiohttp.ClientSession")
        self._transport = Transport(
            base_url=self.base_url, api_key=key, timeout=timeout_s, session=session
        )
        self._closed = False
        self._reserved = 0  # budget held by requests not yet sent
        self.usage = Usage()
        self.influencers = Influencers(self)

    def __repr__(self) -> str:
        return (
            f"KeyAPI(base_url={self.base_url!r}, limiter={self._limiter!r}, usage={self.usage!r})"
        )

    async def __aenter__(self) -> KeyAPI:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session (unless it was passed in). The client then refuses to send."""
        self._closed = True
        await self._transport.aclose()

    async def _request(
        self, endpoint: Endpoint[T], query: dict[str, str]
    ) -> tuple[list[T], str | None]:
        """One call with retries: (records, request_id) or the last typed error."""
        # The first attempt runs bare: the retry machinery is only built once it is needed.
        try:
            return await self._attempt(endpoint, query)
        except KeyAPIError as exc:
            if not exc.retryable or self._retry.max_retries == 0:
                raise
            return await self._retry_after(exc, endpoint, query)

    async def _retry_after(
        self, first_error: KeyAPIError, endpoint: Endpoint[T], query: dict[str, str]
    ) -> tuple[list[T], str | None]:
        records: list[T] = []
        request_id: str | None = None
        first: KeyAPIError | None = first_error

        def what() -> str:
            page = query.get("page_num")
            return endpoint.path + (f" page {page}" if page else "")

        def count_retry() -> None:
            self.usage.retries += 1

        async with self._retry.attempts(what, count_retry) as attempts:
            async for attempt in attempts:
                with attempt:
                    if first is not None:  # hand backoff the first attempt's error to wait on
                        failed, first = first, None
                        raise failed
                    records, request_id = await self._attempt(endpoint, query)
        return records, request_id

    async def _attempt(
        self, endpoint: Endpoint[T], query: dict[str, str]
    ) -> tuple[list[T], str | None]:
        url: URL = self._transport.url(endpoint.path)
        params: dict[str, str] | None = query
        for _ in range(MAX_REDIRECTS + 1):
            answer, started = await self._send(url, params)
            if answer.location is None:
                break
            url, params = answer.location, None  # each hop is a request: paced and counted
        else:
            loop = APIConnectionError(f"more than {MAX_REDIRECTS} redirects from {endpoint.path}")
            loop.retryable = False  # a loop would only buy the same hops again
            raise loop
        try:
            result = endpoint.decoder.decode(
                answer.status, answer.body, retry_after=answer.retry_after
            )
        except RateLimitError as exc:
            if isinstance(self._limiter, RateLimiter):
                self._limiter.rate_limited(self._retry.hold_after(exc.retry_after), started)
            raise
        except AuthenticationError as exc:
            if not self._transport.sends_key_to(url):  # redirected off the origin: no key sent
                raise exc.without_key() from None
            raise
        self.usage.credits += 1
        return result

    async def _send(self, url: URL, params: dict[str, str] | None) -> tuple[Answer, float]:
        """One request: its answer, and when it started on the loop's clock."""
        self._ensure_open()
        budget = self._max_credits
        if budget is not None and self.usage.requests + self._reserved >= budget:
            raise CreditBudgetExceeded(budget)
        self._reserved += 1  # held from here, so concurrent calls cannot overshoot the budget
        passage = _Passage(self)
        try:
            return await self._transport.get(url, params, passage), passage.start
        finally:
            if not passage.was_sent:
                self._reserved -= 1  # never sent: nothing spent

    def _ensure_open(self) -> None:
        if self._closed:
            raise KeyAPIError("this KeyAPI client is closed")
