"""keyapi_async.otel: spans and counters, checked with the OpenTelemetry SDK's in-memory readers."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from keyapi_async import AuthenticationError, MemoryCache, ServerError
from keyapi_async.otel import tracing
from keyapi_async.testing import FakeKeyAPI, Fault

from .conftest import MakeClient


@pytest.fixture
def exported() -> tuple[TracerProvider, InMemorySpanExporter, MeterProvider, InMemoryMetricReader]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    return tracer_provider, spans, MeterProvider(metric_readers=[reader]), reader


def totals(reader: InMemoryMetricReader) -> dict[str, int]:
    data = reader.get_metrics_data()
    found: dict[str, int] = {}
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = sum(p.value for p in metric.data.data_points)  # type: ignore[union-attr]
    return found


async def test_each_attempt_is_a_span_under_the_callers_span(
    fake: FakeKeyAPI, make_client: MakeClient, exported: tuple[object, ...]
) -> None:
    tracer_provider, spans, meter_provider, reader = exported
    hook = tracing(tracer_provider=tracer_provider, meter_provider=meter_provider)  # type: ignore[arg-type]
    client = make_client(event_hooks=[hook], max_retries=2, cache=MemoryCache())
    fake.script(Fault.SERVER_ERROR, Fault.RATE_LIMIT)
    tracer = tracer_provider.get_tracer("the app")  # type: ignore[attr-defined]
    with tracer.start_as_current_span("GET /creators") as parent:
        page = await client.influencers.list(region="US", start_page=3)
        await client.influencers.list(region="US", start_page=3)  # a cache hit
    finished = [s for s in spans.get_finished_spans() if s.name.startswith("keyapi ")]  # type: ignore[attr-defined]
    assert [s.name for s in finished] == ["keyapi list"] * 4
    assert {s.parent.span_id for s in finished} == {parent.get_span_context().span_id}
    attrs = [dict(s.attributes) for s in finished]
    assert [a.get("http.response.status_code") for a in attrs] == [500, 429, 200, None]
    assert [a["keyapi.attempt"] for a in attrs] == [1, 2, 3, 0]
    assert [a["keyapi.cache_hit"] for a in attrs] == [False, False, False, True]
    assert all(a["keyapi.page_num"] == 3 for a in attrs)
    assert attrs[2]["keyapi.request_id"] == page.request_id
    assert finished[0].status.status_code is StatusCode.ERROR
    assert finished[0].events[0].name == "exception"
    assert finished[2].status.status_code is StatusCode.UNSET
    assert all(s.end_time >= s.start_time for s in finished)
    assert totals(reader) == {  # type: ignore[arg-type]
        "keyapi.requests": 3,
        "keyapi.credits": 3,
        "keyapi.retries": 2,
        "keyapi.rate_limited": 1,
        "keyapi.cache_hits": 1,
    }
    assert client.usage.requests == 3


async def test_no_span_holds_the_key(
    fake: FakeKeyAPI, make_client: MakeClient, exported: tuple[object, ...]
) -> None:
    tracer_provider, spans, meter_provider, _ = exported
    hook = tracing(tracer_provider=tracer_provider, meter_provider=meter_provider)  # type: ignore[arg-type]
    client = make_client(event_hooks=[hook], max_retries=1)
    fake.script(Fault.UNAUTHORIZED, Fault.SERVER_ERROR, Fault.SERVER_ERROR)
    with pytest.raises(AuthenticationError):
        await client.influencers.list(region="US")
    with pytest.raises(ServerError):
        await client.influencers.list(region="US")
    text = "".join(s.to_json() for s in spans.get_finished_spans())  # type: ignore[attr-defined]
    assert "keyapi list" in text
    assert fake.api_key not in text


def test_without_an_sdk_it_is_a_no_op() -> None:
    code = """
import asyncio
from keyapi_async import KeyAPI
from keyapi_async.otel import tracing
from keyapi_async.testing import FakeKeyAPI

async def main():
    async with FakeKeyAPI() as fake, KeyAPI(fake.api_key, base_url=fake.url, qps=None,
                                           event_hooks=[tracing()]) as client:
        page = await client.influencers.list(region="US")
        print(len(page.items))

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "10"


def test_import_keyapi_async_does_not_import_opentelemetry() -> None:
    code = "import sys, keyapi_async; print('opentelemetry' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_without_the_extra_the_import_names_it() -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "try:\n    import keyapi_async.otel\nexcept ImportError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert 'pip install "keyapi-async[otel]"' in done.stdout, done.stderr
