"""The HTTP layer the Prometheus and Loki clients share: one pooled httpx client per data source,
its URLs tried in failover order, transient failures retried with capped exponential backoff
and full jitter (and a 429's Retry-After), a circuit breaker per URL, a deadline on each
request, a cap on answer size, and the mapping of failures onto the errors below.

Only a URL's own failures count against it (the breaker): no connection, no answer in time, a
server-level 5xx. A server that answers, even to refuse, is up: a query it rejects or times out
(Prometheus' error document says which), a 429, or an answer aiops cannot use are that
request's errors, not the URL's."""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import httpx

from aiops.retry import full_jitter
from aiops.sources.matrix import ResponseError

T = TypeVar("T")

# Answers this big are parsed in a worker thread; smaller ones parse faster than a thread starts.
PARSE_IN_THREAD_BYTES = 1 << 20
# A query the server rejects (Prometheus' bad_data and execution errors, Loki's parse errors):
# the user's to fix, never retried nor asked of another URL.
QUERY_ERROR_STATUSES = frozenset({400, 422})
# What a proxy or an overloaded server answers for a moment: worth asking again.
TRANSIENT_STATUSES = frozenset({502, 503, 504})
TOO_MANY_REQUESTS = 429
# Prometheus' errorType of a failed query (whatever the HTTP status: 400, 422, 503), which the
# server answered: the query's fault, or its cost. "internal" and "unavailable" are the server's.
QUERY_ERROR_TYPES = frozenset({"bad_data", "execution", "not_found", "not_acceptable"})
QUERY_TIMEOUT_TYPES = frozenset({"timeout", "canceled"})


class SourceError(Exception):
    """A data source could not answer a query."""


class QueryError(SourceError):
    """The query is wrong: the server's own message, for the user to fix."""


class QueryTimeoutError(SourceError):
    """The server gave up on the query within its own time limit: too costly as asked, though
    the server is up and the next, cheaper query may run."""


class UnavailableError(SourceError):
    """No URL of the data source answered as its kind of server does: down, slow, or something
    else."""


class TooLargeError(SourceError):
    """The answer is over a limit: too many bytes, series or lines."""


class NotServedError(SourceError):
    """The server answers, but not this optional endpoint (HTTP 404): a feature it lacks or
    has turned off, such as Loki's patterns."""


@dataclass(frozen=True)
class Limits:
    connect_timeout: float = 5.0  # seconds
    # Seconds one request may take in all, retries and failover included: the data source's
    # `timeout`.
    timeout: float = 30.0
    max_response_bytes: int = 256 * 2**20
    max_series: int = 10_000
    # Prometheus and Loki both refuse range queries of more points per series than this;
    # longer ranges are fetched in chunks and stitched.
    max_points_per_request: int = 11_000
    # Loki's default max_entries_limit_per_query: more lines are fetched page by page.
    max_lines_per_request: int = 5_000
    # Rounds over the URLs after the first, when every failure was transient.
    retries: int = 2
    backoff: float = 0.2  # seconds: the first retry waits up to this, each next one twice as long
    backoff_cap: float = 2.0  # seconds: no retry waits longer
    # A URL that failed this many times in a row is skipped for the cool-down; then one trial
    # request decides whether it is back. Each failed trial doubles the cool-down, up to the
    # cap: short enough that a server back from an outage is used again within a step or two.
    breaker_failures: int = 5
    breaker_cooldown: float = 1.0  # seconds
    breaker_cooldown_cap: float = 5.0  # seconds


