"""Raw HTTP servers on loopback that misbehave in the ways real ones do: down for a while,
silent, speaking HTML, answering without end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

PROMETHEUS_BUILD_INFO = b'{"status":"success","data":{"version":"2.53.0"}}'


@asynccontextmanager
async def http_server(handler: Handler) -> AsyncIterator[str]:
    """A raw server on loopback that reads the request head and leaves the rest to `handler`."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


async def write_answer(writer: asyncio.StreamWriter, status: int, body: bytes) -> None:
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()


class Scripted:
    """Answers the statuses it was given, one request each, then 200 with `body` for good;
    counts the requests."""

    def __init__(self, *statuses: int, body: bytes = PROMETHEUS_BUILD_INFO, delay: float = 0):
        self.statuses = list(statuses)
        self.body = body
        self.delay = delay
        self.requests = 0

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        status = self.statuses.pop(0) if self.statuses else 200
        await asyncio.sleep(self.delay)
        body = self.body if status == 200 else b'{"status":"error","error":"not now"}'
        await write_answer(writer, status, body)


async def html(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    page = b"<html><body>Welcome to nginx!</body></html>"
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(page)}\r\n\r\n"
    writer.write(head.encode() + page)
    await writer.drain()


async def silence(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)


async def a_gigabyte(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    writer.write(b"Content-Length: 1073741824\r\n\r\n")
    chunk = b" " * 2**16
    for _ in range(2**14):
        writer.write(chunk)
        await writer.drain()
