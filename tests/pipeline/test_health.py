"""The health probe turns each change of a data source's reachability into one event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest

from aiops.app import App
from aiops.health import HealthCheck, HealthHistory
from aiops.pipeline.health import HealthProbe
from aiops.store.database import session_factory
from aiops_api.v1 import data_source_service_pb2
from tests.conftest import connected, serving
from tests.postgres import free_port
from tests.prometheus import PrometheusServer
from tests.rpc import failure, prometheus


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[App]:
    async with serving(database_url, run_detectors=False) as running:
        yield running


async def test_each_change_of_reachability_is_one_event(server: App) -> None:
    target = PrometheusServer()
    dead = f"http://127.0.0.1:{free_port()}"
    try:
        async with connected(server) as api:
            for source_id, url in (("up", target.url), ("down", dead)):
                await api.data_sources.CreateDataSource(
                    data_source_service_pb2.CreateDataSourceRequest(
                        data_source=prometheus(urls=[url]), data_source_id=source_id
                    )
                )
        probe = HealthProbe(session_factory(server.engine), server.clients, server.bus, interval=60)
        with server.bus.subscribe() as published:
            first = await probe.probe()
            again = await probe.probe()
            target.kill()
            lost = await probe.probe()
            target.start()
            back = await probe.probe()
            assert len(published.events) == len(first) + len(lost) + len(back)
    finally:
        target.stop()

    health = {e.data_source_health.data_source: e.data_source_health for e in first}
    assert health["dataSources/up"].reachable and health["dataSources/up"].url == target.url
    assert not health["dataSources/down"].reachable and dead in health["dataSources/down"].error
    assert again == [], "no change, no event"
    assert [(e.data_source_health.data_source, e.data_source_health.reachable) for e in lost] == [
        ("dataSources/up", False)
    ]
    assert [(e.data_source_health.data_source, e.data_source_health.reachable) for e in back] == [
        ("dataSources/up", True)
    ]
    sequences = [e.sequence for e in [*first, *lost, *back]]
    assert sequences == sorted(sequences) and len(set(sequences)) == 4


async def test_the_checks_are_kept_and_listed_newest_first(server: App) -> None:
    target = PrometheusServer()
    try:
        async with connected(server) as api:
            await api.data_sources.CreateDataSource(
                data_source_service_pb2.CreateDataSourceRequest(
                    data_source=prometheus(urls=[target.url]), data_source_id="up"
                )
            )
            probe = HealthProbe(
                session_factory(server.engine),
                server.clients,
                server.bus,
                interval=60,
                history=server.health_probe.history,
            )
            await probe.probe()
            target.kill()
            await probe.probe()
            await probe.probe()
            listed = await api.data_sources.ListHealthChecks(
                data_source_service_pb2.ListHealthChecksRequest(
                    parent="dataSources/up", page_size=2
                )
            )
            rest = await api.data_sources.ListHealthChecks(
                data_source_service_pb2.ListHealthChecksRequest(
                    parent="dataSources/up", page_size=2, page_token=listed.next_page_token
                )
            )
            missing = await failure(
                api.data_sources.ListHealthChecks(
                    data_source_service_pb2.ListHealthChecksRequest(parent="dataSources/nope")
                )
            )
            bad = await failure(
                api.data_sources.ListHealthChecks(
                    data_source_service_pb2.ListHealthChecksRequest(parent="up")
                )
            )
    finally:
        target.stop()

    checks = [*listed.health_checks, *rest.health_checks]
    assert [c.reachable for c in checks] == [False, False, True]
    assert rest.next_page_token == ""
    times = [c.time.ToNanoseconds() for c in checks]
    assert times == sorted(times, reverse=True)
    assert checks[2].url == target.url and checks[2].latency.ToNanoseconds() > 0
    assert checks[0].error and checks[0].url == ""
    assert missing.code == grpc.StatusCode.NOT_FOUND
    assert bad.violations.keys() == {"parent"}


def test_the_history_is_bounded_and_forgets_deleted_data_sources() -> None:
    history = HealthHistory(kept=3)
    made, made_again = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    for second in range(5):
        check = HealthCheck(reachable=True)
        check.time.FromSeconds(second)
        history.add("a", made, check)
    history.add("b", made, HealthCheck())
    assert [c.time.seconds for c in history.newest_first("a", made)] == [4, 3, 2]
    history.keep_only({"a"})
    assert history.ids() == {"a"} and history.newest_first("b", made) == []
    # Deleted and made again under its id, between two probes: none of the old one's checks.
    assert history.newest_first("a", made_again) == []
    history.add("a", made_again, HealthCheck(reachable=False))
    assert [c.reachable for c in history.newest_first("a", made_again)] == [False]


async def test_a_data_source_made_again_under_its_id_is_asked_and_checked_afresh(
    server: App,
) -> None:
    """Its client and its checks are the new one's, though its revision starts at 1 again;
    a deleted data source's client is closed and leaves the server's status."""
    old, new = PrometheusServer(), PrometheusServer()
    try:
        async with connected(server) as api:
            create = data_source_service_pb2.CreateDataSourceRequest(
                data_source=prometheus(urls=[old.url]), data_source_id="flip"
            )
            await api.data_sources.CreateDataSource(create)
            probe = HealthProbe(
                session_factory(server.engine),
                server.clients,
                server.bus,
                interval=60,
                history=server.health_probe.history,
            )
            await probe.probe()
            await api.data_sources.DeleteDataSource(
                data_source_service_pb2.DeleteDataSourceRequest(name="dataSources/flip")
            )
            create.data_source.urls[:] = [new.url]
            await api.data_sources.CreateDataSource(create)
            checked = await api.data_sources.CheckDataSource(
                data_source_service_pb2.CheckDataSourceRequest(name="dataSources/flip")
            )
            listed = await api.data_sources.ListHealthChecks(
                data_source_service_pb2.ListHealthChecksRequest(parent="dataSources/flip")
            )
            assert checked.url == new.url
            assert list(listed.health_checks) == []
            await probe.probe()
            listed = await api.data_sources.ListHealthChecks(
                data_source_service_pb2.ListHealthChecksRequest(parent="dataSources/flip")
            )
            assert [c.url for c in listed.health_checks] == [new.url]

            await api.data_sources.DeleteDataSource(
                data_source_service_pb2.DeleteDataSourceRequest(name="dataSources/flip")
            )
            await probe.probe()
            assert server.clients.stats() == {}
    finally:
        old.stop()
        new.stop()
