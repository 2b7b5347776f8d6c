"""Fault kinds, the request log record, and the wire forms of answers."""

from __future__ import annotations

import asyncio
import contextlib
import enum
from dataclasses import dataclass

import msgspec
from aiohttp import web

__all__ = ["Fault", "RequestRecord", "envelope", "error_envelope", "success_envelope"]

MESSAGES = {
    400: "Invalid parameter",
    401: "apiKey is null",
    402: "apiKey quota is not enough",
    429: "qps limit exceeded",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
}
JSON = "application/json"
GARBAGE_BODY = b"<html>502 Bad Gateway</html>"


class Fault(enum.Enum):
    """An injected misbehaviour; each member notes its wire form."""

    SERVER_ERROR = "server_error"  # HTTP 500, then 502, 503, 500, ... (JSON envelope)
    RATE_LIMIT = "rate_limit"  # HTTP 429 + Retry-After
    BODY_ERROR = "body_error"  # HTTP 200, envelope code 500
    BODY_RATE_LIMIT = "body_rate_limit"  # HTTP 200, envelope code 429
    BAD_REQUEST = "bad_request"  # HTTP 400
    UNAUTHORIZED = "unauthorized"  # HTTP 401
    NO_CREDITS = "no_credits"  # HTTP 402
    DROP = "drop"  # connection closed, no answer
    TRUNCATE = "truncate"  # full Content-Length, half the body, then close
    GARBAGE = "garbage"  # HTTP 200 text/html
    STALL = "stall"  # headers + half the body, then a long pause


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request that reached a handler.

    status 0 means no HTTP answer (DROP, or still in flight); code is the envelope code
    the client could read, None when there is none (DROP, TRUNCATE, GARBAGE, STALL).
    `records` counts the records a successful answer carried.
    `headers` holds the request headers with Authorization replaced by `"<redacted>"`.
    """

    path: str
    params: dict[str, str]
    arrived: float
    authorized: bool
    status: int
    code: int | None
    fault: Fault | None
    headers: dict[str, str]
    records: int = 0


def envelope(code: int, message: str, data: object, request_id: str) -> bytes:
    return msgspec.json.encode(
        {"code": code, "message": message, "data": data, "requestId": request_id}
    )


def error_envelope(code: int, request_id: str, message: str | None = None) -> bytes:
    return envelope(code, message or MESSAGES.get(code, "error"), None, request_id)


def success_envelope(items: list[bytes], request_id: str) -> bytes:
    # Records are pre-rendered, so the envelope is assembled by concatenation.
    return b"".join(
        (
            b'{"code":0,"message":"success","data":[',
            b",".join(items),
            b'],"requestId":"',
            request_id.encode(),
            b'"}',
        )
    )


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    all_headers = {"Content-Type": JSON}
    if headers:
        all_headers.update(headers)
    return web.Response(status=status, body=body, headers=all_headers)


def drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering; aiohttp then skips the response."""
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=200)


async def partial(
    request: web.Request, body: bytes, pause: float | None, closing: asyncio.Event
) -> web.StreamResponse:
    """Send headers with the full Content-Length and half the body.

    pause None: close the connection at once (TRUNCATE). Otherwise wait `pause`
    seconds (or until the server closes) and send the rest if the client is still
    there (STALL).
    """
    resp = web.StreamResponse(status=200, headers={"Content-Type": JSON})
    resp.content_length = len(body)
    half = len(body) // 2
    await resp.prepare(request)
    await resp.write(body[:half])
    if pause is not None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(closing.wait(), pause)
    transport = request.transport
    if pause is None or closing.is_set() or transport is None or transport.is_closing():
        if transport is not None:
            transport.close()
        return resp
    await resp.write(body[half:])
    await resp.write_eof()
    return resp
