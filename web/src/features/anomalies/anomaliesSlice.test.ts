import { Anomaly_State, Code, Severity } from "@aiops/client";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { FakeAiops, serverError } from "../../utils/fakeServer";
import { FakeClock, settle, startedStore } from "../../utils/test-utils";
import { deleteDetector } from "../detectors/detectorsSlice";
import {
  selectAllAnomalies,
  selectAnomalyByName,
  selectAnomalyError,
  setAnomalyState,
} from "./anomaliesSlice";

function server() {
  const clock = new FakeClock();
  const fake = new FakeAiops(clock.now);
  fake.addDataSource({ name: "dataSources/prom" });
  fake.addDetector({ name: "detectors/api" });
  fake.addDetector({ name: "detectors/db" });
  fake.addAnomaly({ name: "detectors/api/anomalies/a1", startTime: timestampFromMs(clock.time - 60_000) });
  fake.addAnomaly({ name: "detectors/db/anomalies/d1", startTime: timestampFromMs(clock.time - 120_000) });
  fake.addAnomaly({ name: "detectors/api/anomalies/a2", startTime: timestampFromMs(clock.time) });
  return { fake, clock };
}

describe("anomalies slice", () => {
  it("loads every page, newest first, and adds and grows anomalies from events", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    expect(selectAllAnomalies(store.getState()).map((a) => a.name)).toEqual([
      "detectors/api/anomalies/a2",
      "detectors/api/anomalies/a1",
      "detectors/db/anomalies/d1",
    ]);

    clock.time += 5_000;
    fake.addAnomaly({ name: "detectors/db/anomalies/d2", severity: Severity.CRITICAL }, true);
    fake.addAnomaly(
      { name: "detectors/api/anomalies/a2", peakScore: 0.999, severity: Severity.CRITICAL, active: false },
      true,
    );
    await settle();

    const names = selectAllAnomalies(store.getState()).map((a) => a.name);
    expect(names[0]).toBe("detectors/db/anomalies/d2");
    expect(names).toHaveLength(4);
    expect(selectAnomalyByName(store.getState(), "detectors/api/anomalies/a2")).toMatchObject({
      peakScore: 0.999,
      severity: Severity.CRITICAL,
      active: false,
      detector: "detectors/api",
    });
  });

  it("acknowledges at once and rolls back with the server's message when it refuses", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    fake.failNext("updateAnomaly", serverError(Code.NotFound, "detectors/api/anomalies/a1 does not exist"));

    const acknowledging = store.dispatch(
      setAnomalyState({ name: "detectors/api/anomalies/a1", state: Anomaly_State.ACKNOWLEDGED }),
    );
    expect(selectAnomalyByName(store.getState(), "detectors/api/anomalies/a1").state).toBe(
      Anomaly_State.ACKNOWLEDGED,
    );
    await acknowledging;

    expect(selectAnomalyByName(store.getState(), "detectors/api/anomalies/a1").state).toBe(Anomaly_State.OPEN);
    expect(selectAnomalyError(store.getState(), "detectors/api/anomalies/a1")?.message).toBe(
      "detectors/api/anomalies/a1 does not exist",
    );
  });

  it("keeps a false positive when an older event of the anomaly arrives after the answer", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const stale = fake.anomalies.get("detectors/api/anomalies/a2");

    clock.time += 1_000;
    await store.dispatch(
      setAnomalyState({ name: "detectors/api/anomalies/a2", state: Anomaly_State.FALSE_POSITIVE }),
    );
    // An event written before the update, delivered after it.
    fake.record({
      case: "anomalyChange",
      value: {
        $typeName: "aiops.v1.AnomalyChange",
        anomaly: { ...stale!, state: Anomaly_State.OPEN, updateTime: timestampFromMs(clock.time - 1_000) },
      },
    });
    await settle();

    expect(selectAnomalyByName(store.getState(), "detectors/api/anomalies/a2").state).toBe(
      Anomaly_State.FALSE_POSITIVE,
    );
  });

  it("drops a deleted detector's anomalies", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    await store.dispatch(deleteDetector("detectors/api"));
    expect(selectAllAnomalies(store.getState()).map((a) => a.name)).toEqual(["detectors/db/anomalies/d1"]);
  });
});
