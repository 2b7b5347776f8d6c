"""KeyAPI: configuration, lifecycle, and the one path every request takes.

A call goes: refuse if closed -> lease a credit of the budget (see _budget) -> wait for the
limiter -> once the connection is ready, count the request (see _transport) -> send -> decode.
Retries and redirect hops go the same way, so each is paced, budgeted and counted; each leases
its credit as soon as it is decided (before a backoff sleep), ahead of any new call.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
from yarl import URL

from ._budget import CallLease, CreditBudget, budget_from
from ._endpoints import Endpoint
from ._errors import (
    AuthenticationError,
    InsufficientCreditsError,
    InvalidParameterError,
    KeyAPIError,
    RateLimitError,
    TooManyRedirects,
)
from ._fingerprint import key_fingerprint
from ._limiter import RateLimiter
from ._params import finite_number, shown, whole
from ._resources import Influencers
from ._retry import RetryPolicy, logger
from ._transport import Limiter, Transport

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.keyapi.ai"
MAX_REDIRECTS = 3
_LOOPBACK_NAMES = ("localhost", "localhost.")
_DEFAULT_QPS = 10.0


class Usage:
    """What this client has spent.

    - `requests`: HTTP requests sent, retries and redirect hops included, whatever the answer.
    - `credits`: what the account may be charged: the same count, since every request that
      reaches the server costs a credit (docs: README.md; whether error answers are billed is not
      published, so this is the most the bill can say).
    - `succeeded`: answers with data (HTTP 200, code 0).
    - `retries`: attempts that were retried.
    - `rate_limited`: answers that were 429 (over the plan's QPS), retried or not.

    A request counts once its connection is ready. Not exact in one case: a kept-alive connection
    the server closes just as it is reused fails the request after it was counted, though it may
    never have reached the server (see _transport); then `credits` can be one above the bill.
    """

    __slots__ = ("rate_limited", "requests", "retries", "succeeded")

    def __init__(self) -> None:
        self.requests = 0
        self.succeeded = 0
        self.retries = 0
        self.rate_limited = 0

    @property
    def credits(self) -> int:
        return self.requests

    def __repr__(self) -> str:
        return (
            f"Usage(requests={self.requests}, credits={self.credits}, "
            f"succeeded={self.succeeded}, retries={self.retries})"
        )


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


def _env_base_url() -> tuple[str, str]:
    """(where it came from, the URL): ours first, then the provider's tooling's variable (docs
    README), since a value set for this SDK alone is the more specific one."""
    for name in ("KEYAPI_BASE_URL", "KEYAPI_API_BASE_URL"):
        value = os.environ.get(name)
        if value:
            return name, value
    return "base_url", DEFAULT_BASE_URL


def _check_base_url(url: Any, *, allow_insecure_http: bool, parameter: str = "base_url") -> str:
    try:
        parsed = URL(url) if isinstance(url, str) else None
        host, port = (parsed.host, parsed.port) if parsed is not None else (None, None)
    except (ValueError, UnicodeError) as exc:
        raise InvalidParameterError(parameter, f"is not a valid URL ({exc})") from None
    if parsed is None or parsed.scheme not in ("http", "https") or not host or port is None:
        raise InvalidParameterError(parameter, f"must be an http(s) URL, got {shown(url)}")
    if parsed.scheme == "http" and not _is_loopback(host) and not allow_insecure_http:
        raise InvalidParameterError(
            parameter,
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

    __slots__ = ("_client", "_lease", "start")

    def __init__(self, client: KeyAPI, lease: CallLease | None) -> None:
        self._client = client
        self._lease = lease
        self.start = 0.0  # on the loop's clock, when the limiter reports it

    async def wait_for_slot(self) -> None:
        client = self._client
        limiter = client._limiter
        if limiter is not None:
            started = await limiter.acquire()
            if client._limiter_timed:
                self.start = started  # type: ignore[assignment]  # a float, by the hooks' contract
        client._ensure_open()

    def sent(self) -> None:
        client = self._client
        client.usage.requests += 1
        if self._lease is not None:
            self._lease.sent = True
        if client._slip is not None:
            # A late wake-up or a cold connection (TCP, TLS) delays this request past its slot;
            # the later ones must not catch up with it in the server's window.
            client._slip(asyncio.get_running_loop().time() - self.start)


class KeyAPI:
    """Async client for KeyAPI's TikTok influencer analytics.

    Use it as `async with KeyAPI() as client:` or call `await client.aclose()` when done.
    """

    __slots__ = (
        "_budget",
        "_closed",
        "_limiter",
        "_limiter_timed",
        "_rate_limited",
        "_retry",
        "_slip",
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
        budget: CreditBudget[Any] | None = None,
        detail_batch_size: int = 20,
        limiter: Limiter | None = None,
        session: aiohttp.ClientSession | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        key = _resolve_key(api_key)
        source, base_url = ("base_url", base_url) if base_url is not None else _env_base_url()
        self.base_url = _check_base_url(
            base_url, allow_insecure_http=allow_insecure_http, parameter=source
        )
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
        # Optional pacing hooks (RateLimiter's, or any limiter's with the same methods), looked up
        # once: with them acquire() returns the start time on the loop's clock.
        slip = getattr(self._limiter, "slip", None)
        rate_limited = getattr(self._limiter, "rate_limited", None)
        self._slip: Callable[[float], object] | None = slip if callable(slip) else None
        self._rate_limited: Callable[[float, float], object] | None = (
            rate_limited if callable(rate_limited) else None
        )
        self._limiter_timed = self._slip is not None or self._rate_limited is not None
        # A shared limiter or budget scoped by the key gets a fingerprint of it, never the key.
        for shared in (self._limiter, budget):
            bind = getattr(shared, "bind", None)
            if callable(bind):
                bind(key_fingerprint(key))
        self._budget = budget_from(budget, max_credits)
        self.detail_batch_size = _count("detail_batch_size", detail_batch_size, low=1, high=100)
        timeout_s = _seconds("timeout", timeout, allow_zero=False)
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise InvalidParameterError("session", "must be an aiohttp.ClientSession")
        self._transport = Transport(
            base_url=self.base_url, api_key=key, timeout=timeout_s, session=session
        )
        self._closed = False
        self.usage = Usage()
        self.influencers = Influencers(self)

    @property
    def limiter(self) -> Limiter | None:
        """The limiter in force (`limiter=`, or a RateLimiter from `qps=`); None: no pacing."""
        return self._limiter

    @property
    def budget(self) -> CreditBudget[Any] | None:
        """The credit budget in force (`budget=`, or a LocalCreditBudget from `max_credits=`)."""
        return self._budget

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
        budget = self._budget
        if budget is not None:
            return await self._leased(budget, endpoint, query)
        # The first attempt runs bare: the retry machinery is only built once it is needed.
        try:
            return await self._attempt(endpoint, query, None)
        except KeyAPIError as exc:
            if not exc.retryable or self._retry.max_retries == 0:
                raise
            return await self._retry_after(exc, endpoint, query, None)

    async def _leased(
        self, budget: CreditBudget[Any], endpoint: Endpoint[T], query: dict[str, str]
    ) -> tuple[list[T], str | None]:
        """_request under a budget: one lease from the first attempt to the last."""
        self._ensure_open()
        lease = CallLease(budget, await budget.reserve(retry=False))
        try:
            try:
                return await self._attempt(endpoint, query, lease)
            except KeyAPIError as exc:
                if not exc.retryable or self._retry.max_retries == 0:
                    raise
                return await self._retry_after(exc, endpoint, query, lease)
        finally:
            await lease.release()

    async def _retry_after(
        self,
        first_error: KeyAPIError,
        endpoint: Endpoint[T],
        query: dict[str, str],
        lease: CallLease | None,
    ) -> tuple[list[T], str | None]:
        records: list[T] = []
        request_id: str | None = None
        first: KeyAPIError | None = first_error

        def what() -> str:
            page = query.get("page_num")
            return endpoint.path + (f" page {page}" if page else "")

        async def before_retry() -> None:
            if lease is not None:
                await lease.renew()  # before the backoff sleep: no new call takes its credit
            self.usage.retries += 1

        async with self._retry.attempts(what, before_retry) as attempts:
            async for attempt in attempts:
                with attempt:
                    if first is not None:  # hand backoff the first attempt's error to wait on
                        failed, first = first, None
                        raise failed
                    records, request_id = await self._attempt(endpoint, query, lease)
        return records, request_id

    async def _attempt(
        self, endpoint: Endpoint[T], query: dict[str, str], lease: CallLease | None
    ) -> tuple[list[T], str | None]:
        url: URL = self._transport.url(endpoint.path)
        params: dict[str, str] | None = query
        for _ in range(MAX_REDIRECTS + 1):
            passage = _Passage(self, lease)
            self._ensure_open()
            answer = await self._transport.get(url, params, passage)
            if answer.location is None:
                break
            url, params = answer.location, None  # each hop is a request: paced and counted
            if lease is not None:
                await lease.renew()
        else:
            raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects from {endpoint.path}")
        try:
            result = endpoint.decoder.decode(
                answer.status, answer.body, retry_after=answer.retry_after
            )
        except RateLimitError as exc:
            self.usage.rate_limited += 1
            if self._rate_limited is not None:
                self._rate_limited(self._retry.hold_after(exc.retry_after), passage.start)
            raise
        except AuthenticationError as exc:
            if not self._transport.sends_key_to(url):  # redirected off the origin: no key sent
                raise exc.without_key() from None
            raise
        except InsufficientCreditsError as exc:
            await self._credits_exhausted(exc)
            raise
        self.usage.succeeded += 1
        return result

    async def _credits_exhausted(self, exc: InsufficientCreditsError) -> None:
        """Tell a shared limiter or budget, so that the rest of the fleet stops before sending:
        one wasted request per fleet, not one per worker. Failing to tell costs money, never
        the 402 itself, which is raised whatever happens here."""
        for shared in (self._limiter, self._budget):
            hook = getattr(shared, "credits_exhausted", None)
            if callable(hook):
                try:
                    await hook(exc.message)
                except KeyAPIError as failure:
                    logger.warning("could not share the 402 with the fleet: %s", failure)

    def _ensure_open(self) -> None:
        if self._closed:
            raise KeyAPIError("this KeyAPI client is closed")
