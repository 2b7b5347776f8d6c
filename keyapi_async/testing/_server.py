"""FakeKeyAPI: an aiohttp server speaking the KeyAPI wire protocol, with faults.

Order of decisions for each request (all taken at arrival, then `latency` is slept
before answering):
1. a scripted outcome, if any is queued: a Fault is served as is; None continues
   below but skips the random fault draw;
2. wrong or missing key -> 401;
3. QPS limit: more than `qps_limit` arrivals in the last second (counting every
   arrival, rejected ones included; a limit below 1/s counts its one arrival over 1/limit
   seconds) -> 429 with Retry-After: that window, in seconds;
4. a random fault from `fault_rates` (one draw per unscripted request, made even when
   2. or 3. wins, so the sequence follows arrival order);
5. no credits left -> 402;
6. bad parameters -> 400, else code 0 (which costs one credit).

Admin endpoints, for a test or benchmark in another process (not logged, no key needed):
`GET /__fake__/log` returns `log_entries()` as JSON; `POST /__fake__/reset` clears the log;
`POST /__fake__/qps-limit` with `{"qps_limit": 10}` (or null) changes the limit while running.
`arrived` is `time.monotonic()`, which on Linux and macOS is one clock for every process.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import random
import threading
import time
import uuid
from collections.abc import Iterable
from types import TracebackType

import msgspec
from aiohttp import web

from . import _faults as f
from ._dataset import Dataset
from ._endpoints import ENDPOINTS
from ._faults import Fault, RequestRecord
from ._params import ParamError

__all__ = ["FakeKeyAPI"]

_SERVER_ERROR_STATUSES = (500, 502, 503)
ADMIN_LOG = "/__fake__/log"
ADMIN_RESET = "/__fake__/reset"
ADMIN_QPS = "/__fake__/qps-limit"


class _QpsLimit(msgspec.Struct):
    qps_limit: float | None


def _retry_after(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def most_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """Most of `times` in any half-open window [t, t + window): how a server counts a QPS."""
    ordered = sorted(times)
    best = lo = 0
    for hi, t in enumerate(ordered):
        while t - ordered[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class FakeKeyAPI:
    """A local fake of the KeyAPI influencer analytics API.

    Use `async with FakeKeyAPI() as api:` inside a running loop, or `with FakeKeyAPI()`
    to run it on its own loop in a daemon thread.
    """

    def __init__(
        self,
        *,
        api_key: str = "sk_test_fake_0000",
        seed: int = 0,
        influencers: int = 300,
        drift: bool = True,
        latency: float = 0.0,
        qps_limit: float | None = None,
        credits: int | None = None,
        fault_rates: dict[Fault, float] | None = None,
        fault_seed: int = 0,
        retry_after: float = 1.0,
        stall: float = 60.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.dataset = Dataset(seed, influencers, drift=drift)
        self.latency = latency
        self.qps_limit = qps_limit
        self.credits = credits
        self.fault_rates: dict[Fault, float] = dict(fault_rates or {})
        self.retry_after = retry_after
        self.stall = stall
        self.host = host
        self.port = port
        self.url = ""
        self.requests: list[RequestRecord] = []
        self._seed = seed
        self._rng = random.Random(fault_seed)
        self._script: collections.deque[Fault | None] = collections.deque()
        self._recent: collections.deque[float] = collections.deque()
        self._seq = 0
        self._server_errors = 0
        self._auth = f"Bearer {api_key}"
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"FakeKeyAPI(url={self.url!r}, influencers={self.dataset.generated})"

    # --- control -------------------------------------------------------------------

    def script(self, *faults: Fault | None) -> None:
        """Queue exact outcomes for the next requests (None = serve normally)."""
        self._script.extend(faults)

    def reset_log(self) -> None:
        self.requests = []

    def log_entries(self) -> list[dict[str, object]]:
        """The request log in the admin endpoint's JSON form: path, arrived, status, code."""
        return [
            {"path": r.path, "arrived": r.arrived, "status": r.status, "code": r.code}
            for r in self.requests
        ]

    def max_in_window(self, window: float = 1.0, *, path: str | None = None) -> int:
        """Most arrivals in any half-open window [t, t + window) (optionally one path)."""
        return most_in_window(
            [r.arrived for r in self.requests if path is None or r.path == path], window
        )

    # --- async lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            return
        self._closing = asyncio.Event()
        app = web.Application()
        for path in ENDPOINTS:
            app.router.add_get(path, self._handle)
        app.router.add_get(ADMIN_LOG, self._admin_log)
        app.router.add_post(ADMIN_RESET, self._admin_reset)
        app.router.add_post(ADMIN_QPS, self._admin_qps)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.port = int(port)
        self.url = f"http://{host}:{self.port}"

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._closing is not None:
            self._closing.set()  # wakes STALLed handlers so shutdown is prompt
        await runner.cleanup()

    async def __aenter__(self) -> FakeKeyAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- threaded lifecycle --------------------------------------------------------

    def __enter__(self) -> FakeKeyAPI:
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                errors.append(exc)
            ready.set()
            if not errors:
                loop.run_forever()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

        thread = threading.Thread(target=run, name="FakeKeyAPI", daemon=True)
        thread.start()
        ready.wait()
        if errors:
            thread.join()
            raise errors[0]
        self._thread, self._loop = thread, loop
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._thread = self._loop = None
        try:
            asyncio.run_coroutine_threadsafe(self.close(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)

    # --- admin (bypasses the log, the key check and the QPS limit) -----------------------

    async def _admin_log(self, request: web.Request) -> web.Response:
        return f.json_response(200, msgspec.json.encode(self.log_entries()))

    async def _admin_reset(self, request: web.Request) -> web.Response:
        self.reset_log()
        return web.Response(status=204)

    async def _admin_qps(self, request: web.Request) -> web.Response:
        try:
            limit = msgspec.json.decode(await request.read(), type=_QpsLimit).qps_limit
        except msgspec.ValidationError as exc:
            return web.Response(status=400, text=str(exc))
        if limit is not None and not limit > 0:
            return web.Response(status=400, text="qps_limit must be > 0 or null")
        self.qps_limit = limit
        return web.Response(status=204)

    # --- request handling ----------------------------------------------------------

    def _request_id(self, seq: int) -> str:
        digest = hashlib.blake2b(f"{self._seed}:{seq}".encode(), digest_size=16).digest()
        return str(uuid.UUID(bytes=digest, version=4))

    def _qps_window(self) -> float:
        """Seconds the limit counts over: 1, or 1/limit for a limit below one a second."""
        limit = self.qps_limit
        return 1.0 if limit is None or limit >= 1 else 1.0 / limit

    def _over_qps(self, now: float) -> bool:
        """Count this arrival (every arrival counts, rejected ones too) and say if it is over."""
        limit = self.qps_limit  # read at each arrival: may be changed while running
        window = self._qps_window()
        recent = self._recent
        recent.append(now)
        while now - recent[0] >= window:
            recent.popleft()
        # Below one a second: one arrival per window of 1/limit seconds.
        return limit is not None and len(recent) > max(limit, 1.0)

    def _draw_fault(self) -> Fault | None:
        u = self._rng.random()
        acc = 0.0
        for fault, rate in self.fault_rates.items():
            acc += rate
            if u < acc:
                return fault
        return None

    def _decide(self, authorized: bool, over_qps: bool) -> tuple[Fault | None, int]:
        """(fault, envelope code before validation) for one arrival; see module doc."""
        if self._script:
            fault = self._script.popleft()
            if fault is not None:
                return fault, 0
        else:
            # One draw per unscripted request keeps the sequence tied to arrival order.
            fault = self._draw_fault()
        if not authorized:
            return None, 401
        if over_qps:
            return None, 429
        if fault is not None:
            return fault, 0
        if self.credits is not None and self.credits <= 0:
            return None, 402
        return None, 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        params: dict[str, str] = {}
        for key, value in request.query.items():
            params.setdefault(key, value)
        headers = {
            k: "<redacted>" if k.lower() == "authorization" else v
            for k, v in request.headers.items()
        }
        authorized = request.headers.get("Authorization") == self._auth
        seq = self._seq
        self._seq += 1
        log = self.requests
        index = len(log)
        record = RequestRecord(request.path, params, now, authorized, 0, None, None, headers)
        log.append(record)
        over_qps = self._over_qps(now)

        fault, code = self._decide(authorized, over_qps)
        status = code or 200
        extra = {"Retry-After": _retry_after(self._qps_window())} if code == 429 else {}
        rid = self._request_id(seq)
        body = b""
        items: list[bytes] = []
        final_code: int | None = code
        if fault is None and code == 0:
            try:
                items = ENDPOINTS[request.path](self.dataset, params)
            except ParamError as exc:
                status = final_code = 400
                body = f.error_envelope(400, rid, str(exc))
            else:
                body = f.success_envelope(items, rid)
                if self.credits is not None:
                    self.credits -= 1
        elif fault is None:
            body = f.error_envelope(code, rid)
        else:
            status, final_code, extra, body = self._fault_answer(fault, request, params, rid)
        log[index] = RequestRecord(
            request.path, params, now, authorized, status, final_code, fault, headers, len(items)
        )
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        return await self._send(request, fault, status, extra, body)

    def _fault_answer(
        self, fault: Fault, request: web.Request, params: dict[str, str], rid: str
    ) -> tuple[int, int | None, dict[str, str], bytes]:
        """(status, envelope code, extra headers, body) of a fault."""
        if fault is Fault.SERVER_ERROR:
            status = _SERVER_ERROR_STATUSES[self._server_errors % 3]
            self._server_errors += 1
            return status, status, {}, f.error_envelope(status, rid)
        if fault is Fault.RATE_LIMIT:
            retry = {"Retry-After": _retry_after(self.retry_after)}
            return 429, 429, retry, f.error_envelope(429, rid)
        simple = {
            Fault.BODY_ERROR: (200, 500),
            Fault.BODY_RATE_LIMIT: (200, 429),
            Fault.BAD_REQUEST: (400, 400),
            Fault.UNAUTHORIZED: (401, 401),
            Fault.NO_CREDITS: (402, 402),
        }
        if fault in simple:
            status, code = simple[fault]
            message = "Invalid parameter: page_num" if code == 400 else None
            return status, code, {}, f.error_envelope(code, rid, message)
        if fault is Fault.DROP:
            return 0, None, {}, b""
        if fault is Fault.GARBAGE:
            return 200, None, {}, f.GARBAGE_BODY
        # TRUNCATE / STALL cut a real answer in half.
        try:
            body = f.success_envelope(ENDPOINTS[request.path](self.dataset, params), rid)
        except ParamError as exc:
            body = f.error_envelope(400, rid, str(exc))
        return 200, None, {}, body

    async def _send(
        self,
        request: web.Request,
        fault: Fault | None,
        status: int,
        extra: dict[str, str],
        body: bytes,
    ) -> web.StreamResponse:
        if fault is Fault.DROP:
            return f.drop(request)
        if fault is Fault.GARBAGE:
            return web.Response(status=200, body=body, headers={"Content-Type": "text/html"})
        if fault is Fault.TRUNCATE or fault is Fault.STALL:
            assert self._closing is not None
            pause = self.stall if fault is Fault.STALL else None
            return await f.partial(request, body, pause, self._closing)
        return f.json_response(status, body, extra)
