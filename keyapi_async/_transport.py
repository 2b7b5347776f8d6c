"""One HTTP attempt over aiohttp: send, read the whole body, map aiohttp's exceptions to ours.

Exactly one request goes out per call. aiohttp silently resends an idempotent request once when a
kept-alive connection drops (aio-libs/aiohttp#10790, no switch to turn it off); that resend would
slip past the limiter, the credit budget and the request count. A per-request middleware lets the
first send through and refuses a second one, so the drop surfaces here and the SDK's own retry,
which is paced and counted, decides what happens next.

The caller's `before_send` (pacing, counting) runs as late as it can: on the client's own
session, once the connection is ready (new or reused), just before the request is written. A cold
connection (TCP, TLS) can take longer than the limiter's headroom; were the slot taken before
connecting, that request would land late while later ones on warm connections land on time, and
the server would count more than qps in one second. It also means a request whose connection
could not be made is neither paced nor counted: it never reached the server. A borrowed session
has no such hook; there `before_send` runs before the request starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from types import SimpleNamespace
from typing import Any, NamedTuple, Protocol

import aiohttp
from yarl import URL

from ._decode import retry_after_seconds
from ._errors import APIConnectionError, APITimeoutError

USER_AGENT = "keyapi-async/0.1.0"


class Limiter(Protocol):
    """Anything that paces: `await limiter.acquire()` returns when a request may start."""

    async def acquire(self) -> None: ...


BeforeSend = Callable[[], Awaitable[None]]


async def _on_connection_ready(_: Any, context: SimpleNamespace, __: Any) -> None:
    before_send: BeforeSend | None = context.trace_request_ctx
    if before_send is not None:
        await before_send()


def _before_send_trace() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(_on_connection_ready)
    trace.on_connection_reuseconn.append(_on_connection_ready)
    return trace


class _ResendRefused(Exception):
    def __init__(self, first: BaseException | None) -> None:
        self.first = first


class _SingleSend:
    """aiohttp client middleware that allows one send per request."""

    __slots__ = ("first_error", "sent")

    def __init__(self) -> None:
        self.sent = False
        self.first_error: BaseException | None = None

    async def __call__(
        self, request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        if self.sent:
            raise _ResendRefused(self.first_error)
        self.sent = True
        try:
            return await handler(request)
        except Exception as exc:
            self.first_error = exc
            raise


class Answer(NamedTuple):
    status: int
    body: bytes
    retry_after: float | None  # seconds
    location: URL | None  # where a redirect points, absolute


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Transport:
    """Owns (or borrows) the aiohttp session and the Authorization header.

    The key goes only to the base URL's origin: a redirect elsewhere is followed without it.
    """

    __slots__ = (
        "_anonymous",
        "_base_url",
        "_headers",
        "_origin",
        "_owns_session",
        "_secret",
        "_session",
        "_timeout",
    )

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float,
        session: aiohttp.ClientSession | None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._origin = URL(self._base_url).origin()
        self._secret = api_key
        self._anonymous = {"Accept": "application/json", "User-Agent": USER_AGENT}
        self._headers = {**self._anonymous, "Authorization": f"Bearer {api_key}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None

    def __repr__(self) -> str:
        return f"Transport(base_url={self._base_url!r})"

    def url(self, path: str) -> URL:
        return URL(self._base_url + path)

    async def get(
        self, url: URL, query: Mapping[str, str] | None, before_send: BeforeSend
    ) -> Answer:
        """Send one GET, awaiting `before_send` just before it goes out; read the whole answer."""
        if self._session is None:
            # Created on first use, inside the running loop, so KeyAPI() can be built anywhere.
            self._session = aiohttp.ClientSession(trace_configs=[_before_send_trace()])
        hook: BeforeSend | None = before_send
        if not self._owns_session:
            await before_send()
            hook = None
        guard = _SingleSend()
        try:
            async with self._session.get(
                url,
                params=query,
                headers=self._headers if url.origin() == self._origin else self._anonymous,
                timeout=self._timeout,
                allow_redirects=False,
                middlewares=(guard,),
                trace_request_ctx=hook,
            ) as response:
                body = await response.read()
                location = None
                if response.status in _REDIRECTS and "Location" in response.headers:
                    location = url.join(URL(response.headers["Location"]))
                return Answer(
                    response.status, body, retry_after_seconds(response.headers), location
                )
        except (asyncio.TimeoutError, TimeoutError):
            raise APITimeoutError(f"no complete answer within {self._timeout.total}s") from None
        except _ResendRefused as exc:
            raise self._connection_error(exc.first) from None
        except aiohttp.ClientError as exc:
            raise self._connection_error(exc) from None

    def _connection_error(self, exc: BaseException | None) -> APIConnectionError:
        detail = f"{type(exc).__name__}: {exc}" if exc is not None else "connection lost"
        return APIConnectionError(detail.replace(self._secret, "<redacted>"))

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
