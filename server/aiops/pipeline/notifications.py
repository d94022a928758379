"""Sends anomalies to the notification channels: to an Alertmanager as alerts (its v2 API),
to a webhook as signed JSON.

What is due is worked out from the database on every poll, not from events seen in passing:
a channel is due a *firing* alert for every open, active anomaly at or above its severity, and
a *resolved* one for every alert it was told is firing whose anomaly no longer is (it ended,
was acknowledged or marked a false positive, turned critical: another alert, or went with its
detector). What a channel was told is stored, alert and all, only once it took it
(`notified_anomalies`), so that it is resolved as it was sent, and a channel that is down loses
nothing: it is sent what is due when it answers again, with capped exponential backoff in
between. The sending runs in a task of its own with a timeout per request, so a slow channel
never holds up a detector.

An Alertmanager is sent each change at once and, every `resend_interval`, every firing alert
again with `endsAt` four intervals ahead (as Prometheus does), so that it keeps them while they
last and lets them expire if aiops goes away. A webhook is sent the changes only: an anomaly that
starts firing (or turns critical), and one resolved."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiops.detectors.recent import FIELDS, RecentScoresRegistry
from aiops.pipeline.metrics import exposed_labels, severity_label
from aiops.pipeline.tracking import NO_DATA
from aiops.retry import full_jitter
from aiops.sources.matrix import series_key
from aiops.store.models import AnomalyRow, NotificationChannelRow, NotifiedAnomalyRow
from aiops_api.v1 import detector_pb2

log = logging.getLogger(__name__)

ALERTNAME = "AiopsAnomaly"
SIGNATURE_HEADER = "X-Aiops-Signature"
REQUEST_TIMEOUT = 10.0  # seconds
BACKOFF_FIRST, BACKOFF_CAP = 1.0, 300.0  # seconds


@dataclass
class ChannelStats:
    """What one channel was sent since start (for /metrics)."""

    notifications: int = 0  # alerts in requests it took
    errors: int = 0  # requests it did not take


def signature(secret: str, body: bytes) -> str:
    """The `X-Aiops-Signature` of `body`: "sha256=" and the hex HMAC-SHA256 under `secret`
    (as GitHub signs its webhooks). A receiver recomputes it over the raw body and compares in
    constant time."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        recent: RecentScoresRegistry,
        external_url: str,
        poll_interval: float = 2.0,
        resend_interval: float = 60.0,
    ) -> None:
        self.sessions = sessions
        self.recent = recent
        self.external_url = external_url.rstrip("/")
        self.poll_interval = poll_interval
        self.resend_interval = resend_interval
        self.stats: dict[str, ChannelStats] = {}  # by channel id
        self._failures: dict[str, int] = {}  # consecutive, by channel id
        self._retry_at: dict[str, float] = {}  # monotonic
        self._resent_at: dict[str, float] = {}  # monotonic, Alertmanagers'
        self._http = httpx.AsyncClient(timeout=REQUEST_TIMEOUT, trust_env=False)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._notify_forever(), name="notifications")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._http.aclose()

    async def _notify_forever(self) -> None:
        while True:
            try:
                await self.notify()
            except Exception:  # the database may be away for a moment: try again
                log.exception("notifications: cannot read what is due")
            await asyncio.sleep(self.poll_interval)

    async def notify(self) -> None:
        """Sends every channel what is due to it (those backing off wait their turn)."""
        async with self.sessions() as session:
            channels = list(await session.scalars(select(NotificationChannelRow)))
            if not channels:
                self.stats = {}
                return
            firing = list(
                await session.scalars(
                    select(AnomalyRow).where(AnomalyRow.active, AnomalyRow.state == "STATE_OPEN")
                )
            )
            told: dict[str, dict[str, NotifiedAnomalyRow]] = {}
            for row in await session.scalars(select(NotifiedAnomalyRow)):
                told.setdefault(row.channel_id, {})[row.anomaly_id] = row
        self.stats = {
            channel.id: self.stats.get(channel.id, ChannelStats()) for channel in channels
        }
        now = time.monotonic()
        for channel in channels:
            if now >= self._retry_at.get(channel.id, 0.0):
                await self._notify(channel, firing, told.get(channel.id, {}))

    async def _notify(
        self,
        channel: NotificationChannelRow,
        firing: list[AnomalyRow],
        told: dict[str, NotifiedAnomalyRow],
    ) -> None:
        """`told`: what the channel was told is firing, by anomaly id: the alert as sent."""
        floor = _rank(channel.min_severity)
        due = [a for a in firing if _rank(a.severity) >= floor]
        due_ids = {anomaly.id for anomaly in due}
        # Firing news: an anomaly it was not told of, or one that turned critical (its alert
        # has other labels: the old one is resolved).
        news = [
            a for a in due if a.id not in told or _rank(a.severity) > _rank(told[a.id].severity)
        ]
        ended = [a for a in told if a not in due_ids]  # ended, acknowledged, deleted, ...
        replaced = [a.id for a in news if a.id in told]
        alertmanager = channel.kind == "KIND_ALERTMANAGER"
        resend = alertmanager and (
            time.monotonic() - self._resent_at.get(channel.id, -math.inf) >= self.resend_interval
        )
        new_alerts = {a.id: self._alert(a) for a in news}
        # An Alertmanager hears every firing alert again now and then, as it was first sent.
        again = [
            {**self._alert(a), "labels": told[a.id].alert["labels"]}
            for a in due
            if resend and a.id not in new_alerts
        ]
        alerts = [
            *new_alerts.values(),
            *again,
            *(_resolved(told[a].alert) for a in [*ended, *replaced]),
        ]
        if alerts:
            try:
                await self._post(channel, alerts)
            except Exception as error:  # refused, unreachable, timed out: the next look retries
                self._failed(channel, error)
                return
            self.stats[channel.id].notifications += len(alerts)
        if resend:
            self._resent_at[channel.id] = time.monotonic()
        self._failures.pop(channel.id, None)
        if news or ended:
            await self._remember(channel.id, news, new_alerts, ended)

    async def _post(self, channel: NotificationChannelRow, alerts: list[dict[str, Any]]) -> None:
        if channel.kind == "KIND_ALERTMANAGER":
            # Alertmanager's own shape: no `status`, endsAt says it.
            shaped = [{k: v for k, v in alert.items() if k != "status"} for alert in alerts]
            response = await self._http.post(
                f"{channel.url.rstrip('/')}/api/v2/alerts", json=shaped
            )
        else:
            body = json.dumps(
                {"version": "1", "channel": f"notificationChannels/{channel.id}", "alerts": alerts}
            ).encode()
            headers = {"Content-Type": "application/json"}
            if channel.secret:
                headers[SIGNATURE_HEADER] = signature(channel.secret, body)
            response = await self._http.post(channel.url, content=body, headers=headers)
        if response.is_error:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")

    def _failed(self, channel: NotificationChannelRow, error: Exception) -> None:
        retries = self._failures.get(channel.id, 0)
        self._failures[channel.id] = retries + 1
        wait = max(self.poll_interval, full_jitter(retries, BACKOFF_FIRST, BACKOFF_CAP))
        self._retry_at[channel.id] = time.monotonic() + wait
        self.stats[channel.id].errors += 1
        log.warning(
            "notification channel failed, trying again in %.0fs: %s",
            wait,
            error,
            extra={"channel": f"notificationChannels/{channel.id}"},
        )

    async def _remember(
        self,
        channel_id: str,
        news: list[AnomalyRow],
        alerts: dict[str, dict[str, Any]],
        ended: list[str],
    ) -> None:
        """What the channel now knows: the alerts it was told are firing (to resolve them as
        sent, even once their anomaly is gone); none of those it was told are resolved."""
        async with self.sessions.begin() as session:
            if ended:
                await session.execute(
                    delete(NotifiedAnomalyRow).where(
                        NotifiedAnomalyRow.channel_id == channel_id,
                        NotifiedAnomalyRow.anomaly_id.in_(ended),
                    )
                )
            for anomaly in news:
                await session.merge(
                    NotifiedAnomalyRow(
                        channel_id=channel_id,
                        anomaly_id=anomaly.id,
                        severity=anomaly.severity,
                        alert=alerts[anomaly.id],
                    )
                )

    def _alert(self, anomaly: AnomalyRow) -> dict[str, Any]:
        """An anomaly as a firing Alertmanager alert (a webhook gets the same, with `status`)."""
        detector = f"detectors/{anomaly.detector_id}"
        labels = exposed_labels(
            anomaly.series_labels,
            {
                "alertname": ALERTNAME,
                "detector": detector,
                "severity": severity_label(anomaly.severity),
            },
        )
        what = "no data" if anomaly.kind == NO_DATA else "anomaly"
        annotations = {
            "summary": f"{detector}: {what} since {_iso(anomaly.start_time)}",
            "score": f"{anomaly.peak_score:.4g}",
            "value": f"{anomaly.peak_value:.6g}",
        }
        expected = self._expected(anomaly)
        if expected is not None:
            annotations["expected"] = f"{expected:.6g}"
        # Ahead, for Alertmanager to keep it until the next resend and some.
        ends = time.time() + 4 * self.resend_interval
        return {
            "status": "firing",
            "labels": labels,
            "annotations": annotations,
            "startsAt": _iso(anomaly.start_time),
            "endsAt": _iso(datetime.fromtimestamp(ends, UTC)),
            # The UI's (hash-routed) page of its detector, which lists its anomalies.
            "generatorURL": (
                f"{self.external_url}/#/detectors/{anomaly.detector_id}?anomaly={anomaly.id}"
            ),
        }

    def _expected(self, anomaly: AnomalyRow) -> float | None:
        """The value its detector expected at the anomaly's last point, while it is in memory."""
        ring = self.recent.get(anomaly.detector_id)
        row = ring.keys.get(series_key(anomaly.series_labels)) if ring is not None else None
        if ring is None or row is None or anomaly.end_time is None:
            return None
        end = int(anomaly.end_time.timestamp())
        window = ring.window(row, end, end)
        if window is None:
            return None
        value = float(window.points[FIELDS.index("expected"), 0])
        return None if math.isnan(value) else value


def _resolved(alert: dict[str, Any]) -> dict[str, Any]:
    """The alert as it was sent firing, resolved now: the same labels, so the same alert."""
    return {**alert, "status": "resolved", "endsAt": _iso(datetime.now(UTC))}


def _rank(severity: str) -> int:
    """A severity's name as its place in the enum's order (WARNING < CRITICAL)."""
    return detector_pb2.Severity.Value(severity)


def _iso(moment: datetime) -> str:
    """RFC 3339, as Alertmanager reads it (stored times are aware, in UTC)."""
    return moment.isoformat()
