"""Tests of the fake KeyAPI server: faults, QPS limit, credits, log, run modes."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from keyapi_async.testing import FakeKeyAPI, Fault, RequestRecord

from . import endpoints
from .fake_http import call

LIST, DETAIL, LIVES = endpoints.LIST.path, endpoints.DETAIL.path, endpoints.LIVESTREAMS.path
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture
async def api() -> AsyncIterator[FakeKeyAPI]:
    async with FakeKeyAPI() as server:
        yield server


# --- faults -------------------------------------------------------------------------------


async def _raw_get(api: FakeKeyAPI, path: str) -> bytes:
    """Send one request over a bare socket; return everything received until EOF."""
    reader, writer = await asyncio.open_connection(api.host, api.port)
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api.api_key}\r\n\r\n"
    writer.write(request.encode())
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    return data


LIVES_Q = f"{LIVES}?user_id=1&page_num=1&page_size=10"


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        (Fault.RATE_LIMIT, 429, 429),
        (Fault.BODY_ERROR, 200, 500),
        (Fault.BODY_RATE_LIMIT, 200, 429),
        (Fault.BAD_REQUEST, 400, 400),
        (Fault.UNAUTHORIZED, 401, 401),
        (Fault.NO_CREDITS, 402, 402),
    ],
)
async def test_envelope_faults(
    api: FakeKeyAPI, session: aiohttp.ClientSession, fault: Fault, status: int, code: int
) -> None:
    api.script(fault)
    got_status, body = await call(session, api, LIVES, user_id="1", page_num=1, page_size=10)
    assert (got_status, body["code"], body["data"]) == (status, code, None)
    assert body["message"]
    assert (api.requests[-1].fault, api.requests[-1].status) == (fault, status)
    assert (await call(session, api, LIVES, user_id="1", page_num=1, page_size=10))[0] == 200


async def test_server_error_cycles_statuses_and_retry_after(session: aiohttp.ClientSession) -> None:
    async with FakeKeyAPI(retry_after=0.5) as api:
        api.script(Fault.SERVER_ERROR, Fault.SERVER_ERROR, Fault.SERVER_ERROR, Fault.RATE_LIMIT)
        seen = []
        for _ in range(4):
            async with session.get(api.url + LIVES_Q, headers=_auth(api)) as resp:
                seen.append(
                    (resp.status, (await resp.json())["code"], resp.headers.get("Retry-After"))
                )
        assert seen == [(500, 500, None), (502, 502, None), (503, 503, None), (429, 429, "0.5")]


def _auth(api: FakeKeyAPI) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.api_key}"}


async def test_garbage_is_html(api: FakeKeyAPI, session: aiohttp.ClientSession) -> None:
    api.script(Fault.GARBAGE)
    async with session.get(api.url + LIVES_Q, headers=_auth(api)) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        assert await resp.text() == "<html>502 Bad Gateway</html>"


async def test_drop_closes_without_answer(api: FakeKeyAPI) -> None:
    api.script(Fault.DROP)
    assert await _raw_get(api, LIVES_Q) == b""
    assert (api.requests[-1].status, api.requests[-1].fault) == (0, Fault.DROP)
    # aiohttp's client silently resends once after a disconnect, so drop twice.
    api.script(Fault.DROP, Fault.DROP)
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as s:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await call(s, api, LIVES, user_id="1", page_num=1, page_size=10)
    assert [r.fault for r in api.requests[1:]] in ([Fault.DROP], [Fault.DROP, Fault.DROP])


async def test_truncate_sends_half_with_full_length(api: FakeKeyAPI) -> None:
    api.script(Fault.TRUNCATE)
    raw = await _raw_get(api, f"{LIST}?region=US&page_num=1&page_size=10")
    head, _, body = raw.partition(b"\r\n\r\n")
    match = re.search(rb"Content-Length: (\d+)", head)
    assert match is not None
    length = int(match.group(1))
    assert head.startswith(b"HTTP/1.1 200")
    assert length > 1000
    assert len(body) == length // 2
    api.script(Fault.TRUNCATE)
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientPayloadError):
            await call(s, api, LIST, region="US", page_num=1, page_size=10)


async def test_stall_outlasts_client_timeout_and_closes_fast() -> None:
    api = FakeKeyAPI(stall=30)
    await api.start()
    api.script(Fault.STALL)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.3)) as s:
        with pytest.raises(asyncio.TimeoutError):
            await call(s, api, LIST, region="US", page_num=1, page_size=10)
        api.script(Fault.STALL)
        task = asyncio.ensure_future(call(s, api, LIST, region="US", page_num=1, page_size=10))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await api.close()  # must not wait out the stall
        assert time.monotonic() - started < 1.5
        with pytest.raises((aiohttp.ClientError, asyncio.TimeoutError)):
            await task
    assert [r.fault for r in api.requests] == [Fault.STALL, Fault.STALL]


async def test_random_faults_follow_fault_seed(session: aiohttp.ClientSession) -> None:
    rates = {Fault.BODY_ERROR: 0.3, Fault.RATE_LIMIT: 0.2}
    runs = []
    for _ in range(2):
        async with FakeKeyAPI(fault_rates=rates, fault_seed=3) as api:
            api.script(None, Fault.GARBAGE)  # scripted outcomes come first
            for _ in range(40):
                async with session.get(api.url + LIVES_Q, headers=_auth(api)) as resp:
                    await resp.read()
            runs.append([r.fault for r in api.requests])
    assert runs[0] == runs[1]
    assert runs[0][:2] == [None, Fault.GARBAGE]
    counts = {f: runs[0][2:].count(f) for f in (None, Fault.BODY_ERROR, Fault.RATE_LIMIT)}
    assert all(n >= 3 for n in counts.values()), counts


async def test_qps_limit_rejects_and_max_in_window_counts(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeKeyAPI(qps_limit=5) as api:
        burst = [call(session, api, LIVES, user_id="1", page_num=1, page_size=1) for _ in range(9)]
        results = await asyncio.gather(*burst)
        assert sorted(s for s, _ in results) == [200] * 5 + [429] * 4
        assert all(
            b["code"] == 429 and b["message"] == "qps limit exceeded"
            for s, b in results
            if s == 429
        )
        assert api.max_in_window(1.0) == 9
        assert sum(r.status == 429 and r.fault is None for r in api.requests) == 4
        assert api.max_in_window(1.0, path=LIST) == 0
        api.qps_limit = None
        assert (await call(session, api, LIVES, user_id="1", page_num=1, page_size=1))[0] == 200
    async with FakeKeyAPI(qps_limit=2) as api:
        async with session.get(api.url + LIVES_Q, headers=_auth(api)) as resp:
            assert resp.status == 200
        for _ in range(2):
            async with session.get(api.url + LIVES_Q, headers=_auth(api)) as resp:
                last = resp
        assert last.status == 429
        assert last.headers["Retry-After"] == "1"


def _rec(t: float, path: str = LIST) -> RequestRecord:
    return RequestRecord(path, {}, t, True, 200, 0, None, {})


def test_max_in_window_is_half_open() -> None:
    api = FakeKeyAPI(influencers=1)
    api.requests = [_rec(10.0), _rec(10.5), _rec(11.0), _rec(11.2, DETAIL), _rec(11.9)]
    assert api.max_in_window(1.0) == 3  # [11.0, 12.0) holds 11.0, 11.2, 11.9
    assert api.max_in_window(1.0, path=LIST) == 2
    assert api.max_in_window(0.5) == 2
    api.reset_log()
    assert api.max_in_window() == 0


async def test_credits_are_spent_by_successes_only(session: aiohttp.ClientSession) -> None:
    async with FakeKeyAPI(credits=2) as api:
        statuses = []
        api.script(None, Fault.BODY_ERROR)
        for _ in range(4):
            statuses.append(
                (await call(session, api, LIVES, user_id="1", page_num=1, page_size=1))[0]
            )
        assert statuses == [200, 200, 200, 402]
        assert api.credits == 0


async def test_latency_delays_answers(session: aiohttp.ClientSession) -> None:
    async with FakeKeyAPI(latency=0.2) as api:
        started = time.monotonic()
        await call(session, api, LIVES, user_id="1", page_num=1, page_size=1)
        assert time.monotonic() - started >= 0.2
        api.latency = 0.0
        started = time.monotonic()
        await call(session, api, LIVES, user_id="1", page_num=1, page_size=1)
        assert time.monotonic() - started < 0.15


async def test_log_and_reprs_never_show_the_key(session: aiohttp.ClientSession) -> None:
    secret = "sk_live_SECRET_123"
    async with FakeKeyAPI(api_key=secret) as api:
        await call(session, api, LIVES, user_id="1", page_num=1, page_size=1)
        await call(session, api, LIVES, key="sk_other", user_id="1", page_num=1, page_size=1)
        assert api.requests[0].authorized
        assert not api.requests[1].authorized
        assert api.requests[0].headers["Authorization"] == "<redacted>"
        assert "sk_" not in repr(api.requests)
        assert secret not in repr(api)
        assert api.url in repr(api)
        assert "300" in repr(api)


async def test_admin_endpoints_read_and_reset_the_log(
    api: FakeKeyAPI, session: aiohttp.ClientSession
) -> None:
    api.script(None, Fault.RATE_LIMIT)
    for _ in range(2):
        await call(session, api, LIVES, user_id="1", page_num=1, page_size=1)
    await call(session, api, LIVES, key="sk_wrong", user_id="1", page_num=1, page_size=1)
    # No key needed, and reading the log is not itself logged.
    for _ in range(2):
        async with session.get(api.url + "/__fake__/log") as resp:
            assert (resp.status, resp.content_type) == (200, "application/json")
            log = await resp.json()
    assert [(e["path"], e["status"], e["code"]) for e in log] == [
        (LIVES, 200, 0),
        (LIVES, 429, 429),
        (LIVES, 401, 401),
    ]
    assert [e["arrived"] for e in log] == [r.arrived for r in api.requests]
    assert log == api.log_entries()
    assert all(set(e) == {"path", "arrived", "status", "code"} for e in log)
    async with session.post(api.url + "/__fake__/reset") as resp:
        assert resp.status == 204
    assert api.requests == []
    async with session.get(api.url + "/__fake__/log") as resp:
        assert await resp.json() == []
    async with session.get(api.url + "/__fake__/reset") as resp:
        assert resp.status == 405  # reset only by POST, so a stray GET cannot clear the log
    assert api.requests == []


async def test_request_ids_are_deterministic(session: aiohttp.ClientSession) -> None:
    ids = []
    for _ in range(2):
        async with FakeKeyAPI() as api:
            bodies = [
                await call(session, api, LIVES, user_id="1", page_num=1, page_size=1)
                for _ in range(3)
            ]
            ids.append([b["requestId"] for _, b in bodies])
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 3
    assert all(UUID.fullmatch(i) for i in ids[0])


# --- threaded mode, plugin, CLI -------------------------------------------------------------


def test_threaded_mode_serves_and_stops() -> None:
    with FakeKeyAPI(influencers=50) as api:
        url = api.url

        async def fetch() -> int:
            async with aiohttp.ClientSession() as s:
                return (await call(s, api, LIST, region="US", page_num=1, page_size=3))[0]

        assert asyncio.run(fetch()) == 200
        api.script(Fault.BODY_ERROR)
        assert asyncio.run(fetch()) == 200
        assert api.requests[-1].code == 500

    async def refused() -> None:
        async with aiohttp.ClientSession() as s, s.get(url + LIST):
            pass

    with pytest.raises(aiohttp.ClientConnectionError):
        asyncio.run(refused())


def test_plugin_fixtures(
    keyapi_fake: FakeKeyAPI, keyapi_fake_factory: Callable[..., FakeKeyAPI]
) -> None:
    other = keyapi_fake_factory(influencers=20, api_key="sk_two")
    assert keyapi_fake.url.startswith("http://127.0.0.1:")
    assert other.url != keyapi_fake.url
    assert other.dataset.generated == 20
    assert len(other.dataset.influencers) == 20 + len(other.dataset.documented_user_ids)
    assert other.api_key == "sk_two"

    async def fetch() -> tuple[int, int]:
        async with aiohttp.ClientSession() as s:
            a = (await call(s, keyapi_fake, DETAIL, user_ids="1"))[0]
            b = (await call(s, other, DETAIL, user_ids="1"))[0]
            return a, b

    assert asyncio.run(fetch()) == (200, 200)


def test_cli_prints_ready_and_stops_on_sigterm() -> None:
    cmd = [sys.executable, "-m", "keyapi_async.testing", "--port", "0", "--influencers", "30"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert re.fullmatch(r"READY http://127\.0\.0\.1:\d+\n", line), line
        # The log is readable from this process too: the benchmarks' way in.
        with urllib.request.urlopen(line.split()[1] + "/__fake__/log", timeout=5) as resp:
            assert json.loads(resp.read()) == []
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
