import { Detector_State, Severity } from "@aiops/client";
import { describe, expect, it } from "vitest";
import { FakeAiops } from "../../utils/fakeServer";
import { FakeClock, makeTestStore, settle } from "../../utils/test-utils";
import { selectAllAnomalies } from "../anomalies/anomaliesSlice";
import { selectAllDetectors, selectDetectorByName } from "../detectors/detectorsSlice";
import { selectNotifications } from "../notifications/notificationsSlice";
import { streamStarted, streamStopped } from "./connectionSlice";
import { isChangeEvent } from "./eventActions";

/** A server with two data sources, three detectors and an anomaly: more than one page each. */
function seededServer(clock: FakeClock): FakeAiops {
  const server = new FakeAiops(clock.now);
  server.addDataSource({ name: "dataSources/prom" });
  server.addDataSource({ name: "dataSources/loki" });
  for (const id of ["a", "b", "c"]) server.addDetector({ name: `detectors/${id}` });
  server.addAnomaly({ name: "detectors/a/anomalies/old" });
  return server;
}

/** A started store over a seeded server, and the sequences of the change events it applied. */
async function liveStore(options: { heartbeatIntervalMs?: number } = {}) {
  const clock = new FakeClock();
  const server = seededServer(clock);
  server.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5_000;
  const made = makeTestStore({ server, clock });
  const applied: number[] = [];
  made.store.startListening({
    predicate: isChangeEvent,
    effect: (action) => {
      if (isChangeEvent(action)) applied.push(action.payload.sequence);
    },
  });
  made.store.dispatch(streamStarted());
  await settle();
  return { ...made, applied };
}

