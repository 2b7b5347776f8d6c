"""KeyAPI: configuration, lifecycle, and the one path every request takes.

A call goes, layer by layer:
- `_request`: an answer in the cache costs nothing (see _cache); identical calls in flight share
  one request (see _coalesce);
- `_request_filling_cache`: with a cache shared by processes, one process buys what they all want;
- `_request_with_retries`: lease a credit of the budget (see _budget), retry what is worth it;
- `_send_following_redirects`: each hop is a request of its own, then the answer is decoded;
- `_send_once`: wait for the limiter, count the request once its connection is ready (see
  _transport), send.
Retries and redirect hops go the same way, so each is paced, budgeted and counted; each leases its
credit as soon as it is decided (before a backoff sleep), ahead of any new call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from types import TracebackType
from typing import Any, Literal, TypeVar

import aiohttp
from yarl import URL

from ._budget import CallLease, CreditBudget, budget_from
from ._cache import ResponseCache, cache_key
from ._cache_use import checked_cache, close_cache, lookup, store, ttl_of
from ._config import SignatureDefault, check_base_url, env_base_url, resolve_key, seconds
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
from ._hooks import CallTrace, EventHook, checked_hooks
from ._limiter import Limiter, RateLimiter
from ._logging import logger
from ._params import whole
from ._resources import Influencers
from ._retry import RetryPolicy
from ._shared import OutgoingRequest, Shared
from ._transport import RawResponse, Transport
from ._usage import Usage

T = TypeVar("T")
Records = tuple[list[T], str | None]  # the records of one answer, and its request_id
Bought = tuple[list[T], str | None, bytes]  # the same, with the body as it came (for a cache)
INHERIT: Literal["inherit"] = "inherit"

MAX_REDIRECTS = 3
_QPS = SignatureDefault(10.0)


def _describe(details: dict[str, Any]) -> str:
    endpoint, query = details["args"][0], details["args"][1]
    page = query.get("page_num")
    return str(endpoint.path) + (f" page {page}" if page else "")


class KeyAPI:
    """Async client for KeyAPI's TikTok influencer analytics.

    Use it as `async with KeyAPI() as client:` or call `await client.aclose()` when done.

    Args:
        api_key: Sent only in the Authorization header, only to the base URL's origin. Unset:
            read from the environment variable KEYAPI_API_KEY, else KEYAPI_TOKEN.
        base_url: Unset: KEYAPI_BASE_URL, else KEYAPI_API_BASE_URL (the provider's tooling's
            name; ours wins, being set for this SDK alone), else https://api.keyapi.ai.
            Plain http:// is refused off loopback unless `allow_insecure_http=True`.
        qps: At most this many requests start in any sliding second (the server's count);
            None switches pacing off. After a 429 the pace adapts down, then probes back up.
        max_retries: Retries after the first attempt, for 429, 5xx, timeouts, connection errors
            and bodies that are not JSON. Other errors are final and cost one request.
        retry_base_delay: Seconds: the exponential backoff's first bound (full jitter).
        retry_max_delay: Seconds: the cap of every wait, a server's Retry-After included.
        timeout: Seconds for one whole answer, body included; waiting for the limiter does not
            count.
        max_credits: Shortcut for `budget=LocalCreditBudget(max_credits)`: the client sends at
            most this many requests, retries included, then raises CreditBudgetExceeded.
        budget: Any CreditBudget (LocalCreditBudget, or keyapi_async.redis.RedisCreditBudget for
            a fleet); not together with `max_credits`.
        detail_batch_size: IDs per detail request, 1 to 100.
        limiter: Any object with `async acquire()`, instead of `qps` (a shared RateLimiter, a
            RedisRateLimiter, an aiolimiter.AsyncLimiter).
        coalesce: Identical calls in flight at once share one request (`usage.coalesced`).
        event_hooks: Functions called with an AttemptDetails after every attempt of every call
            and every cache hit (keyapi_async.otel.tracing() makes them OpenTelemetry spans).
        cache: A ResponseCache (MemoryCache, SQLiteCache, keyapi_async.redis.RedisCache): answers
            it holds cost no request (`usage.cache_hits`). Closed with the client.
        session: An aiohttp.ClientSession to borrow; the client then does not close it. Its
            requests are counted when their limiter slot comes (not when connected), and its
            own middlewares are not applied to the client's requests.
        allow_insecure_http: Allow plain http:// to a host that is not loopback.
    """

    __slots__ = (
        "_cache",
        "_coalesce",
        "_hooks",
        "_refresh",
        "_retry",
        "_send_with_retries",
        "_shared",
        "_timeout",
        "base_url",
        "detail_batch_size",
        "influencers",
    )

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        qps: float | None = _QPS,
        max_retries: int = 4,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 30.0,
        timeout: float = 30.0,
        max_credits: int | None = None,
        budget: CreditBudget[Any] | None = None,
        detail_batch_size: int = 20,
        limiter: Limiter | None = None,
        coalesce: bool = True,
        cache: ResponseCache | None = None,
        event_hooks: Sequence[EventHook] = (),
        session: aiohttp.ClientSession | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        key = resolve_key(api_key)
        source, base_url = ("base_url", base_url) if base_url is not None else env_base_url()
        self.base_url = check_base_url(
            base_url, allow_insecure_http=allow_insecure_http, parameter=source
        )
        self._configure(max_retries, retry_base_delay, retry_max_delay, timeout)
        if limiter is not None:
            if isinstance(limiter, type) or not callable(getattr(limiter, "acquire", None)):
                raise InvalidParameterError("limiter", "must have an async acquire() method")
            if qps is not _QPS and qps is not None:
                raise InvalidParameterError("qps", "set the rate on the limiter you pass, not here")
        elif qps is not None:
            limiter = RateLimiter(qps)
        # A shared limiter or budget scoped by the key gets a fingerprint of it, never the key.
        fingerprint = key_fingerprint(key)
        for shared in (limiter, budget):
            bind = getattr(shared, "bind", None)
            if callable(bind):
                bind(fingerprint)
        budget = budget_from(budget, max_credits)
        self.detail_batch_size = whole("detail_batch_size", detail_batch_size, 1, 100)
        if not isinstance(coalesce, bool):
            raise InvalidParameterError("coalesce", f"must be True or False, got {coalesce!r}")
        self._coalesce = coalesce
        self._cache = checked_cache(cache, "cache")
        self._refresh = False
        self._hooks = checked_hooks(event_hooks)
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise InvalidParameterError("session", "must be an aiohttp.ClientSession")
        transport = Transport(base_url=self.base_url, api_key=key, session=session)
        self._shared = Shared(transport, limiter, budget, fingerprint)
        if self._cache is not None:
            self._shared.caches.append(self._cache)
        self.influencers = Influencers(
            request=self._request, detail_batch_size=self.detail_batch_size
        )

    def _configure(
        self, max_retries: Any, retry_base_delay: Any, retry_max_delay: Any, timeout: Any
    ) -> None:
        base_delay = seconds("retry_base_delay", retry_base_delay, allow_zero=True)
        max_delay = seconds("retry_max_delay", retry_max_delay, allow_zero=True)
        if base_delay > max_delay:
            raise InvalidParameterError(
                "retry_base_delay", f"must be <= retry_max_delay ({base_delay:g} > {max_delay:g})"
            )
        self._retry = RetryPolicy(
            max_retries=whole("max_retries", max_retries, 0),
            base_delay=base_delay,
            max_delay=max_delay,
        )
        self._timeout = aiohttp.ClientTimeout(total=seconds("timeout", timeout, allow_zero=False))
        self._send_with_retries = self._retry.retrying(
            self._send_following_redirects,
            before_retry=self._before_retry,
            describe=_describe,
        )

    def with_options(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry_base_delay: float | None = None,
        retry_max_delay: float | None = None,
        cache: ResponseCache | Literal["inherit"] | None = INHERIT,
        refresh_cache: bool | None = None,
    ) -> KeyAPI:
        """A view of this client with other per-call options: it shares the session, limiter,
        budget, usage and calls in flight, so a FastAPI route can use a shorter timeout than a
        batch job on the same client. Options left unset keep this client's. The view owns
        nothing: closing it is closing this client.

        `cache=None`: this view neither reads nor stores answers. `refresh_cache=True`: it buys
        every answer afresh and stores it, so the cache's copy is renewed.
        """
        view = object.__new__(KeyAPI)
        retry = self._retry
        view._configure(
            retry.max_retries if max_retries is None else max_retries,
            retry.base_delay if retry_base_delay is None else retry_base_delay,
            retry.max_delay if retry_max_delay is None else retry_max_delay,
            self._timeout.total if timeout is None else timeout,
        )
        view._shared = self._shared
        view._coalesce = self._coalesce
        view._hooks = self._hooks
        view._cache = self._cache if cache is INHERIT else checked_cache(cache, "cache")
        if view._cache is not None and view._cache not in self._shared.caches:
            self._shared.caches.append(view._cache)  # closed with the client, like its own
        if refresh_cache is not None and not isinstance(refresh_cache, bool):
            raise InvalidParameterError(
                "refresh_cache", f"must be True, False or None, got {refresh_cache!r}"
            )
        view._refresh = self._refresh if refresh_cache is None else refresh_cache
        view.base_url = self.base_url
        view.detail_batch_size = self.detail_batch_size
        view.influencers = Influencers(
            request=view._request, detail_batch_size=view.detail_batch_size
        )
        return view

    @property
    def usage(self) -> Usage:
        """What this client and its views have spent (and saved)."""
        return self._shared.usage

    @property
    def limiter(self) -> Limiter | None:
        """The limiter in force (`limiter=`, or a RateLimiter from `qps=`); None: no pacing."""
        return self._shared.limiter

    @property
    def budget(self) -> CreditBudget[Any] | None:
        """The credit budget in force (`budget=`, or a LocalCreditBudget from `max_credits=`)."""
        return self._shared.budget

    def __repr__(self) -> str:
        return f"KeyAPI(base_url={self.base_url!r}, limiter={self.limiter!r}, usage={self.usage!r})"

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
        """Close the HTTP session (unless it was passed in) and the cache. The client then
        refuses to send."""
        shared = self._shared
        shared.closed = True
        try:
            await shared.transport.aclose()
        finally:
            for cache in shared.caches:
                await close_cache(cache)

    # The request path, outermost layer first.

    async def _request(self, endpoint: Endpoint[T], query: dict[str, str]) -> Records[T]:
        """One call: (records, request_id) or the last typed error."""
        shared = self._shared
        shared.ensure_open()
        cache = self._cache
        key = None
        if cache is not None and ttl_of(cache, endpoint.name) > 0:
            key = cache_key(endpoint.name, query, shared.fingerprint)
            if not self._refresh:
                hit = await self._cached(cache, endpoint, query, key)
                if hit is not None:
                    return hit
        if not self._coalesce:
            records, request_id, _ = await self._request_filling_cache(endpoint, query, key)
            return records, request_id
        # Calls share a request only if they would make the same one: the same query, and the
        # same options (a view's timeout and retries are its own).
        same = (endpoint.path, self._retry, self._timeout.total, self._refresh)
        if key is None:
            send = partial(self._request_with_retries, endpoint, query)
        else:
            send = partial(self._request_filling_cache, endpoint, query, key)
        (records, request_id, body), shared_from = await shared.in_flight.join(
            (*same, *sorted(query.items())), send, tag=cache if key is not None else None
        )
        if shared_from is not None:
            shared.usage.coalesced += 1
            kept_in = shared_from[0]  # the cache the sharer kept it in
            if key is not None and cache is not None and kept_in is not cache and body:
                # From a call that keeps its answers elsewhere (or nowhere): keep it here too.
                await store(cache, key, body, ttl_of(cache, endpoint.name))
        # Each caller gets its own list: one caller's edits must not show in another's.
        return list(records), request_id

    async def _cached(
        self, cache: ResponseCache, endpoint: Endpoint[T], query: dict[str, str], key: str
    ) -> Records[T] | None:
        hit = await lookup(cache, endpoint, key, self._shared.usage)
        if hit is not None and self._hooks:
            self._trace(endpoint, query).cache_hit(hit[1])
        return hit

    async def _request_filling_cache(
        self, endpoint: Endpoint[T], query: dict[str, str], key: str | None
    ) -> Bought[T]:
        cache = self._cache
        if key is None or cache is None:
            return await self._request_with_retries(endpoint, query)
        fill_lock = getattr(cache, "fill_lock", None)
        if fill_lock is None:
            bought = await self._request_with_retries(endpoint, query)
            await store(cache, key, bought[2], ttl_of(cache, endpoint.name))
            return bought
        # Another process may be buying it: wait for its value, then look again. The answer is
        # stored before the lock is left, so no waiter finds the lock free and the value absent.
        async with fill_lock(key):
            if not self._refresh:
                hit = await self._cached(cache, endpoint, query, key)
                if hit is not None:
                    return (*hit, b"")
            bought = await self._request_with_retries(endpoint, query)
            await store(cache, key, bought[2], ttl_of(cache, endpoint.name))
        return bought

    async def _request_with_retries(
        self, endpoint: Endpoint[T], query: dict[str, str]
    ) -> Bought[T]:
        trace = self._trace(endpoint, query) if self._hooks else None
        budget = self._shared.budget
        lease = None
        try:
            if budget is None:
                return await self._send_with_retries(endpoint, query, None, trace)
            self._shared.ensure_open()
            lease = CallLease(budget, await budget.reserve(retry=False))
            # one lease from the first attempt to the last
            return await self._send_with_retries(endpoint, query, lease, trace)
        except KeyAPIError as exc:
            if trace is not None and trace.unreported():
                trace.failed(exc, None)  # the last attempt: no retry follows
            raise
        except asyncio.CancelledError:
            if trace is not None and trace.unreported() and trace.sent:
                trace.cancelled()  # sent, so billed: the hooks' counts must match usage
            raise
        finally:
            if lease is not None:
                await lease.release()

    def _trace(self, endpoint: Endpoint[Any], query: dict[str, str]) -> CallTrace:
        return CallTrace(self._hooks, endpoint.name, query.get("page_num"))

    async def _before_retry(self, details: dict[str, Any]) -> None:
        lease: CallLease | None = details["args"][2]
        trace: CallTrace | None = details["args"][3]
        if lease is not None:
            try:
                await lease.renew()  # before the backoff sleep: no new call takes its credit
            except KeyAPIError:
                if trace is not None:  # the attempt as it went: no retry follows it
                    trace.failed(details["exception"], None)
                raise
        self._shared.usage.retries += 1
        if trace is not None:
            trace.failed(details["exception"], details["wait"])

    async def _send_following_redirects(
        self,
        endpoint: Endpoint[T],
        query: dict[str, str],
        lease: CallLease | None,
        trace: CallTrace | None,
    ) -> Bought[T]:
        shared = self._shared
        if trace is not None:
            trace.begin()
        url: URL = shared.transport.url(endpoint.path)
        params: dict[str, str] | None = query
        for _ in range(MAX_REDIRECTS + 1):
            request = OutgoingRequest(shared, lease, trace)
            answer = await self._send_once(url, params, request)
            if answer.location is None:
                break
            url, params = answer.location, None  # each hop is a request: paced and counted
            if lease is not None:
                await lease.renew()
        else:
            raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects from {endpoint.path}")
        try:
            records, request_id = endpoint.decoder.decode(
                answer.status, answer.body, retry_after=answer.retry_after
            )
        except RateLimitError as exc:
            shared.usage.rate_limited += 1
            if shared.rate_limited is not None:
                shared.rate_limited(self._retry.hold_after(exc.retry_after), request.start)
            raise
        except AuthenticationError as exc:
            if not shared.transport.sends_key_to(url):  # redirected off the origin: no key sent
                raise exc.without_key() from None
            raise
        except InsufficientCreditsError as exc:
            await self._credits_exhausted(exc)
            raise
        shared.usage.succeeded += 1
        if trace is not None:
            trace.succeeded(answer.status, request_id)
        return records, request_id, answer.body

    async def _send_once(
        self, url: URL, params: dict[str, str] | None, request: OutgoingRequest
    ) -> RawResponse:
        self._shared.ensure_open()
        return await self._shared.transport.get(url, params, request, self._timeout)

    async def _credits_exhausted(self, exc: InsufficientCreditsError) -> None:
        """Tell a shared limiter or budget, so that the rest of the fleet stops before sending:
        one wasted request per fleet, not one per worker. Failing to tell costs money, never
        the 402 itself, which is raised whatever happens here."""
        for shared in (self._shared.limiter, self._shared.budget):
            hook = getattr(shared, "credits_exhausted", None)
            if callable(hook):
                try:
                    await hook(exc.message)
                except KeyAPIError as failure:
                    logger.warning("could not share the 402 with the fleet: %s", failure)
