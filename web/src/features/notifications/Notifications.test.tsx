import { Severity } from "@aiops/client";
import { act, screen, within } from "@testing-library/react";
import { beforeAll, describe, expect, it } from "vitest";
import { App, loadPages } from "../../App";
import { FakeAiops } from "../../utils/fakeServer";
import { FakeClock, renderWithProviders, settle, startedStore } from "../../utils/test-utils";

async function setup() {
  const clock = new FakeClock();
  const server = new FakeAiops(clock.now);
  server.addDetector({ name: "detectors/api" });
  const { store } = await startedStore({ server, clock });
  return { ...renderWithProviders(<App />, { store, route: "/detectors" }), server, store };
}

const toasts = () => within(screen.getByRole("region", { name: "New anomalies" })).queryAllByRole("status");

// The pages of their own chunks (App.tsx), loaded before any is routed to.
beforeAll(() => loadPages());

describe("notification centre", () => {
  it("raises a toast per new anomaly, with its severity in words, linking to it", async () => {
    const { server, user } = await setup();
    expect(screen.getByRole("button", { name: "Notifications, 0 unread" })).toBeTruthy();

    server.addAnomaly({ name: "detectors/api/anomalies/x", severity: Severity.CRITICAL, seriesLabels: { job: "api" } }, true);
    server.addAnomaly({ name: "detectors/api/anomalies/x", severity: Severity.CRITICAL, peakScore: 0.999 }, true);
    await act(() => settle());

    expect(toasts()).toHaveLength(1);
    const toast = toasts()[0];
    expect(toast.textContent).toContain("Critical anomaly on detectors/api");
    expect(toast.textContent).toContain('{job="api"}');
    expect(toast.className).toContain("severity-critical");
    expect(screen.getByRole("button", { name: "Notifications, 1 unread" })).toBeTruthy();

    await user.click(within(toast).getByRole("link", { name: "View anomaly" }));
    expect(screen.getByRole("heading", { level: 1, name: "Anomalies" })).toBeTruthy();
    expect(screen.getByRole("row", { name: "detectors/api/anomalies/x" }).getAttribute("aria-current")).toBe("true");
    expect(toasts()).toHaveLength(0);
    expect(screen.getByRole("button", { name: "Notifications, 0 unread" })).toBeTruthy();
  });

  it("shows three toasts and a summary for a burst of 200, and lists them all in the centre", async () => {
    const { server, user } = await setup();
    for (let i = 0; i < 200; i++) server.addAnomaly({ name: `detectors/api/anomalies/b${i}` }, true);
    await act(() => settle(40));

    expect(toasts()).toHaveLength(4);
    expect(toasts()[3].textContent).toContain("197 more new anomalies");
    const centre = screen.getByRole("button", { name: "Notifications, 200 unread" });
    await user.click(centre);
    const panel = screen.getByRole("region", { name: "Notification centre" });
    expect(within(panel).getAllByRole("listitem")).toHaveLength(200);

    await user.click(within(panel).getByRole("button", { name: "Mark all read" }));
    expect(screen.getByRole("button", { name: "Notifications, 0 unread" })).toBeTruthy();
    expect(toasts()).toHaveLength(0);
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("region", { name: "Notification centre" })).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Notifications, 0 unread" }));
  });
});
