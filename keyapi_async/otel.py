"""OpenTelemetry for keyapi_async: `pip install "keyapi-async[otel]"`.

    from keyapi_async import KeyAPI
    from keyapi_async.otel import tracing

    client = KeyAPI(event_hooks=[tracing()])

Each attempt becomes a span `keyapi <endpoint>` under the caller's current span, with the
endpoint, page_num, HTTP status, attempt number and request_id as attributes and a failed
attempt's error recorded; a cache hit is a span too, marked `keyapi.cache_hit`. Counters:
keyapi.requests, keyapi.credits, keyapi.retries, keyapi.rate_limited (429s), keyapi.cache_hits.
Without an OpenTelemetry SDK configured, the API's no-op providers make all of it free.
Spans are made from the hook's details after each attempt, with its real start and end times.
"""

from __future__ import annotations

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without the extra
    raise ImportError(
        'keyapi_async.otel needs opentelemetry-api: pip install "keyapi-async[otel]"'
    ) from exc

from collections.abc import Callable

from . import AttemptDetails, __version__

__all__ = ["tracing"]

_SCOPE = "keyapi_async"


def tracing(
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> Callable[[AttemptDetails], None]:
    """An event hook that reports every attempt to OpenTelemetry (the global providers unless
    others are given)."""
    tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider=tracer_provider)
    meter = metrics.get_meter(_SCOPE, __version__, meter_provider=meter_provider)
    requests = meter.create_counter("keyapi.requests", unit="{request}", description="sent")
    credits = meter.create_counter("keyapi.credits", unit="{credit}", description="billable")
    retries = meter.create_counter("keyapi.retries", unit="{retry}", description="decided")
    limited = meter.create_counter("keyapi.rate_limited", unit="{answer}", description="429s")
    hits = meter.create_counter("keyapi.cache_hits", unit="{call}", description="from cache")

    def report(details: AttemptDetails) -> None:
        labels = {"keyapi.endpoint": details.endpoint}
        start = int(details.started * 1e9)
        span = tracer.start_span(
            f"keyapi {details.endpoint}", kind=SpanKind.CLIENT, start_time=start
        )
        span.set_attribute("keyapi.endpoint", details.endpoint)
        span.set_attribute("keyapi.attempt", details.attempt)
        span.set_attribute("keyapi.cache_hit", details.cache_hit)
        if details.page_num is not None:
            span.set_attribute("keyapi.page_num", details.page_num)
        if details.status is not None:
            span.set_attribute("http.response.status_code", details.status)
        if details.request_id is not None:
            span.set_attribute("keyapi.request_id", details.request_id)
        if details.wait is not None:
            span.set_attribute("keyapi.retry_wait", details.wait)
        if details.error is not None:
            span.record_exception(details.error)
            span.set_status(Status(StatusCode.ERROR, type(details.error).__name__))
        span.end(end_time=start + int(details.elapsed * 1e9))
        if details.requests:
            requests.add(details.requests, labels)
            credits.add(details.requests, labels)
        if details.wait is not None:
            retries.add(1, labels)
        if details.status == 429:
            limited.add(1, labels)
        if details.cache_hit:
            hits.add(1, labels)

    return report