describe("stream manager", () => {
  it("goes live on the first heartbeat, loads every page of every list, then applies events", async () => {
    const { store, server } = await liveStore();

    const connection = store.getState().connection;
    expect(connection.status).toBe("live");
    expect(connection.loaded).toBe(true);
    expect(connection.heartbeatIntervalMs).toBe(5_000);
    // Two per page: the lists took two pages each, all read.
    expect(server.calls.filter((call) => call === "listDetectors")).toHaveLength(2);
    expect(selectAllDetectors(store.getState()).map((d) => d.name)).toEqual([
      "detectors/a",
      "detectors/b",
      "detectors/c",
    ]);
    expect(store.getState().dataSources.ids).toEqual(["dataSources/loki", "dataSources/prom"]);
    expect(server.subscribes[0].afterSequence).toBe(0n);

    server.detectorStatus("detectors/b", Detector_State.DEGRADED, "prometheus: connection refused");
    await settle();

    const b = selectDetectorByName(store.getState(), "detectors/b");
    expect(b.state).toBe(Detector_State.DEGRADED);
    expect(b.stateReason).toBe("prometheus: connection refused");
    expect(store.getState().connection.lastSequence).toBe(1);
    expect(store.getState().connection.lastEventTime).not.toBeNull();
  });

  it("holds back the events that arrive while the lists load, and applies them on top", async () => {
    const clock = new FakeClock();
    const server = seededServer(clock);
    const release = server.holdNext("listDetectors");
    const { store } = makeTestStore({ server, clock });

    store.dispatch(streamStarted());
    await settle();
    // The first page was read with every detector stopped; then detector a started.
    server.detectorStatus("detectors/a", Detector_State.RUNNING);
    await settle();
    expect(store.getState().connection.loaded).toBe(false);
    release();
    await settle();

    expect(store.getState().connection.loaded).toBe(true);
    expect(selectDetectorByName(store.getState(), "detectors/a").state).toBe(Detector_State.RUNNING);
  });

  it("reconnects with capped exponential backoff and full jitter, and says offline after a while", async () => {
    const clock = new FakeClock();
    const server = seededServer(clock);
    server.down = true;
    const { store } = makeTestStore({
      server,
      clock,
      settings: { backoffBaseMs: 500, backoffCapMs: 5_000, offlineAfterMs: 15_000 },
    });

    store.dispatch(streamStarted());
    await settle();
    const delays: number[] = [];
    const statuses: string[] = [];
    for (let attempt = 1; attempt <= 6; attempt++) {
      // The only timer waiting is the reconnect delay: random (1 here) × min(cap, base · 2^n).
      delays.push(...clock.pendingDelays());
      statuses.push(store.getState().connection.status);
      expect(server.subscribes).toHaveLength(attempt);
      await clock.advance(clock.pendingDelays()[0]);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
    // Failing since 0 ms: lost at 0, 1 s, 3 s, 7 s, 12 s, then 17 s, past the 15 s.
    expect(statuses).toEqual(["reconnecting", "reconnecting", "reconnecting", "reconnecting", "reconnecting", "offline"]);
    expect(store.getState().connection.lastError).toContain("connection refused");

    // Full jitter: the delay is drawn uniformly below the cap.
    clock.randomValue = 0.25;
    await clock.advance(clock.pendingDelays()[0]);
    expect(clock.pendingDelays()).toEqual([1_250]);

    server.start();
    await clock.advance(1_250);
    expect(store.getState().connection.status).toBe("live");
    expect(store.getState().connection.failures).toBe(0);
    expect(store.getState().connection.loaded).toBe(true);
  });

  it("keeps backing off from a server that drops each stream at once, and not after a stream that stayed up", async () => {
    const clock = new FakeClock();
    const server = seededServer(clock);
    const { store } = makeTestStore({ server, clock, settings: { backoffBaseMs: 500, backoffCapMs: 5_000 } });
    store.dispatch(streamStarted());
    await settle();

    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      server.endStreams();
      await settle();
      delays.push(...clock.pendingDelays());
      await clock.advance(clock.pendingDelays()[0]);
      expect(store.getState().connection.status).toBe("live");
    }
    expect(delays).toEqual([1_000, 2_000, 4_000]);

    // Up for a heartbeat interval (5 s): the next reconnect starts from the base again.
    await clock.advance(5_000);
    server.endStreams();
    await settle();
    expect(clock.pendingDelays()).toEqual([500]);
  });

  it("resumes after the last sequence applied: nothing missed, nothing applied twice", async () => {
    const { store, server, clock, applied } = await liveStore();
    server.detectorStatus("detectors/a", Detector_State.BACKFILLING);
    server.detectorStatus("detectors/a", Detector_State.RUNNING);
    server.addAnomaly({ name: "detectors/a/anomalies/one", severity: Severity.CRITICAL }, true);
    await settle();
    expect(applied).toEqual([1, 2, 3]);

    // The stream ends (a proxy cut it); meanwhile more happens; the server replays sloppily.
    server.endStreams();
    await settle();
    expect(store.getState().connection.status).toBe("reconnecting");
    server.detectorStatus("detectors/a", Detector_State.DEGRADED, "timeout");
    server.addAnomaly({ name: "detectors/b/anomalies/two" }, true);
    server.replayOverlap = 2;
    await clock.advance(clock.pendingDelays()[0]);

    expect(server.subscribes.map((request) => request.afterSequence)).toEqual([0n, 3n]);
    expect(applied).toEqual([1, 2, 3, 4, 5]);
    expect(selectDetectorByName(store.getState(), "detectors/a").state).toBe(Detector_State.DEGRADED);
    expect(selectAllAnomalies(store.getState()).map((a) => a.name).sort()).toEqual([
      "detectors/a/anomalies/old",
      "detectors/a/anomalies/one",
      "detectors/b/anomalies/two",
    ]);
    // Resuming needs no reload.
    expect(server.calls.filter((call) => call === "listAnomalies")).toHaveLength(1);
    expect(store.getState().connection.lastSequence).toBe(5);
  });

  it("gives up a stream whose heartbeats stop for three intervals, and opens another", async () => {
    const { store, server, clock } = await liveStore({ heartbeatIntervalMs: 1_000 });
    server.heartbeat();
    await settle();
    await clock.advance(2_999);
    expect(server.subscribes).toHaveLength(1);
    expect(store.getState().connection.status).toBe("live");

    await clock.advance(1);
    expect(store.getState().connection.status).toBe("reconnecting");
    expect(store.getState().connection.lastError).toMatch(/no heartbeat for 3 s/);
    expect(server.openStreams).toBe(0);

    await clock.advance(clock.pendingDelays()[0]);
    expect(server.subscribes).toHaveLength(2);
    expect(store.getState().connection.status).toBe("live");
  });

  it("learns the heartbeat interval from the gap between heartbeats when the server does not say it", async () => {
    const { store, server, clock } = await liveStore({ heartbeatIntervalMs: 0 });
    await clock.advance(2_000);
    server.heartbeat();
    await settle();
    expect(store.getState().connection.heartbeatIntervalMs).toBe(2_000);

    await clock.advance(5_999);
    expect(store.getState().connection.status).toBe("live");
    await clock.advance(1);
    expect(store.getState().connection.status).toBe("reconnecting");
  });

  it("reloads the lists on a reset and carries on from its sequence", async () => {
    const { store, server, clock, applied } = await liveStore();
    server.detectorStatus("detectors/a", Detector_State.BACKFILLING);
    await settle();

    server.stop();
    await settle();
    // While the tab is away, more happens than the log keeps.
    server.detectorStatus("detectors/a", Detector_State.RUNNING);
    server.addDetector({ name: "detectors/d" });
    server.addAnomaly({ name: "detectors/d/anomalies/x" }, true);
    server.detectorStatus("detectors/c", Detector_State.FAILED, "bad query");
    server.prune(3);
    server.start();
    await clock.advance(clock.pendingDelays()[0]);

    expect(server.subscribes.map((request) => request.afterSequence)).toEqual([0n, 1n]);
    expect(server.calls.filter((call) => call === "listDetectors")).toHaveLength(4);
    expect(store.getState().connection.lastSequence).toBe(4);
    expect(selectAllDetectors(store.getState()).map((d) => [d.name, d.state])).toEqual([
      ["detectors/a", Detector_State.RUNNING],
      ["detectors/b", Detector_State.STOPPED],
      ["detectors/c", Detector_State.FAILED],
      ["detectors/d", Detector_State.STOPPED],
    ]);
    expect(selectAllAnomalies(store.getState()).map((a) => a.name)).toContain("detectors/d/anomalies/x");

    server.detectorStatus("detectors/d", Detector_State.BACKFILLING);
    await settle();
    expect(applied.at(-1)).toBe(5);
    expect(selectDetectorByName(store.getState(), "detectors/d").state).toBe(Detector_State.BACKFILLING);
  });

  it("follows the server through a restart: reconnecting, then live, every anomaly of the outage once", async () => {
    const { store, server, clock } = await liveStore();
    server.addAnomaly({ name: "detectors/a/anomalies/before" }, true);
    await settle();

    server.stop();
    await settle();
    expect(store.getState().connection.status).toBe("reconnecting");
    // Refused while it is down.
    await clock.advance(clock.pendingDelays()[0]);
    await clock.advance(clock.pendingDelays()[0]);
    expect(server.subscribes.length).toBeGreaterThanOrEqual(3);
    expect(store.getState().connection.status).toBe("reconnecting");

    server.start();
    server.addAnomaly({ name: "detectors/a/anomalies/during", severity: Severity.CRITICAL }, true);
    server.addAnomaly({ name: "detectors/b/anomalies/during" }, true);
    await clock.advance(clock.pendingDelays()[0]);
    server.addAnomaly({ name: "detectors/c/anomalies/after" }, true);
    await settle();

    expect(store.getState().connection.status).toBe("live");
    expect(server.subscribes.at(-1)?.afterSequence).toBe(1n);
    const names = selectAllAnomalies(store.getState()).map((a) => a.name);
    expect(names.filter((name) => name.endsWith("/during"))).toHaveLength(2);
    expect(new Set(names).size).toBe(names.length);
    expect(selectNotifications(store.getState()).map((n) => n.name)).toEqual([
      "detectors/c/anomalies/after",
      "detectors/b/anomalies/during",
      "detectors/a/anomalies/during",
      "detectors/a/anomalies/before",
    ]);
  });

  it("replays the detectors and data sources created, changed and deleted while the stream was away", async () => {
    const { store, server, clock } = await liveStore();
    const other = server.clients();
    server.health("dataSources/prom", true);
    await settle();
    server.endStreams();
    await settle();

    await other.detectors.createDetector({ detectorId: "d", detector: { dataSource: "dataSources/prom", query: "up" } });
    await other.detectors.startDetector({ name: "detectors/d" });
    await other.detectors.deleteDetector({ name: "detectors/a" });
    await other.dataSources.updateDataSource({ dataSource: { name: "dataSources/loki", urls: ["http://loki:3100"] } });
    await other.dataSources.createDataSource({ dataSourceId: "thanos", dataSource: { urls: ["http://thanos:9090"] } });
    await clock.advance(clock.pendingDelays()[0]);

    expect(server.calls.filter((call) => call === "listDetectors")).toHaveLength(2); // no reload
    expect(selectAllDetectors(store.getState()).map((d) => [d.name, d.state, d.etag])).toEqual([
      ["detectors/b", Detector_State.STOPPED, "1"],
      ["detectors/c", Detector_State.STOPPED, "1"],
      ["detectors/d", Detector_State.BACKFILLING, "2"],
    ]);
    expect(store.getState().dataSources.ids).toEqual(["dataSources/loki", "dataSources/prom", "dataSources/thanos"]);
    expect(store.getState().dataSources.entities["dataSources/loki"]?.urls).toEqual(["http://loki:3100"]);
    expect(server.calls).not.toContain("getDetector");
    expect(server.calls).not.toContain("getDataSource");
  });

  it("loads again after a stream positioned on an empty log drops: there is nothing to resume after", async () => {
    const { store, server, clock } = await liveStore();
    server.endStreams();
    await settle();
    await server.clients().detectors.createDetector({ detectorId: "d", detector: { dataSource: "dataSources/prom", query: "up" } });
    await clock.advance(clock.pendingDelays()[0]);

    expect(server.subscribes.map((request) => request.afterSequence)).toEqual([0n, 0n]);
    expect(server.calls.filter((call) => call === "listDetectors")).toHaveLength(4);
    expect(selectDetectorByName(store.getState(), "detectors/d")).toBeDefined();
  });

  it("fetches a detector or data source it does not know when an event of it comes without a change event", async () => {
    // Made by a server older than change events (replayed after an upgrade, or from an older
    // replica): its status or health event is all there is.
    const { store, server } = await liveStore();
    server.addDetector({ name: "detectors/made-elsewhere", state: Detector_State.BACKFILLING });
    server.detectorStatus("detectors/made-elsewhere", Detector_State.BACKFILLING);
    server.addDataSource({ name: "dataSources/made-elsewhere" });
    server.health("dataSources/made-elsewhere", true);
    await settle();

    expect(server.calls).toContain("getDetector");
    expect(selectDetectorByName(store.getState(), "detectors/made-elsewhere")?.state).toBe(
      Detector_State.BACKFILLING,
    );
    expect(store.getState().dataSources.entities["dataSources/made-elsewhere"]).toBeDefined();
  });

  it("fetches nothing for a status event of a detector an event deleted", async () => {
    const { store, server } = await liveStore();
    await server.clients().detectors.deleteDetector({ name: "detectors/a" });
    server.detectorStatus("detectors/a", Detector_State.STOPPED); // a runner that raced the delete
    await settle();

    expect(server.calls).not.toContain("getDetector");
    expect(selectDetectorByName(store.getState(), "detectors/a")).toBeUndefined();
  });

  it("closes the stream on streamStopped and opens one again on streamStarted", async () => {
    const { store, server, clock } = await liveStore();
    store.dispatch(streamStarted()); // a second start while running changes nothing
    await settle();
    expect(server.openStreams).toBe(1);

    store.dispatch(streamStopped());
    await settle();
    expect(server.openStreams).toBe(0);
    await clock.advance(60_000);
    expect(server.subscribes).toHaveLength(1);

    store.dispatch(streamStarted());
    await settle();
    expect(server.openStreams).toBe(1);
    expect(server.subscribes).toHaveLength(2);
  });
});
