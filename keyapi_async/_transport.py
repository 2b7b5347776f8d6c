"""One HTTP attempt over aiohttp: send, read the whole body, map aiohttp's exceptions to ours.

Each call goes through `SendHooks`, the caller's: `wait_for_slot()` (pacing) runs before
the request starts, outside its timeout; `sent()` (counting) runs once the connection is ready,
new or reused, just before the request is written. A request whose connection could not be made
is therefore not counted: it never reached the server. On a borrowed session, which has no such
hook, `sent()` runs right after the slot.

Exactly one request goes out per call. aiohttp silently resends an idempotent request once when a
kept-alive connection drops (aio-libs/aiohttp#10790, no switch to turn it off); that resend would
slip past the limiter, the credit budget and the request count. The client's own connector
refuses a second connection for the same call (a middleware does it on a borrowed session), so
the drop surfaces here and the SDK's own retry, paced and counted, decides what happens next.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from contextvars import ContextVar
from typing import Any, NamedTuple, Protocol

import aiohttp
from yarl import URL

from ._decode import retry_after_seconds
from ._errors import APIConnectionError, APITimeoutError, KeyAPIError
from ._version import __version__

USER_AGENT = f"keyapi-async/{__version__}"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class SendHooks(Protocol):
    """The caller's hooks around one request."""

    async def wait_for_slot(self) -> None: ...

    def sent(self) -> None: ...


class RawResponse(NamedTuple):
    """An HTTP answer as it came, before decoding."""

    status: int
    body: bytes
    retry_after: float | None  # seconds
    location: URL | None  # where a redirect points, absolute


class _Call:
    """The request in progress in this task, seen by the connector."""

    __slots__ = ("connected", "hooks")

    def __init__(self, hooks: SendHooks) -> None:
        self.hooks = hooks
        self.connected = False


_current_call: ContextVar[_Call | None] = ContextVar("keyapi_async_call", default=None)


class _ResendRefused(Exception):
    """aiohttp tried to send the same request a second time."""


class _Connector(aiohttp.TCPConnector):
    """Marks the moment a request's connection is ready, and refuses a second one for it."""

    async def connect(
        self, req: aiohttp.ClientRequest, traces: list[Any], timeout: aiohttp.ClientTimeout
    ) -> Any:
        call = _current_call.get()
        if call is not None and call.connected:
            raise _ResendRefused
        connection = await super().connect(req, traces, timeout)
        if call is not None:
            call.connected = True
            call.hooks.sent()
        return connection


async def _single_send(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """The middleware equivalent of _Connector's refusal, for a borrowed session."""
    call = _current_call.get()
    if call is not None:
        if call.connected:
            raise _ResendRefused
        call.connected = True
    return await handler(request)


def _location(url: URL, response: aiohttp.ClientResponse) -> URL | None:
    """Where a redirect points, absolute; a Location that is not a URL ends the call."""
    if response.status not in _REDIRECTS or "Location" not in response.headers:
        return None
    try:
        return url.join(URL(response.headers["Location"]))
    except ValueError:
        message = f"HTTP {response.status} to a malformed Location"
        raise APIConnectionError(message, retryable=False) from None


async def _closed_at_loop_end(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Parked at its yield for the session's life. A loop's shutdown (asyncio.run does it)
    closes every async generator it started, so a session its client left open is closed there,
    inside its own loop, instead of warning "Unclosed client session" later."""
    try:
        yield
    finally:
        await session.close()


_OTHER_LOOP = (
    "a KeyAPI client belongs to one event loop, the one it first sent a request in, and this "
    "call runs in another; create the client inside the loop that uses it (for example in the "
    "coroutine given to asyncio.run()), one client per loop"
)
_SESSION_CLOSED = (
    "the aiohttp session given as session= is closed; pass an open one, or none to let the "
    "client make its own"
)


class Transport:
    """Owns (or borrows) the aiohttp session and the Authorization header.

    The key goes only to the base URL's origin: a redirect elsewhere is followed without it.
    """

    __slots__ = (
        "_anonymous",
        "_base_url",
        "_headers",
        "_keeper",
        "_loop",
        "_origin",
        "_owns_session",
        "_secret",
        "_secret_bytes",
        "_session",
        "_urls",
    )

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        session: aiohttp.ClientSession | None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._origin = URL(self._base_url).origin()
        self._secret = api_key
        self._secret_bytes = api_key.encode()
        self._anonymous = {"Accept": "application/json", "User-Agent": USER_AGENT}
        self._headers = {**self._anonymous, "Authorization": f"Bearer {api_key}"}
        self._session = session
        self._owns_session = session is None
        self._urls: dict[str, URL] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # bound on first use
        self._keeper: AsyncGenerator[None, None] | None = None

    def __repr__(self) -> str:
        return f"Transport(base_url={self._base_url!r})"

    def url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(self._base_url + path)
        return url

    async def get(
        self,
        url: URL,
        query: Mapping[str, str] | None,
        hooks: SendHooks,
        timeout: aiohttp.ClientTimeout,
    ) -> RawResponse:
        """Send one GET through `hooks` and read the whole answer within `timeout`."""
        # Checked before anything loop-bound (the limiter's lock, the session) is touched.
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None:
                raise KeyAPIError(_OTHER_LOOP)
            self._loop = loop
        session = self._session
        if session is None:
            # Made on first use, inside the running loop, so KeyAPI() can be built anywhere.
            session = self._session = aiohttp.ClientSession(connector=_Connector())
            self._keeper = _closed_at_loop_end(session)
            await anext(self._keeper)
        elif session.closed:
            raise KeyAPIError(_SESSION_CLOSED)
        await hooks.wait_for_slot()
        call = _Call(hooks)
        if not self._owns_session:
            if session.closed:  # closed by its owner while this call waited for its slot
                raise KeyAPIError(_SESSION_CLOSED)
            hooks.sent()
        token = _current_call.set(call)
        # The error is raised after the `except` block, so that the aiohttp exception (whose
        # request_info holds the Authorization header) is not kept as its __context__.
        error: APIConnectionError
        try:
            async with session.get(
                url,
                params=query,
                headers=self._headers if self.sends_key_to(url) else self._anonymous,
                timeout=timeout,
                allow_redirects=False,
                raise_for_status=False,  # a borrowed session may say otherwise; statuses are ours
                middlewares=None if self._owns_session else (_single_send,),
            ) as response:
                body = await response.read()
                if self._secret_bytes in body:  # a server that echoes the header back
                    body = body.replace(self._secret_bytes, b"<redacted>")
                return RawResponse(
                    response.status,
                    body,
                    retry_after_seconds(response.headers),
                    _location(url, response),
                )
        except (asyncio.TimeoutError, TimeoutError):
            error = APITimeoutError(f"no complete answer within {timeout.total}s")
        except _ResendRefused:
            error = APIConnectionError("the connection closed before the answer came")
        except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a header aiohttp refused
            detail = f"{type(exc).__name__}: {exc}".replace(self._secret, "<redacted>")
            error = APIConnectionError(detail, retryable=isinstance(exc, aiohttp.ClientError))
        finally:
            _current_call.reset(token)
        raise error

    def sends_key_to(self, url: URL) -> bool:
        """The key goes to the base URL's origin only."""
        origin = self._origin
        return url.host == origin.host and url.port == origin.port and url.scheme == origin.scheme

    async def aclose(self) -> None:
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            await keeper.aclose()  # closes the session the client made