def backoff_delay(retry: int, limits: Limits, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `retry` (0 for the first), under `limits`."""
    return full_jitter(retry, limits.backoff, limits.backoff_cap, rng)


class CircuitBreaker:
    """One URL's record: closed while it answers, open (skipped) for a cool-down after
    `breaker_failures` failures in a row, then half-open: one trial request at a time. The
    cool-down doubles with each failed trial, from `breaker_cooldown` to `breaker_cooldown_cap`
    seconds."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.failures = 0  # in a row
        self.opened_at = 0.0
        self.cooldown = limits.breaker_cooldown
        self.trial_running = False

    @property
    def is_open(self) -> bool:
        return self.failures >= self.limits.breaker_failures

    def allow(self) -> bool:
        """Whether a request may go to the URL now; a True while open starts the trial."""
        if not self.is_open:
            return True
        if self.trial_running or self.clock() - self.opened_at < self.cooldown:
            return False
        self.trial_running = True
        return True

    def succeeded(self) -> None:
        self.failures = 0
        self.cooldown = self.limits.breaker_cooldown

    def failed(self) -> None:
        self.failures += 1
        if self.failures > self.limits.breaker_failures:  # a failed trial: wait longer
            self.cooldown = min(2 * self.cooldown, self.limits.breaker_cooldown_cap)
        if self.is_open:  # opens, or stays open for another cool-down after a failed trial
            self.opened_at = self.clock()

    def end_trial(self) -> None:
        self.trial_running = False

    def why_skipped(self) -> str:
        wait = self.cooldown - (self.clock() - self.opened_at)
        return f"skipped for {max(wait, 0):.1f}s more after {self.failures} failures in a row"


class _Failed(Exception):
    """One URL's failure in one round: `transient` when asking again may help, `counts` when
    it is the URL's own (the breaker's business), `retry_after` the seconds the server asked
    to wait."""

    def __init__(
        self, message: str, *, transient: bool, counts: bool = True, retry_after: float = 0.0
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.counts = counts
        self.retry_after = retry_after


@dataclass
class RequestStats:
    """A data source's requests since its client was built (retries and failover included in
    one request): how many, how many failed, and the seconds they took in all."""

    requests: int = 0
    errors: int = 0
    seconds: float = 0.0


class SourceHttp:
    """Requests to one data source. `server` names its kind in messages ("Prometheus").
    `transport` replaces httpx's network transport (tests pass an httpx.MockTransport)."""

    def __init__(
        self,
        server: str,
        urls: Sequence[str],
        limits: Limits | None = None,
        authorization: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not urls:
            raise ValueError(f"a {server} data source needs at least one URL")
        self.server = server
        self.urls = [url.rstrip("/") for url in urls]
        self.limits = limits or Limits()
        self.breakers = {url: CircuitBreaker(self.limits) for url in self.urls}
        self.answered_by = ""  # the URL that answered last
        self.stats = RequestStats()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.limits.timeout, connect=self.limits.connect_timeout),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
            headers={"Authorization": authorization} if authorization else None,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(self, path: str, parse: Callable[[bytes], T], params: dict[str, str]) -> T:
        return await self._request("GET", path, parse, params=params)

    async def post(
        self,
        path: str,
        parse: Callable[[bytes], T],
        form: dict[str, str],
        *,
        optional: bool = False,
    ) -> T:
        """`optional`: an endpoint the server may lack, whose 404 is NotServedError rather than
        a reason to try the next URL."""
        # POST: a 16 KiB query does not fit every proxy's URL limit.
        return await self._request("POST", path, parse, form=form, optional=optional)

    async def _request(
        self,
        method: str,
        path: str,
        parse: Callable[[bytes], T],
        params: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        optional: bool = False,
    ) -> T:
        """What `parse` makes of the first answer that it accepts. A wrong query fails at once;
        a URL that is down or answers nonsense makes way for the next; when every URL failed
        and some failure was transient, all are tried again after a backoff. All of it within
        `limits.timeout`: UnavailableError "no answer within ..." past it."""
        started = time.perf_counter()
        deadline = asyncio.get_running_loop().time() + self.limits.timeout
        try:
            return await self._try_urls(method, path, parse, params, form, optional, deadline)
        except SourceError:
            self.stats.errors += 1
            raise
        finally:
            self.stats.requests += 1
            self.stats.seconds += time.perf_counter() - started

    async def _try_urls(
        self,
        method: str,
        path: str,
        parse: Callable[[bytes], T],
        params: dict[str, str] | None,
        form: dict[str, str] | None,
        optional: bool,
        deadline: float,
    ) -> T:
        loop = asyncio.get_running_loop()
        failures: dict[str, str] = {}
        retry_after = 0.0  # what a server asked to wait, in the last round
        for attempt in range(self.limits.retries + 1):
            if attempt:
                wait = max(backoff_delay(attempt - 1, self.limits), retry_after)
                if loop.time() + wait >= deadline:
                    break  # no time left to ask again
                await asyncio.sleep(wait)
            transient, retry_after = False, 0.0
            for url in self.urls:
                breaker = self.breakers[url]
                if not breaker.allow():
                    failures[url] = breaker.why_skipped()
                    continue
                trial = breaker.is_open  # let through while open: this request is the trial
                try:
                    async with asyncio.timeout_at(deadline):
                        result = await self._ask(method, url + path, parse, params, form, optional)
                except TimeoutError:
                    breaker.failed()
                    failures[url] = f"no answer within {self.limits.timeout:g}s"
                    raise UnavailableError(_failures_text(failures, attempt)) from None
                except _Failed as failure:
                    if failure.counts:
                        breaker.failed()
                    failures[url] = str(failure)
                    transient |= failure.transient
                    retry_after = max(retry_after, failure.retry_after)
                    continue
                except SourceError:  # the query's fault or too large: the server is fine
                    breaker.succeeded()
                    raise
                finally:  # also when cancelled: a trial that never ended would bar the URL
                    if trial:
                        breaker.end_trial()
                breaker.succeeded()
                self.answered_by = url
                return result
            if not transient:
                break
        raise UnavailableError(_failures_text(failures, attempt))

    async def _ask(
        self,
        method: str,
        url: str,
        parse: Callable[[bytes], T],
        params: dict[str, str] | None,
        form: dict[str, str] | None,
        optional: bool = False,
    ) -> T:
        try:
            async with self._http.stream(method, url, params=params, data=form) as response:
                body = await self._read(response)
        except httpx.TimeoutException:
            raise _Failed(f"no answer within {self.limits.timeout:g}s", transient=True) from None
        except httpx.TransportError as error:
            raise _Failed(str(error) or type(error).__name__, transient=True) from None
        status = response.status_code
        if status != 200:
            raise _refusal(status, body, response.headers, url, optional)
        try:
            if len(body) < PARSE_IN_THREAD_BYTES:
                return parse(body)
            # The parser's kernels release the GIL: a big answer parses beside the event loop.
            return await asyncio.to_thread(parse, body)
        except ResponseError as error:  # the server answered: another URL may answer better
            raise _Failed(
                f"the answer is not {self.server} JSON: {error}", transient=False, counts=False
            ) from None

    async def _read(self, response: httpx.Response) -> bytes:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self.limits.max_response_bytes:
                raise TooLargeError(
                    f"the answer is over {self.limits.max_response_bytes // 2**20} MiB; "
                    "shorten the range, raise the step or narrow the query"
                )
        return bytes(body)


def _refusal(
    status: int, body: bytes, headers: httpx.Headers, url: str, optional: bool
) -> Exception:
    """What a non-200 answer means: the query's error (raised to the caller as it is), or the
    URL's failure (_Failed, for the next URL or round)."""
    error_type, message = error_document(body)
    if error_type in QUERY_TIMEOUT_TYPES:
        return QueryTimeoutError(
            f"the server gave up on the query ({error_type}: {message}); narrow it, shorten "
            "the range or raise the step"
        )
    if error_type in QUERY_ERROR_TYPES or status in QUERY_ERROR_STATUSES:
        return QueryError(message or f"HTTP {status}")
    if status == 404 and optional:
        return NotServedError(f"{url} is not served (HTTP 404)")
    if status == TOO_MANY_REQUESTS:  # the server is up and asks for patience
        retry_after = retry_after_seconds(headers.get("Retry-After", ""))
        return _Failed(
            f"HTTP 429 too many requests {message[:200]}".strip(),
            transient=True,
            counts=False,
            retry_after=retry_after,
        )
    return _Failed(f"HTTP {status} {message[:200]}".strip(), transient=status in TRANSIENT_STATUSES)


def retry_after_seconds(value: str) -> float:
    """A Retry-After header's wait in seconds: a number of seconds or an HTTP date; 0 when
    there is none or it cannot be read."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, when.timestamp() - time.time())


def _failures_text(failures: dict[str, str], attempt: int) -> str:
    tries = f" (tried {attempt + 1} times)" if attempt else ""
    return "; ".join(f"{url}: {message}" for url, message in failures.items()) + tries


def error_document(body: bytes) -> tuple[str, str]:
    """The server's own error: (errorType, error) of Prometheus' JSON error document, or ("",
    the plain text) Loki and proxies answer with."""
    try:
        document = json.loads(body)
    except ValueError:
        return "", body[:1000].decode(errors="replace").strip()
    if not isinstance(document, dict):
        return "", ""
    return str(document.get("errorType", "")), str(document.get("error", ""))
