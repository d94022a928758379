"""The scores written back on /metrics (aiops.pipeline.metrics): each exporting detector's
latest score, expected value and band per series, with the series' labels (renamed where they
clash), bounded by a cap whose cuts are counted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np
import pytest
from prometheus_client import generate_latest
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiops.detectors.recent import RecentScoresRegistry
from aiops.events.bus import Bus
from aiops.events.retention import Retention
from aiops.metrics import registry_of
from aiops.pipeline.metrics import ServerCollector
from aiops.sources.clients import SourceClients
from tests.test_metrics import Samples, sample, samples


def ring_registry(*detectors: tuple[str, bool, list[dict[str, str]]]) -> RecentScoresRegistry:
    """Running detectors, each with whether it exports and its series, whose latest point in
    row i is value 10 i, score i / 10, expected 10 i - 1, band 10 i - 2 to 10 i + 2."""
    registry = RecentScoresRegistry(capacity=4)
    for detector_id, exported, series in detectors:
        ring = registry.fresh(detector_id, step=60)
        ring.running, ring.exported = True, exported
        rows = np.arange(len(series), dtype=float)[:, None]
        ring.record(series, 600, 10 * rows, rows / 10, 10 * rows - 1, 10 * rows - 2, 10 * rows + 2)
    return registry


def collected(registry: RecentScoresRegistry, limit: int) -> Callable[[], Samples]:
    """A scrape of a collector over `registry` with `limit` exported series, each time anew."""
    collector = ServerCollector(
        Bus(),
        registry,
        Retention(async_sessionmaker(), 1, timedelta(days=1)),
        SourceClients(),
        None,
        limit,
    )
    exposition = registry_of(collector)
    return lambda: samples(generate_latest(exposition).decode())


def test_the_scores_are_written_back_with_their_series_labels() -> None:
    registry = ring_registry(
        ("cpu", True, [{"__name__": "cpu", "instance": "a"}, {"detector": "x", "instance": "b"}]),
        ("quiet", False, [{"instance": "c"}]),
    )
    seen = collected(registry, limit=100)()
    first = {"exported_name": "cpu", "instance": "a", "detector": "detectors/cpu"}
    second = {"exported_detector": "x", "instance": "b", "detector": "detectors/cpu"}
    assert seen[sample("aiops_anomaly_score", **first)] == 0
    assert seen[sample("aiops_anomaly_score", **second)] == pytest.approx(0.1)
    assert seen[sample("aiops_expected_value", **second)] == 9
    assert seen[sample("aiops_expected_lower", **second)] == 8
    assert seen[sample("aiops_expected_upper", **second)] == 12
    scored = [labels for name, labels in seen if name == "aiops_anomaly_score"]
    assert len(scored) == 2, "a detector without export_scores exports nothing"
    assert seen[sample("aiops_score_series_dropped_total")] == 0


def test_the_cap_on_exported_series_counts_what_it_left_out() -> None:
    series = [{"instance": str(i)} for i in range(5)]
    scrape_again = collected(ring_registry(("cpu", True, series)), limit=3)
    seen = scrape_again()
    scored = {dict(labels)["instance"] for name, labels in seen if name == "aiops_anomaly_score"}
    assert scored == {"0", "1", "2"}
    assert seen[sample("aiops_score_series_dropped_total")] == 2
    assert scrape_again()[sample("aiops_score_series_dropped_total")] == 4  # per scrape


def test_series_whose_renamed_labels_clash_are_exported_once() -> None:
    series = [{"__name__": "up", "job": "a"}, {"exported_name": "up", "job": "a"}]
    seen = collected(ring_registry(("up", True, series)), limit=100)()
    scored = [labels for name, labels in seen if name == "aiops_anomaly_score"]
    assert scored == [
        frozenset({"exported_name": "up", "job": "a", "detector": "detectors/up"}.items())
    ]
    assert seen[sample("aiops_score_series_dropped_total")] == 1
