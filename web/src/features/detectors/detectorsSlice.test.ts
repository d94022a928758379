import { Code, Detector_State, Direction } from "@aiops/client";
import { describe, expect, it } from "vitest";
import { serverError } from "../../utils/fakeServer";
import { FakeClock, settle, startedStore } from "../../utils/test-utils";
import { FakeAiops } from "../../utils/fakeServer";
import {
  createDetector,
  deleteDetector,
  selectAllDetectors,
  selectDetectorByName,
  selectDetectorError,
  selectDetectorPending,
  startDetector,
  stopDetector,
  updateDetector,
} from "./detectorsSlice";
import type { DetectorSpec } from "./model";

function server(clock = new FakeClock()) {
  const fake = new FakeAiops(clock.now);
  fake.addDataSource({ name: "dataSources/prom" });
  fake.addDetector({ name: "detectors/api", query: "rate(http_requests_total[5m])" });
  fake.addDetector({ name: "detectors/db", state: Detector_State.RUNNING });
  return { fake, clock };
}

const spec: DetectorSpec = {
  displayName: "API errors",
  description: "",
  dataSource: "dataSources/prom",
  query: "sum(rate(errors_total[5m]))",
  stepSeconds: 30,
  algorithm: { kind: "robust_z_score", params: { window: 120 } },
  direction: Direction.UP,
  minDeviation: 0.5,
  warning: null,
  critical: 0.995,
};

describe("detectors slice", () => {
  it("keeps detectors by name and updates only the one an event is about, in place", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const before = store.getState().detectors;

    fake.detectorStatus("detectors/db", Detector_State.DEGRADED, "prometheus: timeout");
    await settle();

    const after = store.getState().detectors;
    expect(after.ids).toBe(before.ids);
    expect(after.entities["detectors/api"]).toBe(before.entities["detectors/api"]);
    expect(after.entities["detectors/db"]).toMatchObject({
      state: Detector_State.DEGRADED,
      stateReason: "prometheus: timeout",
      query: "up",
    });
  });

  it("shows a start at once and rolls it back, with the server's message, when the server refuses", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    fake.failNext("startDetector", serverError(Code.FailedPrecondition, "data source dataSources/prom is gone"));

    const started = store.dispatch(startDetector("detectors/api"));
    expect(selectDetectorByName(store.getState(), "detectors/api").state).toBe(Detector_State.BACKFILLING);
    expect(selectDetectorPending(store.getState(), "detectors/api")).toBe("starting");
    await started;

    expect(selectDetectorByName(store.getState(), "detectors/api").state).toBe(Detector_State.STOPPED);
    expect(selectDetectorPending(store.getState(), "detectors/api")).toBeUndefined();
    expect(selectDetectorError(store.getState(), "detectors/api")).toMatchObject({
      message: "data source dataSources/prom is gone",
      code: "FailedPrecondition",
    });
  });

  it("rolls a failed stop back to what the stream confirmed meanwhile, not to the state before", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const fail = fake.holdNext("stopDetector");

    const stopping = store.dispatch(stopDetector("detectors/db"));
    await settle();
    // The pipeline reports the detector DEGRADED while the stop is in flight...
    fake.detectorStatus("detectors/db", Detector_State.DEGRADED, "timeout");
    await settle();
    // ...under the stop, which still shows until the server answers.
    expect(selectDetectorByName(store.getState(), "detectors/db").state).toBe(Detector_State.STOPPED);
    fail(serverError(Code.Unavailable, "the event bus is unreachable", { reason: "EVENT_BUS_UNAVAILABLE" }));
    await stopping;

    expect(selectDetectorByName(store.getState(), "detectors/db")).toMatchObject({
      state: Detector_State.DEGRADED,
      stateReason: "timeout",
    });
    expect(selectDetectorError(store.getState(), "detectors/db")?.message).toBe("the event bus is unreachable");
  });

  it("lets the stream's state win over an answer that arrives after it", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const release = fake.holdNext("startDetector");

    const starting = store.dispatch(startDetector("detectors/api"));
    await settle();
    // The server stored BACKFILLING (its event is here), then the pipeline went RUNNING; the
    // answer, BACKFILLING, comes last.
    fake.detectorStatus("detectors/api", Detector_State.RUNNING);
    await settle();
    release();
    await starting;

    expect(selectDetectorByName(store.getState(), "detectors/api").state).toBe(Detector_State.RUNNING);
  });

  it("shows a new detector at once and takes it away with the field violations when the server refuses", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });

    const creating = store.dispatch(createDetector({ id: "bad", spec: { ...spec, query: "" } }));
    expect(selectDetectorByName(store.getState(), "detectors/bad")).toMatchObject({
      state: Detector_State.STOPPED,
      displayName: "API errors",
    });
    const result = await creating;

    expect(selectDetectorByName(store.getState(), "detectors/bad")).toBeUndefined();
    expect(result.payload).toMatchObject({
      code: "InvalidArgument",
      reason: "INVALID_ARGUMENT",
      fields: { "detector.query": "required: a PromQL or LogQL query" },
    });
  });

  it("names a detector created without an id provisionally, then by the server's name", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });

    const creating = store.dispatch(createDetector({ id: "", spec }));
    const names = () => selectAllDetectors(store.getState()).map((d) => d.name);
    expect(names().filter((name) => name.startsWith("detectors/~new-"))).toHaveLength(1);
    await creating;

    expect(names()).toEqual(["detectors/api", "detectors/db", "detectors/generated-3"]);
    expect(selectDetectorByName(store.getState(), "detectors/generated-3")).toMatchObject({
      stepSeconds: 30,
      algorithm: { kind: "robust_z_score", params: { window: 120 } },
      direction: Direction.UP,
      critical: 0.995,
    });
  });

  it("shows an edit at once and rolls it back on error", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    fake.failNext("updateDetector", serverError(Code.Aborted, "detectors/api changed", { reason: "ETAG_MISMATCH" }));

    const saving = store.dispatch(updateDetector({ name: "detectors/api", spec }));
    expect(selectDetectorByName(store.getState(), "detectors/api").query).toBe(spec.query);
    await saving;

    expect(selectDetectorByName(store.getState(), "detectors/api").query).toBe("rate(http_requests_total[5m])");
    expect(selectDetectorError(store.getState(), "detectors/api")?.reason).toBe("ETAG_MISMATCH");
  });

  it("removes a deleted detector at once and brings it back when the delete fails", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    fake.failNext("deleteDetector", serverError(Code.Internal, "internal error; the server log has the details"));

    const deleting = store.dispatch(deleteDetector("detectors/api"));
    expect(selectDetectorByName(store.getState(), "detectors/api")).toBeUndefined();
    await deleting;
    expect(selectDetectorByName(store.getState(), "detectors/api")).toBeDefined();

    await store.dispatch(deleteDetector("detectors/api"));
    expect(selectAllDetectors(store.getState()).map((d) => d.name)).toEqual(["detectors/db"]);
    expect(fake.detectors.has("detectors/api")).toBe(false);
  });
});

