"""The UI's live charts in a real Chromium against the real stack: a running detector's page
charts its series with the band and appends points as they are scored, with a marker at a
spike; the detector form previews what the detector would have raised; the system dashboard
counts a second tab's stream; the data source page charts its checks and runs a query."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from aiops_api.v1 import detector_pb2, detector_service_pb2
from tests.e2e.conftest import VIEWPORT
from tests.e2e.stack import METRIC, NORMAL, SPIKE, AiopsServer, Exporter
from tests.e2e.ui import (
    E2eApi,
    Shoot,
    anomalies,
    anomaly_count,
    data_source,
    open_ui,
    running_detector,
)
from tests.prometheus import PrometheusServer

pytestmark = pytest.mark.e2e

CASE = "charted"
SERIES = f'{METRIC}{{case="{CASE}"}}'
# How the UI writes a moment (web/src/utils/format.ts, formatDateTime), in the page's locale.
FORMAT_DATE_TIME = """(ms) => new Intl.DateTimeFormat(undefined, {year: "numeric",
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit"}
).format(ms)"""


async def charted(api: E2eApi, prometheus: PrometheusServer, exporter: Exporter) -> str:
    """detectors/charted, running, with at least one anomaly (its spike); made unless there."""
    listed = await api.detectors.ListDetectors(detector_service_pb2.ListDetectorsRequest())
    name = f"detectors/{CASE}"
    if all(d.name != name for d in listed.detectors):
        await running_detector(api, await data_source(api, prometheus.url), CASE)
    if not await anomalies(api, name):
        await exporter.spike(CASE)
        await anomaly_count(api, exporter, name, 1)
    return name


async def points(chart: Locator) -> int:
    return int(await chart.get_attribute("data-points") or 0)


async def grows(chart: Locator, attribute: str, above: int) -> None:
    await expect(chart).not_to_have_attribute(attribute, str(above))
    assert int(await chart.get_attribute(attribute) or 0) > above


async def test_the_detector_page_charts_live_points_with_the_band_and_marks_the_spike(
    page: Page,
    aiops: AiopsServer,
    api: E2eApi,
    prometheus: PrometheusServer,
    exporter: Exporter,
    shoot: Shoot,
) -> None:
    source = await data_source(api, prometheus.url)
    name = await running_detector(api, source, CASE)
    await open_ui(page, aiops, f"detectors/{CASE}")

    detail = page.get_by_role("complementary")
    picker = detail.get_by_role("list", name=f"Series of {name}")
    await expect(picker.get_by_role("checkbox", name=SERIES)).to_be_checked()
    chart = detail.get_by_role("img", name=SERIES)
    await expect(chart).to_be_visible()
    # The backfill's points are there at once (60 of them), then each step appends one.
    await expect(chart).not_to_have_attribute("data-points", "0")
    first = await points(chart)
    assert first >= 50
    await grows(chart, "data-points", first)
    await expect(detail.get_by_role("status").filter(has_text="Live")).to_be_visible()
    # The legend names every line and the band around the expected value.
    legend = await chart.locator(".u-legend .u-label").all_inner_texts()
    labels = {text.strip() for text in legend}
    assert {"Value", "Expected", "Expected band high", "Expected band low", "Score"} <= labels
    await expect(chart).to_have_attribute("data-markers", "0")

    # The same points the server kept: value NORMAL with a band around it, before any spike.
    kept = await api.detectors.ReadDetectorScores(
        detector_service_pb2.ReadDetectorScoresRequest(detector=name)
    )
    [series] = kept.series
    assert series.values[-1] == NORMAL
    assert series.lower[-1] <= NORMAL <= series.upper[-1]

    await exporter.spike(CASE)
    await anomaly_count(api, exporter, name, 1)
    await grows(chart, "data-markers", 0)
    [anomaly] = await anomalies(api, name)
    assert anomaly.severity == detector_pb2.SEVERITY_CRITICAL and anomaly.peak_value == SPIKE
    table = detail.get_by_role("table", name=f"Anomalies of {name}")
    await expect(table.get_by_role("row", name=anomaly.name)).to_be_visible()
    await (
        page.get_by_role("region", name="New anomalies")
        .get_by_role("button", name="Dismiss")
        .click()
    )
    await chart.scroll_into_view_if_needed()
    await shoot(page, "detector-detail")


async def test_the_form_previews_the_anomalies_the_detector_would_have_raised(
    page: Page,
    aiops: AiopsServer,
    api: E2eApi,
    prometheus: PrometheusServer,
    exporter: Exporter,
    shoot: Shoot,
) -> None:
    name = await charted(api, prometheus, exporter)
    raised = await anomalies(api, name)
    await open_ui(page, aiops, f"detectors/{CASE}/edit")

    preview = page.get_by_role("region", name="Preview")
    status = preview.get_by_test_id("preview-status")
    await expect(status).to_have_attribute("data-state", "done", timeout=30_000)
    count = int(await preview.get_by_test_id("preview-anomaly-count").inner_text())
    assert count >= len(raised)
    listed = preview.get_by_role("table", name="Anomalies the detector would have raised")
    for anomaly in raised:  # the backtest finds each one the live detector raised
        start = await page.evaluate(
            FORMAT_DATE_TIME,
            anomaly.start_time.seconds * 1000,
        )
        await expect(listed.get_by_role("row").filter(has_text=start)).to_have_count(1)
    await expect(preview.get_by_role("img", name=SERIES)).to_be_visible()

    # A parameter changed re-runs it: a minimum deviation above the spike's leaves none.
    deviation = page.get_by_label("Minimum deviation")
    await deviation.fill(str(10 * SPIKE))
    await expect(status).to_have_attribute("data-state", "running")
    await expect(status).to_have_attribute("data-state", "done", timeout=30_000)
    await expect(preview.get_by_test_id("preview-anomaly-count")).to_have_text("0")
    await deviation.fill("")
    await expect(preview.get_by_test_id("preview-anomaly-count")).to_have_text(
        str(count), timeout=30_000
    )
    await preview.scroll_into_view_if_needed()
    await shoot(page, "backtest-preview")


async def test_the_dashboard_counts_the_stream_of_a_second_tab(
    page: Page, browser: Browser, aiops: AiopsServer, shoot: Shoot
) -> None:
    await open_ui(page, aiops, "dashboard")
    open_streams = page.get_by_test_id("open-streams")
    # This tab's two streams: the app's and the dashboard's own.
    await expect(open_streams).to_have_text("2", timeout=10_000)

    other = await browser.new_context(viewport=VIEWPORT)
    try:
        tab = await other.new_page()
        await open_ui(tab, aiops, "anomalies")
        await expect(open_streams).to_have_text("3", timeout=10_000)
    finally:
        await other.close()
    await expect(open_streams).to_have_text("2", timeout=10_000)
    await expect(page.get_by_test_id("status-stream")).to_have_text("Live")
    await expect(page.get_by_role("img", name="Open streams")).not_to_have_attribute(
        "data-points", "0"
    )
    await shoot(page, "dashboard")


async def test_the_data_source_page_charts_its_checks_and_runs_a_query(
    page: Page, aiops: AiopsServer, api: E2eApi, prometheus: PrometheusServer, shoot: Shoot
) -> None:
    source = await data_source(api, prometheus.url)
    await open_ui(page, aiops, source.replace("dataSources", "data-sources"))
    await page.get_by_role("button", name=f"Check {source}").click()
    await expect(page.get_by_role("status", name="Check result")).to_contain_text("Reachable")
    await expect(page.get_by_test_id("health-summary")).to_contain_text("checks")

    explorer = page.get_by_role("form", name="Query explorer")
    await explorer.get_by_role("textbox", name="Query").fill(SERIES)
    await explorer.get_by_label("Time range").select_option(label="Last 15 minutes")
    await explorer.get_by_role("button", name="Run query").click()
    await expect(page.get_by_test_id("query-summary")).to_contain_text("1 series")
    result = page.get_by_role("img", name="Query result")
    await expect(result).not_to_have_attribute("data-points", "0")

    await explorer.get_by_role("textbox", name="Query").fill("sum(")
    await explorer.get_by_role("button", name="Run query").click()
    query_box = explorer.get_by_role("textbox", name="Query")
    await expect(query_box).to_have_attribute("aria-invalid", "true")
    await explorer.get_by_role("textbox", name="Query").fill(SERIES)
    await explorer.get_by_role("button", name="Run query").click()
    await expect(result).not_to_have_attribute("data-points", "0")
    await shoot(page, "data-source")
