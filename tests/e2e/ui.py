"""What the end-to-end tests share: the server's API (to arrange and check what the UI cannot),
and the UI's landmarks as web/README.md names them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from playwright.async_api import Locator, Page, expect

from aiops_api.v1 import (
    anomaly_pb2,
    data_source_pb2,
    data_source_service_pb2,
    data_source_service_pb2_grpc,
    detector_pb2,
    detector_service_pb2,
    detector_service_pb2_grpc,
)
from tests.e2e.stack import METRIC, AiopsServer, Exporter

Detector = detector_pb2.Detector
Shoot = Callable[[Page, str], Awaitable[Path]]  # the `shoot` fixture: a screenshot as NAME.png
STEP = 1  # seconds: a detector's point a second
WINDOW = 5  # robust_z_score's window: a spike's first points are anomalous, later ones not


@dataclass
class E2eApi:
    channel: grpc.aio.Channel
    data_sources: data_source_service_pb2_grpc.DataSourceServiceStub
    detectors: detector_service_pb2_grpc.DetectorServiceStub


@asynccontextmanager
async def connect(server: AiopsServer) -> AsyncIterator[E2eApi]:
    """A channel to the server's gRPC address; it reconnects by itself after a restart."""
    async with grpc.aio.insecure_channel(server.grpc_address) as channel:
        yield E2eApi(
            channel,
            data_source_service_pb2_grpc.DataSourceServiceStub(channel),
            detector_service_pb2_grpc.DetectorServiceStub(channel),
        )


async def wait_for(condition: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds:g} s"
        await asyncio.sleep(0.1)


def query(case: str) -> str:
    return f'{METRIC}{{case="{case}"}}'


async def data_source(api: E2eApi, url: str, source_id: str = "e2e") -> str:
    """`dataSources/{source_id}` on `url`, created unless it is there."""
    name = f"dataSources/{source_id}"
    listed = await api.data_sources.ListDataSources(
        data_source_service_pb2.ListDataSourcesRequest()
    )
    if all(source.name != name for source in listed.data_sources):
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source_id=source_id,
                data_source=data_source_pb2.DataSource(
                    kind=data_source_pb2.DataSource.KIND_PROMETHEUS, urls=[url]
                ),
            )
        )
    return name


async def running_detector(
    api: E2eApi, source: str, detector_id: str, promql: str | None = None
) -> str:
    """`detectors/{detector_id}` over `promql` (by default the series of the case of that
    name), looking up (stack.Exporter.spike says why), created and started through the API;
    returns once it is RUNNING (its backfill learnt)."""
    created = await api.detectors.CreateDetector(
        detector_service_pb2.CreateDetectorRequest(
            detector_id=detector_id,
            detector=Detector(
                data_source=source,
                query=promql or query(detector_id),
                step={"seconds": STEP},
                robust_z_score=detector_pb2.RobustZScore(window=WINDOW),
                direction=detector_pb2.DIRECTION_UP,
            ),
        )
    )
    await api.detectors.StartDetector(detector_service_pb2.StartDetectorRequest(name=created.name))
    await wait_for(lambda: in_state(api, created.name, Detector.STATE_RUNNING), 30, "RUNNING")
    return str(created.name)


async def in_state(api: E2eApi, name: str, state: int) -> bool:
    got = await api.detectors.GetDetector(detector_service_pb2.GetDetectorRequest(name=name))
    return bool(got.state == state)


async def anomalies(api: E2eApi, parent: str) -> list[anomaly_pb2.Anomaly]:
    """Every anomaly of `parent` (`detectors/x` or `detectors/-`), every page."""
    found: list[anomaly_pb2.Anomaly] = []
    token = ""
    while True:
        page = await api.detectors.ListAnomalies(
            detector_service_pb2.ListAnomaliesRequest(parent=parent, page_token=token)
        )
        found += page.anomalies
        token = page.next_page_token
        if not token:
            return found


async def anomaly_count(
    api: E2eApi, exporter: Exporter, parent: str, count: int, seconds: float = 20
) -> None:
    """Until `parent` has `count` anomalies (or more); a failure lists those it has, and when
    the exporter served spikes."""
    found: list[anomaly_pb2.Anomaly] = []

    async def stored() -> bool:
        nonlocal found
        found = await anomalies(api, parent)
        return len(found) >= count

    try:
        await wait_for(stored, seconds, f"{count} anomalies of {parent}")
    except AssertionError as error:
        listed = "\n".join(
            f"  {a.name} {a.start_time.seconds}..{a.end_time.seconds} peak {a.peak_value}"
            for a in found
        )
        served = exporter.spikes_served() or "never"
        raise AssertionError(f"{error}; stored:\n{listed}\nspikes served: {served}") from None


# The UI's landmarks (web/README.md, "For end-to-end tests").


def connection(page: Page) -> Locator:
    """The connection badge's container, whose data-state is the stream's state."""
    badge = page.get_by_role("status", name="Connection")
    return page.locator(".connection", has=badge)


async def open_ui(page: Page, server: AiopsServer, route: str) -> None:
    """Opens `/#/{route}` and waits until the stream is live (the lists are loaded then)."""
    await page.goto(f"{server.url}#/{route}")
    await expect(connection(page)).to_have_attribute("data-state", "live")


async def described_by(field: Locator) -> list[str]:
    """The texts of what the field's aria-describedby names (its hint and its error)."""
    texts: list[str] = await field.evaluate(
        """(element) => (element.getAttribute("aria-describedby") || "")
            .split(" ").filter(Boolean)
            .map((id) => document.getElementById(id)?.textContent ?? `missing #${id}`)"""
    )
    return texts


async def anomaly_row_names(page: Page) -> list[str]:
    """The names of the anomaly rows on screen (the virtualised table renders those only)."""
    table = page.get_by_role("table", name="Anomalies")
    rows = table.locator('[role="row"][aria-rowindex]:not([aria-rowindex="1"])')
    names: list[str] = await rows.evaluate_all(
        "(rows) => rows.map((row) => row.getAttribute('aria-label'))"
    )
    return names
