import { Code, Detector_State } from "@aiops/client";
import { act, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AppRoutes } from "../../App";
import { FakeAiops, serverError } from "../../utils/fakeServer";
import { FakeClock, renderWithProviders, settle, startedStore } from "../../utils/test-utils";

async function setup(route = "/detectors") {
  const clock = new FakeClock();
  const server = new FakeAiops(clock.now);
  server.addDataSource({ name: "dataSources/prom" });
  server.addDetector({ name: "detectors/api", displayName: "API latency", query: "histogram_quantile(0.99, x)" });
  server.addDetector({ name: "detectors/db", state: Detector_State.RUNNING });
  server.addDetector({ name: "detectors/queue", state: Detector_State.BACKFILLING });
  const { store } = await startedStore({ server, clock });
  return { ...renderWithProviders(<AppRoutes />, { store, route }), server, clock };
}

const row = (name: string) => screen.getByRole("row", { name });
/** Lets the stream's events reach the store and React render them. */
const events = () => act(() => settle());

describe("Detectors page", () => {
  it("shows each detector's live state, its reason and what a warming-up one is doing", async () => {
    const { server } = await setup();
    expect(within(row("detectors/api")).getByText("Stopped")).toBeTruthy();
    expect(row("detectors/queue").textContent).toContain("Backfilling: learning its history before it scores live points");

    server.detectorStatus("detectors/db", Detector_State.DEGRADED, "prometheus: connection refused");
    server.detectorStatus("detectors/queue", Detector_State.FAILED, "bad_data: parse error at char 3");
    await events();

    expect(row("detectors/db").textContent).toContain("Degraded: prometheus: connection refused");
    expect(row("detectors/queue").textContent).toContain("Failed: bad_data: parse error at char 3");
  });

  it("keeps an open menu open and the other rows' elements when events come", async () => {
    const { server, user } = await setup();
    const apiRow = row("detectors/api");
    const menuButton = within(apiRow).getByRole("button", { name: "More actions for detectors/api" });
    await user.click(menuButton);
    expect(menuButton.getAttribute("aria-expanded")).toBe("true");
    const edit = within(apiRow).getByRole("link", { name: "Edit" });
    expect(document.activeElement).toBe(edit);

    server.detectorStatus("detectors/db", Detector_State.DEGRADED, "timeout");
    server.addAnomaly({ name: "detectors/db/anomalies/x" }, true);
    await events();

    expect(row("detectors/api")).toBe(apiRow);
    expect(menuButton.getAttribute("aria-expanded")).toBe("true");
    expect(document.activeElement).toBe(edit);
  });

  it("filters by name, query, data source or state", async () => {
    const { user } = await setup();
    await user.type(screen.getByRole("searchbox", { name: "Filter detectors" }), "backfill");
    expect(screen.getAllByRole("row").slice(1).map((r) => r.getAttribute("aria-label"))).toEqual(["detectors/queue"]);
    await user.clear(screen.getByRole("searchbox", { name: "Filter detectors" }));
    await user.type(screen.getByRole("searchbox", { name: "Filter detectors" }), "nothing like it");
    expect(screen.getByText("No detector matches “nothing like it”.")).toBeTruthy();
  });

  it("starts at once, and shows the server's message in the row when a stop is refused", async () => {
    const { server, user } = await setup();
    await user.click(within(row("detectors/api")).getByRole("button", { name: "Start" }));
    await events();
    expect(within(row("detectors/api")).getByText("Backfilling")).toBeTruthy();
    expect(within(row("detectors/api")).getByRole("button", { name: "Stop" })).toBeTruthy();

    server.failNext("stopDetector", serverError(Code.Unavailable, "the event bus is unreachable"));
    await user.click(within(row("detectors/db")).getByRole("button", { name: "Stop" }));
    await events();
    expect(within(row("detectors/db")).getByText("Running")).toBeTruthy();
    expect(within(row("detectors/db")).getByRole("alert").textContent).toContain("the event bus is unreachable");
  });

  it("deletes after a confirmation in the row's menu", async () => {
    const { server, user } = await setup();
    await user.click(within(row("detectors/db")).getByRole("button", { name: "More actions for detectors/db" }));
    await user.click(within(row("detectors/db")).getByRole("button", { name: "Delete…" }));
    await user.click(within(row("detectors/db")).getByRole("button", { name: "Delete detector" }));
    await events();
    expect(screen.queryByRole("row", { name: "detectors/db" })).toBeNull();
    expect(server.detectors.has("detectors/db")).toBe(false);
  });
});
