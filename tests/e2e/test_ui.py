"""The operator's UI in a real Chromium against the real stack: `aiops serve` with its Envoy,
Prometheus with a backfilled history scraping a test exporter. Everything happens through the
UI; the API only arranges what the UI cannot and checks what the server stored, and a trigger
in the database makes the server refuse a Stop. One stack for the module; each test has series
and detectors of its own."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from playwright.async_api import Page, expect

from aiops.detect.registry import MAX_WINDOW
from aiops_api.v1 import (
    anomaly_pb2,
    data_source_pb2,
    data_source_service_pb2,
    detector_pb2,
    detector_service_pb2,
)
from tests.e2e.stack import SPIKE, AiopsServer, Exporter
from tests.e2e.ui import (
    STEP,
    WINDOW,
    E2eApi,
    Shoot,
    anomalies,
    anomaly_count,
    anomaly_row_names,
    data_source,
    described_by,
    in_state,
    open_ui,
    query,
    running_detector,
)
from tests.prometheus import PrometheusServer
from tests.rpc import failure

pytestmark = pytest.mark.e2e

# A refusal the database makes, as a constraint would: the server cannot stop detectors/doomed.
REFUSE_STOP = """
CREATE TRIGGER e2e_refuse_stop BEFORE UPDATE OF state ON detectors
WHEN OLD.id = 'doomed' AND NEW.state = 'STATE_STOPPED'
BEGIN SELECT RAISE(ABORT, 'e2e: detectors/doomed may not stop'); END
"""

Detector = detector_pb2.Detector
Anomaly = anomaly_pb2.Anomaly


async def test_a_data_source_and_a_detector_created_in_the_ui_go_running(
    page: Page, aiops: AiopsServer, api: E2eApi, prometheus: PrometheusServer, shoot: Shoot
) -> None:
    await open_ui(page, aiops, "data-sources")
    await page.get_by_role("link", name="New data source").click()
    await page.get_by_label("Id", exact=True).fill("prometheus")
    await page.get_by_label("Display name").fill("Test Prometheus")
    await page.get_by_label("URLs").fill(prometheus.url)
    await page.get_by_role("button", name="Create data source").click()

    source = page.get_by_role("row", name="dataSources/prometheus")
    await expect(source).to_contain_text("Test Prometheus")
    await expect(source).to_contain_text(prometheus.url)
    await expect(source.get_by_text("Reachable", exact=True)).to_be_visible()
    await source.get_by_role("button", name="Check dataSources/prometheus").click()
    checked = await api.data_sources.CheckDataSource(
        data_source_service_pb2.CheckDataSourceRequest(name="dataSources/prometheus")
    )
    await expect(source).to_contain_text(f"version {checked.version}")
    await expect(source).to_contain_text(" ms")
    stored = await api.data_sources.GetDataSource(
        data_source_service_pb2.GetDataSourceRequest(name="dataSources/prometheus")
    )
    assert (stored.kind, list(stored.urls), stored.display_name) == (
        data_source_pb2.DataSource.KIND_PROMETHEUS,
        [prometheus.url],
        "Test Prometheus",
    )
    await shoot(page, "data-sources")

    await page.get_by_role("link", name="Detectors", exact=True).click()
    await page.get_by_role("link", name="New detector").click()
    await page.get_by_label("Id", exact=True).fill("created")
    await page.get_by_label("Display name").fill("Load of the created case")
    await page.get_by_label("Data source").select_option("dataSources/prometheus")
    await page.get_by_label("Query").fill(query("created"))
    await page.get_by_label("Step (seconds)").fill(str(STEP))
    await page.get_by_label("Algorithm", exact=True).select_option("robust_z_score")
    await page.get_by_label("window", exact=True).fill(str(WINDOW))
    await page.get_by_role("button", name="Create detector").click()

    # The form hands over to the detector's detail; the row goes from Stopped to Running.
    await expect(page).to_have_url(f"{aiops.url}#/detectors/created")
    detail = page.get_by_role("region", name="Load of the created case")
    row = page.get_by_role("row", name="detectors/created")
    await expect(row.locator(".badge")).to_have_text("Stopped")
    await row.get_by_role("button", name="Start").click()
    await expect(row.locator(".badge")).to_have_text("Running")
    await expect(detail.locator(".badge")).to_have_text("Running")
    await expect(row.get_by_role("button", name="Stop")).to_be_visible()
    await expect(row).to_contain_text(f"robust_z_score (window {WINDOW})")
    detector = await api.detectors.GetDetector(
        detector_service_pb2.GetDetectorRequest(name="detectors/created")
    )
    assert detector.state == Detector.STATE_RUNNING
    assert (detector.data_source, detector.query, detector.step.seconds) == (
        "dataSources/prometheus",
        query("created"),
        STEP,
    )
    assert detector.robust_z_score.window == WINDOW
    assert detector.display_name == "Load of the created case"
    await shoot(page, "detectors")


async def test_a_spike_shows_a_toast_and_its_row_live_and_acknowledging_it_is_stored(
    page: Page,
    aiops: AiopsServer,
    api: E2eApi,
    prometheus: PrometheusServer,
    exporter: Exporter,
    shoot: Shoot,
) -> None:
    source = await data_source(api, prometheus.url)
    name = await running_detector(api, source, "spiky")
    await open_ui(page, aiops, "anomalies")
    await expect(page.get_by_text("No anomalies yet.")).to_be_visible()
    await page.evaluate("window.notReloaded = true")

    await exporter.spike("spiky")

    toasts = page.get_by_role("region", name="New anomalies")
    toast = toasts.get_by_role("status").filter(has_text=f"Critical anomaly on {name}")
    await expect(toast).to_be_visible()
    await anomaly_count(api, exporter, name, 1)
    [anomaly] = await anomalies(api, name)
    row = page.get_by_role("table", name="Anomalies").get_by_role("row", name=anomaly.name)
    await expect(row).to_be_visible()
    assert await anomaly_row_names(page) == [anomaly.name]
    await expect(row.get_by_role("cell").nth(0)).to_have_text("Critical")
    await expect(row.get_by_role("cell").nth(1)).to_have_text("spiky")
    await expect(row.get_by_role("cell").nth(2)).to_have_text('e2e_load{case="spiky"}')
    await expect(row.get_by_role("cell").nth(5)).to_have_text("1")  # the peak score
    await expect(row.get_by_role("cell").nth(6)).to_have_text("Open")
    assert (anomaly.severity, anomaly.peak_value) == (detector_pb2.SEVERITY_CRITICAL, SPIKE)
    assert await page.evaluate("window.notReloaded") is True, "the page was reloaded"
    await expect(page.get_by_role("button", name="Notifications, 1 unread")).to_be_visible()

    await row.get_by_role("button", name="Acknowledge").click()
    await expect(row.get_by_role("cell").nth(6)).to_have_text("Acknowledged")
    await expect(row.get_by_role("button", name="Reopen")).to_be_visible()
    await expect(row.get_by_role("button", name="Acknowledge")).to_have_count(0)
    await expect(row.get_by_text("Saving…")).to_have_count(0)  # the server has answered
    [stored] = await anomalies(api, name)
    assert stored.state == Anomaly.STATE_ACKNOWLEDGED

    # The next one comes on top, in a toast of its own; the acknowledged one stays so.
    await exporter.spike("spiky")
    await anomaly_count(api, exporter, name, 2)
    newer = next(a for a in await anomalies(api, name) if a.name != anomaly.name)
    await expect(toast).to_have_count(2)
    await expect(page.get_by_role("button", name="Notifications, 2 unread")).to_be_visible()
    await expect(page.get_by_role("row", name=newer.name)).to_be_visible()
    assert await anomaly_row_names(page) == [newer.name, anomaly.name]
    await expect(row.get_by_role("cell").nth(6)).to_have_text("Acknowledged")
    assert await page.evaluate("window.notReloaded") is True, "the page was reloaded"
    await shoot(page, "anomalies")


async def test_an_invalid_detector_shows_the_servers_errors_at_the_fields_they_name(
    page: Page, aiops: AiopsServer, api: E2eApi, prometheus: PrometheusServer, shoot: Shoot
) -> None:
    source = await data_source(api, prometheus.url)
    expected = {
        "detector.query": "required: a PromQL or LogQL query",
        "detector.robust_z_score.window": f"must be from 1 to {MAX_WINDOW}, got -1",
    }
    # The server says so through the API too: the UI shows its words, not its own.
    refused = await failure(
        api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(
                detector_id="invalid",
                detector=Detector(
                    data_source=source,
                    step={"seconds": STEP},
                    robust_z_score=detector_pb2.RobustZScore(window=-1),
                ),
            )
        )
    )
    assert refused.violations == expected

    await open_ui(page, aiops, "detectors/new")
    await page.get_by_label("Id", exact=True).fill("invalid")
    await page.get_by_label("Data source").select_option(source)
    await page.get_by_label("Step (seconds)").fill(str(STEP))
    await page.get_by_label("Algorithm", exact=True).select_option("robust_z_score")
    await page.get_by_label("window", exact=True).fill("-1")
    await page.get_by_role("button", name="Create detector").click()

    form = page.get_by_role("form", name="New detector")
    await expect(form.get_by_role("alert")).to_have_text(refused.message)
    for label, path in (("Query", "detector.query"), ("window", "detector.robust_z_score.window")):
        field = form.get_by_label(label, exact=True)
        await expect(field).to_have_attribute("aria-invalid", "true")
        assert expected[path] in await described_by(field), label
    for label in ("Id", "Data source", "Step (seconds)", "Algorithm"):
        await expect(form.get_by_label(label, exact=True)).to_have_attribute(
            "aria-invalid", "false"
        )
    await expect(form.get_by_label("Query", exact=True)).to_be_focused()  # the first in error
    # Nothing was created, not even for a moment left behind in the list.
    await expect(page.get_by_role("row", name="detectors/invalid")).to_have_count(0)
    listed = await api.detectors.ListDetectors(detector_service_pb2.ListDetectorsRequest())
    assert "detectors/invalid" not in [d.name for d in listed.detectors]
    # Focus scrolled the panel down to the query; the picture shows the form's message too.
    await page.get_by_role("complementary").evaluate("(panel) => panel.scrollTo(0, 0)")
    await shoot(page, "detector-form-errors")


async def test_a_stop_the_server_refuses_rolls_back_and_shows_its_message(
    page: Page, aiops: AiopsServer, api: E2eApi, prometheus: PrometheusServer
) -> None:
    source = await data_source(api, prometheus.url)
    name = await running_detector(api, source, "doomed")
    await open_ui(page, aiops, "detectors")
    row = page.get_by_role("row", name=name)
    await expect(row.locator(".badge")).to_have_text("Running")

    # The database refuses to stop this detector, so the server answers Stop with an error.
    # (The UI follows deletions now: a detector deleted behind its back leaves the list.)
    await asyncio.to_thread(aiops.execute, REFUSE_STOP)
    try:
        refused = await failure(
            api.detectors.StopDetector(detector_service_pb2.StopDetectorRequest(name=name))
        )
        assert (refused.code, refused.message) == (
            grpc.StatusCode.INTERNAL,
            "internal error; the server log has the details",
        )
        await row.get_by_role("button", name="Stop").click()

        alert = row.get_by_role("alert")
        await expect(alert).to_contain_text(refused.message)
        await expect(row.locator(".badge")).to_have_text("Running")  # rolled back
        await expect(row.get_by_text("Stopping…")).to_have_count(0)
        await expect(row.get_by_role("button", name="Stop")).to_be_enabled()
        assert await in_state(api, name, Detector.STATE_RUNNING)
    finally:
        await asyncio.to_thread(aiops.execute, "DROP TRIGGER e2e_refuse_stop")
    await alert.get_by_role("button", name="Dismiss").click()
    await expect(row.get_by_role("alert")).to_have_count(0)

    # Once the server can, the same button stops it.
    await row.get_by_role("button", name="Stop").click()
    await expect(row.locator(".badge")).to_have_text("Stopped")
    await expect(row.get_by_role("button", name="Start")).to_be_visible()
    assert await in_state(api, name, Detector.STATE_STOPPED)
