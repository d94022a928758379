"""The UI follows the server through a crash: `aiops serve` killed with SIGKILL (its Envoy dies
with it) and started again on the same addresses and SQLite file while anomalies are raised.
A module of its own: it kills its stack."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Page, expect

from tests.e2e.stack import AiopsServer, Exporter
from tests.e2e.ui import (
    E2eApi,
    anomalies,
    anomaly_count,
    anomaly_row_names,
    connection,
    data_source,
    open_ui,
    running_detector,
)
from tests.prometheus import PrometheusServer

pytestmark = pytest.mark.e2e


async def test_a_killed_server_comes_back_and_every_anomaly_is_listed_exactly_once(
    page: Page, aiops: AiopsServer, api: E2eApi, prometheus: PrometheusServer, exporter: Exporter
) -> None:
    source = await data_source(api, prometheus.url)
    # Two series, so that two anomalies fit in the time the server is down.
    name = await running_detector(api, source, "restart", 'e2e_load{case=~"restart-.*"}')
    await open_ui(page, aiops, f"anomalies?detector={name}")
    state = connection(page)
    await state.evaluate(
        """(badge) => {
            window.connectionStates = [];
            new MutationObserver(() => window.connectionStates.push(badge.dataset.state))
                .observe(badge, {attributes: true, attributeFilter: ["data-state"]});
        }"""
    )

    await exporter.spike("restart-a")  # 1: seen live
    await anomaly_count(api, exporter, name, 1)
    await expect(page.get_by_role("table", name="Anomalies").get_by_role("row")).to_have_count(2)

    await asyncio.to_thread(aiops.kill)
    await expect(state).to_have_attribute("data-state", "reconnecting")
    await expect(page.get_by_role("button", name="Retry now")).to_be_visible()
    # 2 and 3 while it is down and while it starts again: it catches up on what it missed.
    await asyncio.to_thread(aiops.launch)
    await asyncio.gather(exporter.spike("restart-b"), exporter.spike("restart-a"))
    await asyncio.to_thread(aiops.ready)
    await expect(state).to_have_attribute("data-state", "live")
    # Down for less than the 15 s after which the badge says offline.
    assert await page.evaluate("window.connectionStates") == ["reconnecting", "live"]
    await anomaly_count(api, exporter, name, 3)
    await exporter.spike("restart-b")  # 4: after the restart
    await anomaly_count(api, exporter, name, 4)

    stored = sorted(anomaly.name for anomaly in await anomalies(api, name))
    assert len(stored) == 4, stored
    table = page.get_by_role("table", name="Anomalies")
    await expect(table.get_by_role("row")).to_have_count(5)  # the header and one row each
    await expect(page.get_by_text("4 of 4 anomalies")).to_be_visible()
    shown = await anomaly_row_names(page)
    assert sorted(shown) == stored
    assert len(set(shown)) == len(shown)
    await expect(state).to_have_attribute("data-state", "live")
