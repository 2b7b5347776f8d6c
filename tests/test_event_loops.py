"""A client belongs to one event loop; a session it was given must be open.

Both misuses raise a KeyAPIError that says what to do, before anything is sent or paced, and
leave no unclosed-session warning behind. The two-loop case runs in a fresh interpreter so that
its warnings and stderr are all its own.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap

import aiohttp
import pytest

from keyapi_async import KeyAPI, KeyAPIError
from keyapi_async.testing import FakeKeyAPI

TWO_LOOPS = textwrap.dedent(
    """
    import asyncio, gc, json, warnings
    warnings.simplefilter("always")
    from keyapi_async import KeyAPI, KeyAPIError
    from keyapi_async.testing import FakeKeyAPI

    out = {{}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with FakeKeyAPI() as fake:
            client = KeyAPI(fake.api_key, base_url=fake.url{options})  # module level, no loop

            async def pull():
                return len((await client.influencers.list(region="US")).items)

            out["first"] = asyncio.run(pull())
            try:
                asyncio.run(pull())
                out["second"] = "no error"
            except KeyAPIError as exc:
                out["second"] = f"{{type(exc).__name__}}: {{exc}}"
            except BaseException as exc:
                out["second"] = f"raw {{type(exc).__name__}}: {{exc}}"
            out["served"] = len(fake.requests)
            out["counted"] = client.usage.requests
            del client, pull
            gc.collect()
        gc.collect()
    out["warnings"] = [f"{{w.category.__name__}}: {{w.message}}" for w in caught]
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize(
    "options",
    ["", ", qps=None", ", qps=5, max_retries=0"],
    ids=["default-limiter", "no-limiter", "own-qps"],
)
def test_a_client_used_from_a_second_event_loop_says_so(options: str) -> None:
    script = TWO_LOOPS.format(options=options)
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["first"] == 10
    second = out["second"]
    assert second.startswith("KeyAPIError: "), second
    assert "one event loop" in second, second
    assert "create the client inside the loop" in second, second
    assert out["served"] == out["counted"] == 1  # the second loop sent nothing
    assert out["warnings"] == []
    assert done.stderr == ""  # no "Unclosed client session", no "Exception ignored"


async def test_a_closed_borrowed_session_is_a_keyapi_error_and_sends_nothing(
    fake: FakeKeyAPI,
) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    client = KeyAPI(fake.api_key, base_url=fake.url, qps=None, session=session)
    with pytest.raises(KeyAPIError, match="session") as caught:
        await client.influencers.list(region="US")
    assert type(caught.value) is KeyAPIError
    assert "closed" in str(caught.value)
    assert client.usage.requests == 0
    assert fake.requests == []
    await client.aclose()


async def test_a_borrowed_session_closed_while_waiting_for_the_limiter(
    fake: FakeKeyAPI,
) -> None:
    # The second call waits for its slot (qps=2: half a second) while the session is closed.
    async with aiohttp.ClientSession() as session:
        client = KeyAPI(fake.api_key, base_url=fake.url, qps=2, session=session)
        await client.influencers.list(region="US")
        waiting = asyncio.ensure_future(client.influencers.list(region="US", start_page=2))
        await asyncio.sleep(0.05)
        await session.close()
        with pytest.raises(KeyAPIError, match="closed"):
            await waiting
    assert client.usage.requests == len(fake.requests) == 1
    await client.aclose()


async def test_a_client_left_open_in_its_own_loop_keeps_working(fake: FakeKeyAPI) -> None:
    # The loop guard must not get in the way of ordinary use.
    client = KeyAPI(fake.api_key, base_url=fake.url, qps=None)
    for _ in range(3):
        await client.influencers.list(region="US")
    assert client.usage.requests == len(fake.requests) == 3
    await client.aclose()
    with pytest.raises(KeyAPIError, match="closed"):
        await client.influencers.list(region="US")
