"""Source servers played by handlers over httpx.MockTransport: each answer, failure and request
is in plain sight in the test and no socket is opened."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Generic, Protocol, Self, TypeVar
from urllib.parse import parse_qsl

import httpx

from aiops.sources.http import Limits

Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]
)

# Retries without waiting: the tests stay fast.
FAST = Limits(backoff=0.0, backoff_cap=0.0)


class Client(Protocol):
    async def aclose(self) -> None: ...


C = TypeVar("C", bound=Client)
C_co = TypeVar("C_co", bound=Client, covariant=True)


class ClientClass(Protocol[C_co]):
    """How a source client is built: PrometheusClient, LokiClient."""

    def __call__(
        self,
        urls: Sequence[str],
        limits: Limits | None = None,
        authorization: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> C_co: ...


class Servers(Generic[C]):
    """Servers played by handlers, the first at the first URL, the second at the next, and so on,
    and the requests they saw, in order."""

    def __init__(self, client_class: ClientClass[C], *urls: str) -> None:
        self.client_class = client_class
        self.urls = urls
        self.requests: list[httpx.Request] = []
        self.clients: list[C] = []

    def client(
        self, *handlers: Handler, limits: Limits = FAST, authorization: str | None = None
    ) -> C:
        """A client of the first `len(handlers)` URLs, each answered by its handler."""
        urls = self.urls[: len(handlers)]
        by_host = {
            httpx.URL(url).host: handler for url, handler in zip(urls, handlers, strict=True)
        }

        async def route(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            answer = by_host[request.url.host](request)
            return answer if isinstance(answer, httpx.Response) else await answer

        client = self.client_class(
            urls, limits, authorization, transport=httpx.MockTransport(route)
        )
        self.clients.append(client)
        return client

    def hosts(self) -> list[str]:
        return [request.url.host for request in self.requests]

    def forms(self) -> list[dict[str, str]]:
        return [form(request) for request in self.requests]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for client in self.clients:
            await client.aclose()


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


def success(data: object, warnings: list[str] | None = None) -> httpx.Response:
    body: dict[str, object] = {"status": "success", "data": data}
    if warnings:
        body["warnings"] = warnings
    return httpx.Response(200, json=body)


def refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)
