"""FakeKeyAPI in its own process, so the server's CPU never counts against the client's.

`python -m keyapi_async.testing` prints `READY <url>` once listening; the request log is read back
over its admin endpoints. Arrival times are the server's `time.monotonic()`, the same clock as
ours on Linux, so they can be compared with client-side timestamps.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from types import TracebackType

import aiohttp
import msgspec

API_KEY = "sk_bench_0000"
START_TIMEOUT = 60.0


class LogEntry(msgspec.Struct, frozen=True):
    path: str
    arrived: float
    status: int
    code: int | None


_log_decoder = msgspec.json.Decoder(list[LogEntry])


@dataclass
class FakeServer:
    """`with FakeServer(latency=0.25, qps_limit=20) as server:` then `server.url`."""

    latency: float = 0.0
    qps_limit: float | None = None
    influencers: int = 5000
    drift: bool = True
    url: str = ""
    api_key: str = API_KEY
    _proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> FakeServer:
        cmd = [sys.executable, "-m", "keyapi_async.testing", "--port", "0"]
        cmd += ["--latency", str(self.latency), "--influencers", str(self.influencers)]
        cmd += ["--api-key", self.api_key]
        if not self.drift:
            cmd.append("--no-drift")
        if self.qps_limit is not None:
            cmd += ["--qps-limit", str(self.qps_limit)]
        # stderr to a file: a pipe nobody reads could fill up and stall the server.
        self._stderr = tempfile.TemporaryFile(mode="w+")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self._proc = proc
        # readline() has no timeout: a watchdog kills a server that never gets ready.
        watchdog = threading.Timer(START_TIMEOUT, proc.kill)
        watchdog.start()
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
        finally:
            watchdog.cancel()
        if not line.startswith("READY "):
            self._stop()
            self._stderr.seek(0)
            raise RuntimeError(f"FakeKeyAPI did not start: {line!r}\n{self._stderr.read()}")
        self.url = line.split()[1]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: the server closes cleanly
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        self._stderr.close()

    async def log(self) -> list[LogEntry]:
        """Every request the server logged, in arrival order."""
        async with aiohttp.ClientSession() as s, s.get(self.url + "/__fake__/log") as resp:
            resp.raise_for_status()
            return _log_decoder.decode(await resp.read())

    async def set_qps_limit(self, limit: float | None) -> None:
        """Change the server's QPS limit while it runs."""
        url = self.url + "/__fake__/qps-limit"
        async with aiohttp.ClientSession() as s, s.post(url, json={"qps_limit": limit}) as resp:
            resp.raise_for_status()
        self.qps_limit = limit

    async def reset(self) -> None:
        async with aiohttp.ClientSession() as s, s.post(self.url + "/__fake__/reset") as resp:
            resp.raise_for_status()
