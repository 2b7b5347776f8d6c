"""Every exception keyapi_async raises. No aiohttp or msgspec exception reaches the caller.

KeyAPIError
├── APIStatusError            the API answered with an error (HTTP status or the body's `code`);
│   │                         an undocumented code is this class itself, never retried
│   ├── BadRequestError           400  never retried
│   ├── AuthenticationError       401  never retried
│   ├── InsufficientCreditsError  402  never retried
│   ├── PermissionDeniedError     403  never retried
│   ├── RateLimitError            429  retried, honouring Retry-After
│   └── ServerError               5xx  retried
├── APIConnectionError        no complete answer (refused, reset, dropped, truncated); retried
│   ├── APITimeoutError           no answer within `timeout`; retried
│   └── TooManyRedirects          a redirect loop; never retried
├── ResponseDecodeError       the body is not the JSON envelope, or a record does not fit its model
├── InvalidParameterError     (also a ValueError) bad input, raised before any request is sent
├── CreditBudgetExceeded      the next request would go over `max_credits`; nothing was sent
└── FanOutError               some influencers of a *_many pull failed; the others were delivered

Other KeyAPIErrors, raised before anything is sent: the client is closed, it is used from an
event loop other than its own, or the session it was given is closed.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "KeyAPIError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "InsufficientCreditsError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "APIConnectionError",
    "APITimeoutError",
    "TooManyRedirects",
    "ResponseDecodeError",
    "InvalidParameterError",
    "CreditBudgetExceeded",
    "FanOutError",
]


class KeyAPIError(Exception):
    """Base of every error raised by keyapi_async.

    Errors pickle whole (message, status, code, request_id, ...), so they cross process
    boundaries intact: arq, multiprocessing and concurrent.futures results.
    """

    retryable: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        # The default, cls(*args), cannot call constructors with keyword-only or other arguments.
        return (_rebuilt, (type(self), self.args, self.__dict__.copy()))


def _rebuilt(cls: type[KeyAPIError], args: tuple[Any, ...], state: dict[str, Any]) -> KeyAPIError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class APIStatusError(KeyAPIError):
    """The API answered with an error.

    `code` is the body's code, None when the body had none. `status_code` is the HTTP status,
    except when an HTTP 200 carries a documented error code (400, 401, 402, 403, 429, 500..599):
    then it is that code, the status the API meant (so a 429 inside a 200 reads as 429). An
    undocumented code inside a 200 (say 10001) keeps `status_code` 200 and `code` 10001.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        detail = f"HTTP {status_code}"
        if code is not None and code != status_code:
            detail += f", code {code}"
        if request_id:
            detail += f", request_id {request_id}"
        super().__init__(f"{self._described(message)} ({detail})")

    def _described(self, message: str) -> str:
        return message


class BadRequestError(APIStatusError):
    """400: a parameter the API refused."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked.

    `message` is the server's own; str() says whether the server rejected the key or the key was
    never sent (a redirect left the base URL's origin, and the key stays with its origin).
    """

    def __init__(self, message: str, *, key_sent: bool = True, **details: Any) -> None:
        self.key_sent = key_sent
        super().__init__(message, **details)

    def _described(self, message: str) -> str:
        if self.key_sent:
            return f"the server rejected the API key: {message}"
        return f"a redirect left the base URL's origin, so this went without the API key: {message}"

    def without_key(self) -> AuthenticationError:
        """The same answer, to a request that went without the key."""
        return AuthenticationError(
            self.message,
            key_sent=False,
            status_code=self.status_code,
            code=self.code,
            request_id=self.request_id,
            retry_after=self.retry_after,
        )


class InsufficientCreditsError(APIStatusError):
    """402: the account has no credits left."""


class PermissionDeniedError(APIStatusError):
    """403: the key has no access to this endpoint (plan or feature restricted). Never retried."""


class RateLimitError(APIStatusError):
    """429: over the plan's QPS. Retried; `retry_after` holds the server's hint in seconds."""

    retryable = True


class ServerError(APIStatusError):
    """5xx: the API failed. Retried."""

    retryable = True


class APIConnectionError(KeyAPIError):
    """No complete answer arrived: refused, reset, dropped or truncated. Retried, unless made
    with `retryable=False` (a malformed redirect, a header aiohttp refused: asking again would
    meet the same)."""

    retryable = True

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        self.retryable = retryable
        super().__init__(message)


class TooManyRedirects(APIConnectionError):
    """The API redirected more times than the client follows. Never retried: a loop would only
    buy the same hops again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class APITimeoutError(APIConnectionError):
    """No complete answer within `timeout` seconds. Retried."""


class ResponseDecodeError(KeyAPIError):
    """The body was not the JSON envelope, or a record did not fit its model.

    `retryable` is true when the body was not JSON at all (cut short, or a gateway's HTML page):
    another attempt may get a whole answer. A well-formed answer that does not fit is not retried,
    since asking again would buy the same answer.
    """

    def __init__(self, message: str, *, request_id: str | None = None, retryable: bool) -> None:
        self.request_id = request_id
        self.retryable = retryable
        suffix = f" (request_id {request_id})" if request_id else ""
        super().__init__(message + suffix)


class InvalidParameterError(KeyAPIError, ValueError):
    """Bad input, found before any request was sent. `parameter` names the culprit."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        self.reason = message  # what is wrong and what is allowed, without the name
        super().__init__(f"{parameter}: {message}")


class CreditBudgetExceeded(KeyAPIError):
    """The next request would exceed the credit budget (`max_credits` or `budget=`). Nothing was
    sent for it.

    `undelivered_pages`: in concurrent paging, the page numbers the server answered (and billed)
    that could not be delivered because they lay behind the page refused here; empty otherwise.
    """

    undelivered_pages: list[int]

    def __init__(self, max_credits: int) -> None:
        self.max_credits = max_credits
        self.undelivered_pages = []
        super().__init__(
            f"max_credits={max_credits} reached: the next request would exceed the budget"
        )


class FanOutError(KeyAPIError):
    """Raised at the end of a `*_many` stream when some influencers failed.

    `failures` maps each failed user ID to its error. Every other influencer's items were
    delivered before this was raised.
    """

    def __init__(self, failures: dict[str, KeyAPIError]) -> None:
        self.failures = failures
        shown = ", ".join(f"{uid}: {type(exc).__name__}" for uid, exc in list(failures.items())[:5])
        more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
        super().__init__(f"{len(failures)} influencer(s) failed ({shown}{more})")


# The codes the docs name (docs README: envelope); 500..599 are ServerError.
_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    429: RateLimitError,
}


def is_documented(code: int) -> bool:
    """A code with its own class: 400, 401, 402, 403, 429 or 500..599."""
    return code in _STATUS_ERRORS or 500 <= code <= 599


def status_error_class(status: int) -> type[APIStatusError]:
    """The exception class for a status or body code; APIStatusError (not retried) for others."""
    if 500 <= status <= 599:
        return ServerError
    return _STATUS_ERRORS.get(status, APIStatusError)
