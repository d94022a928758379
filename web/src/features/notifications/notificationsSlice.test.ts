import { Severity } from "@aiops/client";
import { describe, expect, it } from "vitest";
import { FakeAiops } from "../../utils/fakeServer";
import { FakeClock, settle, startedStore } from "../../utils/test-utils";
import {
  MAX_TOASTS,
  allRead,
  selectNotifications,
  selectOverflow,
  selectToastNames,
  selectUnreadCount,
} from "./notificationsSlice";

async function store() {
  const clock = new FakeClock();
  const fake = new FakeAiops(clock.now);
  fake.addDetector({ name: "detectors/api" });
  fake.addAnomaly({ name: "detectors/api/anomalies/loaded" });
  return { fake, ...(await startedStore({ server: fake, clock })) };
}

describe("notifications", () => {
  it("notify each new anomaly once, however often it changes, and none of those loaded", async () => {
    const { fake, store: s } = await store();
    fake.addAnomaly({ name: "detectors/api/anomalies/loaded", peakScore: 0.99 }, true);
    fake.addAnomaly({ name: "detectors/api/anomalies/new" }, true);
    fake.addAnomaly({ name: "detectors/api/anomalies/new", severity: Severity.CRITICAL }, true);
    fake.addAnomaly({ name: "detectors/api/anomalies/new", active: false }, true);
    await settle();

    expect(selectNotifications(s.getState()).map((n) => [n.name, n.severity])).toEqual([
      ["detectors/api/anomalies/new", Severity.WARNING],
    ]);
    expect(selectToastNames(s.getState())).toEqual(["detectors/api/anomalies/new"]);
  });

  it("throttle a burst of 200: a few toasts, the rest counted, all unread in the centre", async () => {
    const { fake, store: s } = await store();
    for (let i = 0; i < 200; i++) fake.addAnomaly({ name: `detectors/api/anomalies/burst-${i}` }, true);
    await settle(40);

    expect(selectToastNames(s.getState())).toHaveLength(MAX_TOASTS);
    expect(selectOverflow(s.getState())).toBe(200 - MAX_TOASTS);
    expect(selectUnreadCount(s.getState())).toBe(200);

    s.dispatch(allRead());
    expect(selectUnreadCount(s.getState())).toBe(0);
    expect(selectToastNames(s.getState())).toEqual([]);
    expect(selectOverflow(s.getState())).toBe(0);
  });
});