describe("detectors slice, following changes made elsewhere", () => {
  /** Another tab's clients: what it does comes to this one's store only through the stream. */
  const elsewhere = (fake: FakeAiops) => fake.clients().detectors;

  it("adds a detector created elsewhere, replaces one changed elsewhere in place, drops one deleted", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const other = elsewhere(fake);

    await other.createDetector({ detectorId: "new", detector: { dataSource: "dataSources/prom", query: "up" } });
    await settle();
    expect(selectAllDetectors(store.getState()).map((d) => d.name)).toEqual([
      "detectors/api",
      "detectors/db",
      "detectors/new",
    ]);
    expect(fake.calls).not.toContain("getDetector"); // the event carried it whole

    const before = store.getState().detectors;
    await other.updateDetector({
      detector: { name: "detectors/db", dataSource: "dataSources/prom", query: "pg_up", etag: "1" },
      updateMask: { paths: ["query"] },
    });
    await settle();
    const after = store.getState().detectors;
    expect(after.ids).toBe(before.ids);
    expect(after.entities["detectors/api"]).toBe(before.entities["detectors/api"]);
    expect(after.entities["detectors/db"]).toMatchObject({ query: "pg_up", etag: "2", state: Detector_State.RUNNING });

    await other.deleteDetector({ name: "detectors/db" });
    await settle();
    expect(selectAllDetectors(store.getState()).map((d) => d.name)).toEqual(["detectors/api", "detectors/new"]);
    expect(store.getState().detectors.deleted).toEqual({ "detectors/db": true });
    expect(store.getState().detectors.entities["detectors/api"]).toBe(before.entities["detectors/api"]);
  });

  it("shows a create its event confirms before the answer once, under its own name or the server's", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const names = () => selectAllDetectors(store.getState()).map((d) => d.name);

    // With an id: the event confirms the optimistic detector under the same name.
    let release = fake.holdNext("createDetector");
    let creating = store.dispatch(createDetector({ id: "errors", spec }));
    await settle(); // the event has come; the answer has not
    expect(names()).toEqual(["detectors/api", "detectors/db", "detectors/errors"]);
    expect(selectDetectorByName(store.getState(), "detectors/errors").etag).toBe("1");
    release();
    await creating;
    expect(names()).toEqual(["detectors/api", "detectors/db", "detectors/errors"]);
    expect(selectDetectorPending(store.getState(), "detectors/errors")).toBeUndefined();

    // Without: the server's name comes first in the event, and the provisional row goes then.
    release = fake.holdNext("createDetector");
    creating = store.dispatch(createDetector({ id: "", spec: { ...spec, query: "sum(up)" } }));
    expect(names().filter((name) => name.startsWith("detectors/~new-"))).toHaveLength(1);
    await settle();
    expect(names()).toEqual(["detectors/api", "detectors/db", "detectors/errors", "detectors/generated-4"]);
    release();
    await creating;
    expect(names()).toEqual(["detectors/api", "detectors/db", "detectors/errors", "detectors/generated-4"]);
    expect(store.getState().detectors.pending).toEqual({});
  });

  it("keeps a delete its event confirmed, even when the call then fails on the way back", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const fail = fake.holdNext("deleteDetector");

    const deleting = store.dispatch(deleteDetector("detectors/api"));
    await settle();
    expect(selectDetectorByName(store.getState(), "detectors/api")).toBeUndefined();
    fail(serverError(Code.Unavailable, "upstream connect error"));
    await deleting;

    expect(selectDetectorByName(store.getState(), "detectors/api")).toBeUndefined();
    expect(selectDetectorError(store.getState(), "detectors/api")).toBeUndefined();
    expect(store.getState().detectors.pending).toEqual({});
  });

  it("rolls a failed edit back to what another tab saved meanwhile", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const fail = fake.holdNext("updateDetector");

    const saving = store.dispatch(updateDetector({ name: "detectors/api", spec, etag: "1" }));
    await settle();
    // The server stored ours (its event is here): someone else's edit overtakes our answer.
    await elsewhere(fake).updateDetector({
      detector: { name: "detectors/api", dataSource: "dataSources/prom", query: "theirs" },
    });
    await settle();
    expect(selectDetectorByName(store.getState(), "detectors/api").query).toBe(spec.query); // ours on top
    fail(serverError(Code.Unavailable, "upstream connect error"));
    await saving;

    expect(selectDetectorByName(store.getState(), "detectors/api")).toMatchObject({ query: "theirs", etag: "3" });
  });

  it("shows another tab's edit that overtook the answer to ours, not ours", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const release = fake.holdNext("updateDetector");

    const saving = store.dispatch(updateDetector({ name: "detectors/api", spec, etag: "1" }));
    await settle(); // ours is stored (etag 2) and its event here
    await elsewhere(fake).updateDetector({
      detector: { name: "detectors/api", dataSource: "dataSources/prom", query: "theirs", etag: "2" },
    });
    await settle();
    release();
    await saving;

    expect(selectDetectorByName(store.getState(), "detectors/api")).toMatchObject({ query: "theirs", etag: "3" });
  });

  it("keeps the etag of status events, and an answer the stream overtook does not bring an older one back", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const release = fake.holdNext("startDetector");

    const starting = store.dispatch(startDetector("detectors/api"));
    await settle();
    expect(selectDetectorByName(store.getState(), "detectors/api").etag).toBe("2"); // Start's own event
    fake.detectorStatus("detectors/api", Detector_State.RUNNING); // the pipeline's, etag 3
    await settle();
    release(); // the answer: BACKFILLING, etag 2
    await starting;

    expect(selectDetectorByName(store.getState(), "detectors/api")).toMatchObject({
      state: Detector_State.RUNNING,
      etag: "3",
    });
    const saved = await store.dispatch(
      updateDetector({ name: "detectors/api", spec, etag: selectDetectorByName(store.getState(), "detectors/api").etag }),
    );
    expect(saved.meta.requestStatus).toBe("fulfilled");
  });
});
