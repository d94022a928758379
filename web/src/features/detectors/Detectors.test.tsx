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
  it("shows a detector created in another tab, and changes a row edited there in place", async () => {
    const { server, user } = await setup();
    const other = server.clients().detectors;
    const apiRow = row("detectors/api");
    const menuButton = within(apiRow).getByRole("button", { name: "More actions for detectors/api" });
    await user.click(menuButton);
    const queueRow = row("detectors/queue");

    await act(() =>
      other.createDetector({
        detectorId: "errors",
        detector: { displayName: "Errors", dataSource: "dataSources/prom", query: "sum(rate(errors_total[5m]))" },
      }),
    );
    await events();
    expect(row("detectors/errors").textContent).toContain("Errors");
    expect(screen.getByText("4 detectors")).toBeTruthy();

    await act(() =>
      other.updateDetector({
        detector: { name: "detectors/db", dataSource: "dataSources/prom", query: "pg_up == 0" },
      }),
    );
    await events();
    expect(row("detectors/db").textContent).toContain("pg_up == 0");
    // The other rows are the same elements, and the open menu is still open.
    expect(row("detectors/api")).toBe(apiRow);
    expect(row("detectors/queue")).toBe(queueRow);
    expect(menuButton.getAttribute("aria-expanded")).toBe("true");
  });

  it("takes a detector deleted in another tab away, its open menu with it, and keeps the focus in the list", async () => {
    const { server, user } = await setup();
    const dbRow = row("detectors/db");
    await user.click(within(dbRow).getByRole("button", { name: "More actions for detectors/db" }));
    await user.click(within(dbRow).getByRole("button", { name: "Delete…" }));
    expect(dbRow.contains(document.activeElement)).toBe(true);
    const apiRow = row("detectors/api");

    await act(() => server.clients().detectors.deleteDetector({ name: "detectors/db" }));
    await events();

    expect(screen.queryByRole("row", { name: "detectors/db" })).toBeNull();
    expect(screen.queryByRole("group", { name: "More actions for detectors/db" })).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole("table", { name: "Detectors" }));
    expect(row("detectors/api")).toBe(apiRow);
    expect(screen.getByText("2 detectors")).toBeTruthy();
  });

  it("says so in an open detail when its detector is deleted in another tab", async () => {
    const { server, user } = await setup("/detectors/queue");
    expect(screen.getByRole("heading", { name: "queue" })).toBeTruthy();
    // The focus is in the detail, on its Stop (then Start) button.
    await user.click(within(screen.getByRole("region", { name: "queue" })).getByRole("button", { name: "Stop" }));
    await events();

    await act(() => server.clients().detectors.deleteDetector({ name: "detectors/queue" }));
    await events();

    expect(screen.queryByRole("heading", { name: "queue" })).toBeNull();
    const notice = screen.getByText("detectors/queue was deleted.").closest<HTMLElement>('[role="status"]')!;
    const back = within(notice).getByRole("link", { name: "Back to the detectors" });
    expect(document.activeElement).toBe(back);
    expect(screen.queryByRole("row", { name: "detectors/queue" })).toBeNull();
  });
});
