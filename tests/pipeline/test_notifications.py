"""Anomalies sent to the notification channels: a real Alertmanager receives and resolves the
alert of an anomaly a running detector opened and closed, and keeps one while it lasts; a
webhook gets each change once, signed; a channel that is down loses nothing; and the channels'
API refuses what cannot work."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import update

from aiops.app import App
from aiops.pipeline.notifications import SIGNATURE_HEADER, signature
from aiops.store.models import AnomalyRow
from aiops_api.v1 import (
    anomaly_pb2,
    data_source_service_pb2,
    detector_pb2,
    detector_service_pb2,
    notification_channel_pb2,
    notification_channel_service_pb2,
    notification_channel_service_pb2_grpc,
)
from tests.alertmanager import AlertmanagerServer
from tests.conftest import Api, connected, serving
from tests.pipeline.conftest import Scraped
from tests.pipeline.test_live import STEP, start_detector, until_running, wait_for
from tests.postgres import free_port
from tests.rpc import detector, failure, prometheus

Channel = notification_channel_pb2.NotificationChannel
pb = notification_channel_service_pb2
SECRET = "a-secret-of-16-or-more"
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # as PostgreSQL


def channels(api: Api) -> notification_channel_service_pb2_grpc.NotificationChannelServiceStub:
    return notification_channel_service_pb2_grpc.NotificationChannelServiceStub(api.channel)


async def create_channel(api: Api, channel_id: str, **fields: Any) -> Channel:
    return await channels(api).CreateNotificationChannel(
        pb.CreateNotificationChannelRequest(
            notification_channel=Channel(**fields), notification_channel_id=channel_id
        )
    )


async def _one(alertmanager: AlertmanagerServer) -> bool:
    return len(await asyncio.to_thread(alertmanager.alerts)) == 1


# A running detector, a real Alertmanager.


@pytest.fixture
async def alertmanager() -> AsyncIterator[AlertmanagerServer]:
    server = await asyncio.to_thread(AlertmanagerServer)
    yield server
    await asyncio.to_thread(server.stop)


@SQLITE
async def test_alertmanager_receives_and_resolves_a_running_detectors_anomaly(
    database_url: str, alertmanager: AlertmanagerServer, scraped: Scraped
) -> None:
    exporter, prometheus_server = scraped.exporter, scraped.prometheus
    await asyncio.sleep(12)  # history for the backfill: six steps of a constant 100
    async with (
        serving(
            database_url,
            evaluation_delay=1.0,
            backfill_points=30,
            notification_interval=0.2,
            alert_resend_interval=1.0,  # each post lasts 4 s unless posted again
            external_url="http://aiops.example:8080",
        ) as server,
        connected(server) as api,
    ):
        await create_channel(api, "am", kind=Channel.KIND_ALERTMANAGER, url=alertmanager.url)
        name = await start_detector(api, prometheus_server.url)
        await until_running(api, name)
        await asyncio.sleep(2 * STEP)
        assert await asyncio.to_thread(alertmanager.alerts) == []

        exporter.value = 1000.0

        async def alerted() -> bool:
            return bool(await asyncio.to_thread(alertmanager.alerts))

        await wait_for(alerted, 3 * STEP + 2, "the alert")
        exporter.value = 100.0
        (alert,) = await asyncio.to_thread(alertmanager.alerts)
        labels = alert["labels"]
        assert labels.pop("instance").startswith("127.0.0.1:")
        assert labels == {
            "alertname": "AiopsAnomaly",
            "detector": "detectors/live",
            "severity": "critical",
            "exported_name": "live",
            "job": "exporter",
        }
        (anomaly,) = (
            await api.detectors.ListAnomalies(
                detector_service_pb2.ListAnomaliesRequest(parent=name)
            )
        ).anomalies
        anomaly_id = anomaly.name.rpartition("/")[2]
        assert alert["generatorURL"] == (
            f"http://aiops.example:8080/#/detectors/live?anomaly={anomaly_id}"
        )
        assert float(alert["annotations"]["value"]) == 1000.0
        assert float(alert["annotations"]["score"]) == pytest.approx(anomaly.peak_score, 1e-3)
        assert "expected" in alert["annotations"]
        assert alert["status"]["state"] == "active"

        async def resolved() -> bool:
            return not await asyncio.to_thread(alertmanager.alerts)

        # Closed by the detector once the series is back to normal: resolved.
        await wait_for(resolved, 10 * STEP, "resolved")
        got = await api.detectors.GetAnomaly(
            detector_service_pb2.GetAnomalyRequest(name=anomaly.name)
        )
        assert not got.active


# Anomalies arranged in the database, a webhook of the test's own.


@dataclass
class Webhook:
    """An HTTP endpoint that keeps what is posted to it; answers `status`."""

    status: int = 200
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook?team=db"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
        headers = {key.lower(): value for key, value in headers.items()}
        body = await reader.readexactly(int(headers.get("content-length", 0)))
        if self.status == 200:
            self.posts.append((headers, body))
        writer.write(
            f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    def alerts(self) -> list[dict[str, Any]]:
        return [alert for _, body in self.posts for alert in json.loads(body)["alerts"]]

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    yield hook
    await hook.stop()


@pytest.fixture
async def quick(database_url: str) -> AsyncIterator[tuple[App, Api]]:
    """A server that looks for what is due every 0.1 s, posts firing alerts again every 0.5 s
    (each lasting 2 s), and runs no detectors."""
    async with (
        serving(database_url, notification_interval=0.1, alert_resend_interval=0.5) as server,
        connected(server) as api,
    ):
        await api.data_sources.CreateDataSource(
            data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(), data_source_id="prom"
            )
        )
        await api.detectors.CreateDetector(
            detector_service_pb2.CreateDetectorRequest(
                detector=detector("dataSources/prom", query="up"), detector_id="cpu"
            )
        )
        yield server, api


async def open_anomaly(
    api: Api,
    anomaly_id: str,
    severity: str = "SEVERITY_WARNING",
    labels: dict[str, Any] | None = None,
    detector_id: str = "cpu",
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    async with api.sessions.begin() as session:
        session.add(
            AnomalyRow(
                id=anomaly_id,
                detector_id=detector_id,
                series_labels=labels or {"__name__": "up", "instance": "web-1", "severity": "page"},
                start_time=start,
                end_time=start + timedelta(minutes=4),
                peak_score=0.97,
                peak_value=1234.5,
                severity=severity,
                state="STATE_OPEN",
                active=True,
            )
        )


async def change_anomaly(api: Api, anomaly_id: str, **values: Any) -> None:
    async with api.sessions.begin() as session:
        await session.execute(
            update(AnomalyRow).where(AnomalyRow.id == anomaly_id).values(**values)
        )


@SQLITE
async def test_a_webhook_gets_each_change_once_signed(
    quick: tuple[App, Api], webhook: Webhook
) -> None:
    _, api = quick
    url = await webhook.start()
    await create_channel(api, "hook", kind=Channel.KIND_WEBHOOK, url=url, secret=SECRET)

    def posted(count: int) -> Callable[[], Awaitable[bool]]:
        async def enough() -> bool:
            return len(webhook.posts) >= count

        return enough

    await open_anomaly(api, "a1")
    await wait_for(posted(1), 10, "opened")
    headers, body = webhook.posts[0]
    assert hmac.compare_digest(headers[SIGNATURE_HEADER.lower()], signature(SECRET, body))
    assert headers[SIGNATURE_HEADER.lower()] != signature("another-secret-of-16", body)
    sent = json.loads(body)
    assert sent["channel"] == "notificationChannels/hook"
    (alert,) = sent["alerts"]
    assert alert["status"] == "firing"
    # The series' own `severity` and `__name__` kept under other names.
    assert alert["labels"] == {
        "alertname": "AiopsAnomaly",
        "detector": "detectors/cpu",
        "severity": "warning",
        "exported_severity": "page",
        "exported_name": "up",
        "instance": "web-1",
    }
    assert alert["annotations"]["value"] == "1234.5"

    await asyncio.sleep(0.5)
    assert len(webhook.posts) == 1, "told once, not at every look"

    await change_anomaly(api, "a1", severity="SEVERITY_CRITICAL")
    await wait_for(posted(2), 10, "turned critical")
    await api.detectors.UpdateAnomaly(
        detector_service_pb2.UpdateAnomalyRequest(
            anomaly=anomaly_pb2.Anomaly(
                name="detectors/cpu/anomalies/a1", state=anomaly_pb2.Anomaly.STATE_ACKNOWLEDGED
            )
        )
    )
    await wait_for(posted(3), 10, "acknowledged")
    # Turning critical is another alert (its labels differ): the warning one is resolved.
    assert [
        [(a["status"], a["labels"]["severity"]) for a in json.loads(body)["alerts"]]
        for _, body in webhook.posts
    ] == [
        [("firing", "warning")],
        [("firing", "critical"), ("resolved", "warning")],
        [("resolved", "critical")],
    ]


@SQLITE
async def test_an_anomaly_deleted_with_its_detector_is_resolved_as_it_was_sent(
    quick: tuple[App, Api], webhook: Webhook
) -> None:
    _, api = quick
    url = await webhook.start()
    await create_channel(api, "hook", kind=Channel.KIND_WEBHOOK, url=url)
    await open_anomaly(api, "a1")

    async def told() -> bool:
        return len(webhook.alerts()) == 1

    await wait_for(told, 10, "told")
    await api.detectors.DeleteDetector(
        detector_service_pb2.DeleteDetectorRequest(name="detectors/cpu")
    )

    async def resolved() -> bool:
        return len(webhook.alerts()) == 2

    await wait_for(resolved, 10, "resolved")
    firing, ended = webhook.alerts()
    assert ended["status"] == "resolved"
    assert ended["labels"] == firing["labels"] and ended["startsAt"] == firing["startsAt"]


@SQLITE
async def test_a_channel_that_is_down_is_sent_what_was_due_when_it_is_back(
    quick: tuple[App, Api], webhook: Webhook
) -> None:
    server, api = quick
    webhook.status = 503
    url = await webhook.start()
    await create_channel(api, "hook", kind=Channel.KIND_WEBHOOK, url=url)
    await create_channel(
        api,
        "pager",
        kind=Channel.KIND_WEBHOOK,
        url=url,
        min_severity=detector_pb2.SEVERITY_CRITICAL,
    )
    await open_anomaly(api, "a1")
    await open_anomaly(api, "a2")

    assert server.notifier is not None
    notifier = server.notifier

    async def refused() -> bool:
        return "hook" in notifier.stats and notifier.stats["hook"].errors >= 2

    await wait_for(refused, 10, "refused twice")
    await change_anomaly(api, "a2", active=False)  # it ends while the channel is down
    webhook.status = 200

    async def caught_up() -> bool:
        return len(webhook.alerts()) >= 1

    await wait_for(caught_up, 10, "caught up")
    await asyncio.sleep(0.5)
    # What was due then: a1 firing. a2 ended before it was ever told, so it is due nothing.
    assert [(a["status"], a["labels"]["detector"]) for a in webhook.alerts()] == [
        ("firing", "detectors/cpu")
    ]
    assert "a1" in webhook.alerts()[0]["generatorURL"]
    assert notifier.stats["hook"].notifications == 1
    assert notifier.stats["pager"].notifications == 0, "warnings are below its floor"


@SQLITE
async def test_an_alertmanager_that_was_down_gets_the_alert_when_it_is_back(
    quick: tuple[App, Api],
) -> None:
    _, api = quick
    port = free_port()
    await create_channel(api, "am", kind=Channel.KIND_ALERTMANAGER, url=f"http://127.0.0.1:{port}")
    await open_anomaly(api, "a1", severity="SEVERITY_CRITICAL")
    # Labels no Alertmanager takes as they are: no name, a number, a dot.
    await open_anomaly(api, "odd", labels={"": "x", "n": 5, "k8s.pod": "p"})
    await asyncio.sleep(1)  # refused meanwhile: nothing listens
    alertmanager = await asyncio.to_thread(AlertmanagerServer, port)
    try:

        async def alerted() -> bool:
            return bool(await asyncio.to_thread(alertmanager.alerts))

        # The backoff waits at most a few seconds after so short an outage.
        async def both() -> bool:
            return len(await asyncio.to_thread(alertmanager.alerts)) == 2

        await wait_for(both, 15, "alerted")
        alert, odd = sorted(
            await asyncio.to_thread(alertmanager.alerts), key=lambda a: a["labels"]["severity"]
        )
        assert {k: odd["labels"][k] for k in ("n", "k8s_pod")} == {"n": "5", "k8s_pod": "p"}
        await change_anomaly(api, "odd", active=False)
        await wait_for(lambda: _one(alertmanager), 10, "the odd one resolved")
        assert alert["labels"]["severity"] == "critical"
        # Kept while the anomaly lasts: posted again before each post's end.
        first_end = datetime.fromisoformat(alert["endsAt"])
        await asyncio.sleep((first_end - datetime.now(UTC)).total_seconds() + 1)
        (kept,) = await asyncio.to_thread(alertmanager.alerts)
        assert datetime.fromisoformat(kept["endsAt"]) > first_end
        assert kept["startsAt"] == alert["startsAt"]
        await change_anomaly(api, "a1", state="STATE_FALSE_POSITIVE")

        async def resolved() -> bool:
            return not await asyncio.to_thread(alertmanager.alerts)

        await wait_for(resolved, 10, "resolved")
    finally:
        await asyncio.to_thread(alertmanager.stop)


# The API.


@SQLITE
async def test_channels_are_created_listed_updated_and_deleted(api: Api) -> None:
    created = await create_channel(
        api, "hook", kind=Channel.KIND_WEBHOOK, url="https://hooks.example/x?t=1", secret=SECRET
    )
    assert created.name == "notificationChannels/hook"
    assert created.has_secret and not created.secret
    assert created.min_severity == detector_pb2.SEVERITY_WARNING
    listed = await channels(api).ListNotificationChannels(pb.ListNotificationChannelsRequest())
    assert [c.name for c in listed.notification_channels] == [created.name]

    updated = await channels(api).UpdateNotificationChannel(
        pb.UpdateNotificationChannelRequest(
            notification_channel=Channel(
                name=created.name, min_severity=detector_pb2.SEVERITY_CRITICAL
            ),
            update_mask=FieldMask(paths=["min_severity"]),
        )
    )
    assert updated.min_severity == detector_pb2.SEVERITY_CRITICAL and updated.has_secret
    stale = await failure(
        channels(api).DeleteNotificationChannel(
            pb.DeleteNotificationChannelRequest(name=created.name, etag=created.etag)
        )
    )
    assert stale.code is grpc.StatusCode.ABORTED
    await channels(api).DeleteNotificationChannel(
        pb.DeleteNotificationChannelRequest(name=created.name)
    )
    gone = await failure(
        channels(api).GetNotificationChannel(pb.GetNotificationChannelRequest(name=created.name))
    )
    assert gone.code is grpc.StatusCode.NOT_FOUND


@SQLITE
@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"url": "http://am:9093"}, "notification_channel.kind", "KIND"),
        ({"kind": Channel.KIND_WEBHOOK}, "notification_channel.url", "required"),
        ({"kind": Channel.KIND_WEBHOOK, "url": "ftp://x"}, "notification_channel.url", "http"),
        (
            {"kind": Channel.KIND_ALERTMANAGER, "url": "http://am:9093/?x=1"},
            "notification_channel.url",
            "base URL",
        ),
        (
            {"kind": Channel.KIND_ALERTMANAGER, "url": "http://am:9093", "secret": SECRET},
            "notification_channel.secret",
            "webhook",
        ),
        (
            {"kind": Channel.KIND_WEBHOOK, "url": "http://h", "secret": "short"},
            "notification_channel.secret",
            "16 to 256",
        ),
        (
            {"kind": Channel.KIND_WEBHOOK, "url": "http://h", "secret": " " * 16},
            "notification_channel.secret",
            "blank",
        ),
        (
            {"kind": Channel.KIND_WEBHOOK, "url": "http://user:pw@h/x"},
            "notification_channel.url",
            "no user or password",
        ),
        (
            {"kind": Channel.KIND_WEBHOOK, "url": "http://h/a b"},
            "notification_channel.url",
            "spaces or control characters",
        ),
        (
            {"kind": Channel.KIND_WEBHOOK, "url": "http://h/\nX: y"},
            "notification_channel.url",
            "spaces or control characters",
        ),
        (
            {"kind": Channel.KIND_WEBHOOK, "url": "http://h", "min_severity": 7},
            "notification_channel.min_severity",
            "",
        ),
        (
            {"kind": Channel.KIND_WEBHOOK, "url": "http://h", "has_secret": True},
            "notification_channel.has_secret",
            "output only",
        ),
    ],
)
async def test_a_channel_that_cannot_work_is_refused_naming_the_field(
    api: Api, fields: dict[str, Any], field: str, words: str
) -> None:
    refused = await failure(create_channel(api, "bad", **fields))
    assert refused.code is grpc.StatusCode.INVALID_ARGUMENT
    assert words.lower() in refused.violations[field].lower(), refused.violations
    listed = await channels(api).ListNotificationChannels(pb.ListNotificationChannelsRequest())
    assert list(listed.notification_channels) == [], "nothing half-made"
