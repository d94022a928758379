"""The HTTP layer both clients share: failover, retries with capped exponential backoff and full
jitter, and the circuit breaker per URL, against small servers on loopback that fail on cue."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from aiops.sources import answers
from aiops.sources.http import (
    CircuitBreaker,
    Limits,
    QueryError,
    SourceHttp,
    UnavailableError,
    backoff_delay,
)
from tests.postgres import free_port
from tests.sources.fake_servers import Scripted, html, http_server

# Retries without waiting to speak of: the tests stay fast.
FAST = Limits(backoff=0.001, backoff_cap=0.004)


@pytest.fixture
async def dead_url() -> AsyncIterator[str]:
    yield f"http://127.0.0.1:{free_port()}"


async def ask(http: SourceHttp) -> object:
    return await http.get("/api/v1/status/buildinfo", answers.data, {})


def test_backoff_doubles_up_to_the_cap_with_full_jitter() -> None:
    limits = Limits(backoff=0.1, backoff_cap=1.0)
    rng = random.Random(7)
    for retry, ceiling in enumerate([0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]):
        delays = [backoff_delay(retry, limits, rng) for _ in range(2000)]
        assert 0 <= min(delays) < 0.05 * ceiling  # full jitter: from no wait at all ...
        assert 0.95 * ceiling < max(delays) <= ceiling  # ... to the capped ceiling


async def test_transient_failures_are_retried_until_one_answers() -> None:
    server = Scripted(503, 502)
    async with http_server(server) as url:
        http = SourceHttp("Prometheus", [url], FAST)
        assert await ask(http) == {"version": "2.53.0"}
        await http.aclose()
    assert server.requests == 3


async def test_retries_stop_after_the_limit_and_say_how_often() -> None:
    server = Scripted(*[504] * 10)
    async with http_server(server) as url:
        http = SourceHttp("Prometheus", [url], Limits(retries=3, backoff=0.001, backoff_cap=0.004))
        with pytest.raises(UnavailableError, match=r"HTTP 504 not now \(tried 4 times\)"):
            await ask(http)
        await http.aclose()
    assert server.requests == 4


@pytest.mark.parametrize("status", [400, 422])
async def test_a_query_error_is_never_retried(status: int) -> None:
    server = Scripted(status)
    async with http_server(server) as url:
        http = SourceHttp("Prometheus", [url], FAST)
        with pytest.raises(QueryError, match="not now"):
            await ask(http)
        await http.aclose()
    assert server.requests == 1


@pytest.mark.parametrize("status", [500, 404])
async def test_other_errors_fail_over_but_are_not_retried(status: int) -> None:
    server = Scripted(status)
    async with http_server(server) as url:
        http = SourceHttp("Prometheus", [url], FAST)
        with pytest.raises(UnavailableError, match=f"HTTP {status}"):
            await ask(http)
        await http.aclose()
    assert server.requests == 1


async def test_a_refused_connection_is_retried(dead_url: str) -> None:
    http = SourceHttp("Prometheus", [dead_url], FAST)
    with pytest.raises(UnavailableError, match=rf"{dead_url}: .*\(tried 3 times\)"):
        await ask(http)
    await http.aclose()


async def test_each_round_waits_the_next_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    retries: list[int] = []

    def no_wait(retry: int, limits: Limits) -> float:
        retries.append(retry)
        return 0.0

    monkeypatch.setattr("aiops.sources.http.backoff_delay", no_wait)
    server = Scripted(*[503] * 10)
    async with http_server(server) as url:
        http = SourceHttp("Prometheus", [url], Limits(retries=4))
        with pytest.raises(UnavailableError):
            await ask(http)
        await http.aclose()
    assert retries == [0, 1, 2, 3]
    assert server.requests == 5


async def test_an_answer_that_is_not_json_makes_way_for_the_next_url() -> None:
    good = Scripted()
    async with http_server(html) as nginx, http_server(good) as url:
        http = SourceHttp("Prometheus", [nginx, url], FAST)
        assert await ask(http) == {"version": "2.53.0"}
        assert http.answered_by == url
        await http.aclose()


def test_the_breaker_opens_after_failures_in_a_row_and_half_opens_after_the_cooldown() -> None:
    now = [0.0]
    limits = Limits(breaker_failures=3, breaker_cooldown=10, breaker_cooldown_cap=25)
    breaker = CircuitBreaker(limits, lambda: now[0])
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    breaker.succeeded()  # a success in between: the count starts again
    for _ in range(3):
        assert breaker.allow()
        breaker.failed()
    assert breaker.is_open and not breaker.allow()
    assert "skipped for 10.0s more after 3 failures" in breaker.why_skipped()
    now[0] = 9.9
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # one at a time
    breaker.failed()
    breaker.end_trial()
    assert not breaker.allow()  # open again, for a cool-down twice as long
    now[0] = 29.9
    assert not breaker.allow()
    now[0] = 30.0
    assert breaker.allow()
    breaker.failed()
    breaker.end_trial()
    now[0] = 54.9  # doubled again, but no longer than the cap
    assert not breaker.allow()
    now[0] = 55.0
    assert breaker.allow()
    breaker.succeeded()
    breaker.end_trial()
    assert not breaker.is_open and breaker.allow() and breaker.allow()
    assert breaker.cooldown == 10  # the next opening starts short again


async def test_an_open_breaker_spares_the_server_until_a_trial_succeeds() -> None:
    server = Scripted(503, 503, 503)
    limits = Limits(retries=0, breaker_failures=3, breaker_cooldown=0.3)
    async with http_server(server) as url:
        http = SourceHttp("Prometheus", [url], limits)
        for _ in range(3):
            with pytest.raises(UnavailableError, match="HTTP 503"):
                await ask(http)
        with pytest.raises(UnavailableError, match="skipped for"):
            await ask(http)
        assert server.requests == 3  # the fourth request never reached it
        await asyncio.sleep(0.35)
        assert await ask(http) == {"version": "2.53.0"}  # the trial closes the breaker
        assert await ask(http) == {"version": "2.53.0"}
        await http.aclose()
    assert server.requests == 5


async def test_a_failed_trial_opens_the_breaker_again() -> None:
    server = Scripted(503, 503, 503)
    limits = Limits(retries=0, breaker_failures=2, breaker_cooldown=0.2)
    async with http_server(server) as url:
        http = SourceHttp("Prometheus", [url], limits)
        for _ in range(2):
            with pytest.raises(UnavailableError, match="HTTP 503"):
                await ask(http)
        await asyncio.sleep(0.25)
        with pytest.raises(UnavailableError, match="HTTP 503"):
            await ask(http)  # the trial fails
        with pytest.raises(UnavailableError, match="skipped for"):
            await ask(http)
        assert server.requests == 3
        await http.aclose()


async def test_only_one_trial_runs_while_half_open() -> None:
    server = Scripted(503, 503, delay=0.1)
    limits = Limits(retries=0, breaker_failures=2, breaker_cooldown=0.2)
    async with http_server(server) as url:
        http = SourceHttp("Prometheus", [url], limits)
        for _ in range(2):
            with pytest.raises(UnavailableError):
                await ask(http)
        await asyncio.sleep(0.25)
        results = await asyncio.gather(ask(http), ask(http), return_exceptions=True)
        assert results[0] == {"version": "2.53.0"}
        assert isinstance(results[1], UnavailableError) and "skipped" in str(results[1])
        assert server.requests == 3
        await http.aclose()


async def test_a_cancelled_trial_does_not_bar_the_url() -> None:
    server = Scripted(503, 503, delay=0.2)
    limits = Limits(retries=0, breaker_failures=2, breaker_cooldown=0.1)
    async with http_server(server) as url:
        http = SourceHttp("Prometheus", [url], limits)
        for _ in range(2):
            with pytest.raises(UnavailableError):
                await ask(http)
        await asyncio.sleep(0.15)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ask(http), 0.05)  # the trial, cancelled
        server.delay = 0
        assert await ask(http) == {"version": "2.53.0"}
        await http.aclose()


async def test_an_open_breaker_sends_requests_to_the_next_url_without_trying(
    dead_url: str,
) -> None:
    good = Scripted()
    limits = Limits(retries=0, breaker_failures=1, breaker_cooldown=60, breaker_cooldown_cap=60)
    async with http_server(good) as url:
        http = SourceHttp("Prometheus", [dead_url, url], limits)
        await ask(http)
        assert http.breakers[dead_url].is_open
        for _ in range(20):
            assert await ask(http) == {"version": "2.53.0"}
        assert http.breakers[dead_url].failures == 1  # skipped, not tried again
        await http.aclose()
    assert good.requests == 21
