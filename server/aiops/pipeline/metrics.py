"""aiops' own metrics for /metrics (aiops.metrics), read at scrape time from what the server
keeps anyway (the bus, the workers' reports, the detectors' recent scores, the event log's
retention, the data sources' clients), with no per-series labels: streams, events, detectors,
anomalies, data sources. And the scores written back: the latest score, expected value and band
of each series of the detectors that ask for it (export_scores), with the series' labels, as
vmanomaly writes its output back, so that PromQL graphs and alerts on them. Read from the
scrape's thread: each source is copied in one step before it is read."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from aiops.detectors.recent import FIELDS, RecentScoresRegistry
from aiops.events.bus import Bus
from aiops.events.retention import Retention
from aiops.pipeline.status import Workers
from aiops.sources.clients import SourceClients

if TYPE_CHECKING:  # it builds its alerts' labels with exposed_labels, from here
    from aiops.pipeline.notifications import Notifier

# The scores written back, by the ring's field they come from.
EXPORTED = {
    "scores": ("aiops_anomaly_score", "The latest anomaly score of the series, 0 to 1."),
    "expected": ("aiops_expected_value", "The value the detector expected, in the series' unit."),
    "lower": ("aiops_expected_lower", "The lower edge of the band of normal values."),
    "upper": ("aiops_expected_upper", "The upper edge of the band of normal values."),
}
INVALID_LABEL_CHARACTERS = re.compile(r"[^a-zA-Z0-9_]")


class ServerCollector:
    def __init__(
        self,
        bus: Bus,
        recent: RecentScoresRegistry,
        retention: Retention,
        clients: SourceClients,
        workers: Workers | None = None,
        score_series_limit: int = 10_000,
        notifier: Notifier | None = None,
    ) -> None:
        self.bus = bus
        self.recent = recent
        self.retention = retention
        self.clients = clients
        self.workers = workers
        self.score_series_limit = score_series_limit
        self.notifier = notifier
        self._dropped = 0  # series the limit left out, summed over scrapes
        self._dropping = threading.Lock()  # scrapes may run at once

    def collect(self) -> Iterator[Metric]:
        yield from self._streams()
        yield from self._event_log()
        yield from self._detectors()
        yield from self._anomalies()
        yield from self._data_sources()
        yield from self._notifications()
        yield from self._scores()

    def _streams(self) -> Iterator[Metric]:
        workers = self.workers
        streams, cut_streams, cut_events = self.bus.open_streams, 0, 0
        if workers is not None:
            streams += workers.open_streams
            cut_streams, cut_events = workers.cut_offs
        yield GaugeMetricFamily(
            "aiops_subscribe_streams", "Subscribe streams open, in every serving process.", streams
        )
        yield CounterMetricFamily(
            "aiops_events_published",
            "Events stored in the event log and published to the streams.",
            self.bus.events_delivered,
        )
        yield CounterMetricFamily(
            "aiops_streams_cut_off",
            "Streams ended for falling behind (stream_buffer events waiting); they resume.",
            self.bus.cut_offs.streams + cut_streams,
        )
        yield CounterMetricFamily(
            "aiops_stream_events_dropped",
            "Events the streams cut off had waiting or were offered (read again on resuming).",
            self.bus.cut_offs.events + cut_events,
        )

    def _event_log(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "aiops_event_log_events",
            "Events the event log holds (streams resume from them), as of its last pruning.",
            self.retention.size,
        )
        yield CounterMetricFamily(
            "aiops_event_log_pruned_events",
            "Events pruned from the event log (beyond its count or age).",
            self.retention.pruned,
        )

    def _detectors(self) -> Iterator[Metric]:
        lag = GaugeMetricFamily(
            "aiops_detector_lag_seconds",
            "How far a running detector's latest scored point is behind now.",
            labels=["detector"],
        )
        step = GaugeMetricFamily(
            "aiops_detector_step_seconds",
            "How long a running detector's last step took (fetch, score, store).",
            labels=["detector"],
        )
        series = GaugeMetricFamily(
            "aiops_detector_series", "Series a running detector scores.", labels=["detector"]
        )
        now = time.time()
        for detector_id, ring in self.recent.items():
            if not ring.running:
                continue
            name = [f"detectors/{detector_id}"]
            lag.add_metric(name, ring.lag(now))
            step.add_metric(name, ring.step_seconds)
            series.add_metric(name, len(ring.labels))
        yield from (lag, step, series)

    def _anomalies(self) -> Iterator[Metric]:
        opened = CounterMetricFamily(
            "aiops_anomalies_opened",
            "Anomalies this process's detectors opened, by their severity when opened.",
            labels=["severity"],
        )
        counts = dict(self.recent.anomalies_opened)
        for severity in ("SEVERITY_WARNING", "SEVERITY_CRITICAL"):  # both, from zero
            opened.add_metric([severity_label(severity)], counts.get(severity, 0))
        yield opened

    def _data_sources(self) -> Iterator[Metric]:
        seconds = SummaryMetricFamily(
            "aiops_data_source_request_seconds",
            "Requests to each data source (retries and failover inside one), and their seconds.",
            labels=["data_source"],
        )
        errors = CounterMetricFamily(
            "aiops_data_source_request_errors",
            "Requests to each data source that failed.",
            labels=["data_source"],
        )
        for data_source_id, stats in sorted(self.clients.stats().items()):
            name = [f"dataSources/{data_source_id}"]
            seconds.add_metric(name, count_value=stats.requests, sum_value=stats.seconds)
            errors.add_metric(name, stats.errors)
        yield from (seconds, errors)

    def _notifications(self) -> Iterator[Metric]:
        sent = CounterMetricFamily(
            "aiops_notifications_sent",
            "Alerts each notification channel took (firing, again while firing, resolved).",
            labels=["channel"],
        )
        errors = CounterMetricFamily(
            "aiops_notification_errors",
            "Requests to each notification channel that failed (what was due is sent again).",
            labels=["channel"],
        )
        stats = self.notifier.stats if self.notifier is not None else {}
        for channel_id, counts in sorted(stats.items()):
            name = [f"notificationChannels/{channel_id}"]
            sent.add_metric(name, counts.notifications)
            errors.add_metric(name, counts.errors)
        yield from (sent, errors)

    def _scores(self) -> Iterator[Metric]:
        families = {
            field: GaugeMetricFamily(name, help) for field, (name, help) in EXPORTED.items()
        }
        rows = {field: FIELDS.index(field) for field in EXPORTED}
        exported: set[frozenset[tuple[str, str]]] = set()
        dropped = 0
        for detector_id, ring in self.recent.items():
            if not ring.running or not ring.exported:
                continue
            labels, (_, points) = ring.labels, ring.latest_points()
            for row, series in enumerate(labels[: points.shape[1]]):
                if math.isnan(points[rows["scores"], row]):
                    continue  # no point at the latest time: a series that went away
                exposed = exposed_labels(series, {"detector": f"detectors/{detector_id}"})
                key = frozenset(exposed.items())
                if len(exported) >= self.score_series_limit or key in exported:
                    dropped += 1
                    continue
                exported.add(key)
                for field, family in families.items():
                    value = float(points[rows[field], row])
                    if not math.isnan(value):
                        family.add_sample(family.name, exposed, value)
        with self._dropping:
            self._dropped += dropped
            total = self._dropped
        yield from families.values()
        yield CounterMetricFamily(
            "aiops_score_series_dropped",
            "Series whose scores a scrape left out (over score_series_limit, or their labels "
            "the same as another's once renamed), summed over scrapes.",
            total,
        )


def severity_label(severity: str) -> str:
    """A severity's name (SEVERITY_CRITICAL) as a label value, as Alertmanager's are: critical."""
    return severity.removeprefix("SEVERITY_").lower()


def exposed_labels(series: dict[str, str], own: dict[str, str]) -> dict[str, str]:
    """A series' labels with aiops' `own` (`detector`, ...), as /metrics and alerts show them:
    a series label named as one of `own` or reserved by Prometheus (`__name__`) is kept as
    `exported_<name>` (as Prometheus renames a target's clashing labels); characters a label
    name cannot have become `_`; a label with no name is left out, and values are strings."""
    exposed = {}
    for name, value in series.items():
        name = INVALID_LABEL_CHARACTERS.sub("_", str(name))
        if not name.strip("_"):
            continue
        if name in own or name.startswith("__") or name[:1].isdigit():
            name = "exported_" + name.strip("_")
        exposed[name] = str(value)
    return exposed | own
