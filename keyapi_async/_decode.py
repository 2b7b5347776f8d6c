"""From response bytes to records or a typed error.

The fast path decodes the bytes straight into `list[Model]` with one prebuilt decoder. Only when a
page does not fit does the slow path run: it reads the envelope loosely, repairs each record
(keyapi_async._repair: nulls, fractions in counts, IDs sent as numbers) and converts again. A
record that still does not fit raises ResponseDecodeError naming the field; no record is ever
dropped.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import msgspec

from ._errors import APIStatusError, ResponseDecodeError, is_documented, status_error_class
from ._repair import Repairer, Unfit

T = TypeVar("T")


class _Envelope(msgspec.Struct, Generic[T]):
    code: int
    message: Any = ""  # text, but a page whose message is a number is still a page
    data: T | None = None
    requestId: Any = None

    @property
    def request_id(self) -> str | None:
        rid = self.requestId
        return rid if rid is None or isinstance(rid, str) else str(rid)


_LooseEnvelope = _Envelope[Any]
_loose_decoder = msgspec.json.Decoder(_LooseEnvelope, strict=False)


class ResponseDecoder(Generic[T]):
    """Decodes one endpoint's answers into `(records, request_id)` or raises the typed error."""

    __slots__ = ("_model", "_repairer", "_typed")

    def __init__(self, model: type[T]) -> None:
        self._model = model
        self._typed = msgspec.json.Decoder(_Envelope[list[model]], strict=False)  # type: ignore[valid-type]  # model is a runtime type
        self._repairer = Repairer(model)

    def decode(
        self, status: int, body: bytes, *, retry_after: float | None = None
    ) -> tuple[list[T], str | None]:
        if status == 200:
            try:
                envelope = self._typed.decode(body)
            except msgspec.ValidationError:
                return self._slow_path(body, retry_after)
            except (msgspec.DecodeError, UnicodeDecodeError) as exc:
                raise _not_json(body, exc) from None
            except RecursionError:
                raise _too_deep() from None
            if envelope.code != 0:
                raise _status_error(status, envelope, retry_after)
            return envelope.data or [], envelope.request_id
        loose = _loose_or_none(body)
        if loose is None:
            raise status_error_class(status)(
                f"HTTP {status} with a body that is not the API's envelope",
                status_code=status,
                retry_after=retry_after,
            )
        raise _status_error(status, loose, retry_after)

    def _slow_path(self, body: bytes, retry_after: float | None) -> tuple[list[T], str | None]:
        try:
            envelope = _loose_decoder.decode(body)
        except msgspec.ValidationError as exc:  # a number no float holds (1e400), a bad `code`
            raise ResponseDecodeError(
                f"the answer does not fit the API's envelope: {_out_of_range(body) or exc}",
                retryable=False,
            ) from None
        except RecursionError:
            raise _too_deep() from None
        if envelope.code != 0:
            raise _status_error(200, envelope, retry_after)
        data = envelope.data
        if data is None:
            return [], envelope.request_id
        if not isinstance(data, list):
            raise ResponseDecodeError(
                f"`data` is {type(data).__name__}, expected a list of records",
                request_id=envelope.request_id,
                retryable=False,
            )
        try:
            for record in data:
                if isinstance(record, dict):
                    self._repairer.repair(record)
        except Unfit as exc:
            raise ResponseDecodeError(
                f"a record does not fit {self._model.__name__}: {exc}",
                request_id=envelope.request_id,
                retryable=False,
            ) from None
        try:
            records = msgspec.convert(data, list[self._model], strict=False)  # type: ignore[name-defined]  # model is a runtime type
        except RecursionError:
            raise _too_deep() from None
        except msgspec.ValidationError as exc:
            raise ResponseDecodeError(
                f"a record does not fit {self._model.__name__}: {exc}",
                request_id=envelope.request_id,
                retryable=False,
            ) from None
        return records, envelope.request_id


def _loose_or_none(body: bytes) -> _LooseEnvelope | None:
    try:
        return _loose_decoder.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


def _out_of_range(body: bytes) -> str | None:
    """Which field holds a number no float can (msgspec's message only says where in the list):
    the standard library reads such a number as infinity, which names it. Slow, and rare."""
    try:
        data = json.loads(body).get("data")
    except (ValueError, AttributeError, RecursionError):
        return None
    for n, record in enumerate(data if isinstance(data, list) else []):
        for name, value in record.items() if isinstance(record, dict) else ():
            if isinstance(value, float) and not math.isfinite(value):
                return f"`{name}` of record {n} is a number no float holds"
    return None


def _too_deep() -> ResponseDecodeError:
    # No record nests this deep; the same answer would come again, so it is not retried.
    return ResponseDecodeError("the answer nests JSON too deeply to read", retryable=False)


def _not_json(body: bytes, exc: Exception) -> ResponseDecodeError:
    """Retry a body cut short or not JSON at all (a gateway's page): another try may get a whole
    answer. A whole JSON text with a flaw inside (bad UTF-8, a lone surrogate) would come again."""
    cut_short = "truncated" in str(exc)
    not_json_at_all = not body.lstrip().startswith((b"{", b"["))
    return ResponseDecodeError(
        f"the answer is not valid JSON ({exc})", retryable=cut_short or not_json_at_all
    )


def _status_error(
    status: int, envelope: _LooseEnvelope | _Envelope[Any], retry_after: float | None
) -> APIStatusError:
    # An HTTP 200 whose body carries a documented code is that error (docs README: envelope).
    # An undocumented code keeps the 200: nothing says it is a server fault worth paying again.
    code = envelope.code
    effective = code if status == 200 and is_documented(code) else status
    message = str(envelope.message or "") or f"HTTP {status}"
    return status_error_class(effective)(
        message,
        status_code=effective,
        code=code,
        request_id=envelope.request_id,
        retry_after=retry_after,
    )


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date relative to now."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):  # not a date, or a date no clock can hold
        return None
