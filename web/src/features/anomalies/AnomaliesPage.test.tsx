import { Anomaly_State, Detector_State, Severity } from "@aiops/client";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { act, fireEvent, screen, within } from "@testing-library/react";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { AppRoutes, loadPages } from "../../App";
import { FakeAiops } from "../../utils/fakeServer";
import { toLocalInput } from "../../utils/format";
import { FakeClock, renderWithProviders, settle, startedStore } from "../../utils/test-utils";

// Each render of a row's cells formats its labels once: counting the calls counts the renders.
vi.mock("./model", async (importOriginal) => {
  const original = await importOriginal<typeof import("./model")>();
  return { ...original, formatLabels: vi.fn(original.formatLabels) };
});
const { formatLabels } = await import("./model");
const rendersOf = (instance: string) =>
  vi.mocked(formatLabels).mock.calls.filter(([labels]) => labels.instance === instance).length;

async function setup(count: number, route = "/anomalies") {
  const clock = new FakeClock();
  const server = new FakeAiops(clock.now);
  server.pageSize = 1000;
  server.addDetector({ name: "detectors/api", state: Detector_State.RUNNING });
  server.addDetector({ name: "detectors/db", state: Detector_State.RUNNING });
  for (let i = 0; i < count; i++) {
    server.addAnomaly({
      name: `detectors/${i % 2 ? "db" : "api"}/anomalies/a${i}`,
      startTime: timestampFromMs(clock.time - (i + 1) * 60_000),
      severity: i % 3 === 0 ? Severity.CRITICAL : Severity.WARNING,
      seriesLabels: { instance: `host-${i}` },
    });
  }
  const { store } = await startedStore({ server, clock });
  return { ...renderWithProviders(<AppRoutes />, { store, route }), server, clock, store };
}

const bodyRows = () => screen.getAllByRole("row").filter((row) => row.getAttribute("aria-rowindex") !== "1");

// The pages of their own chunks (App.tsx), loaded before any is routed to.
beforeAll(() => loadPages());

describe("Anomalies page", () => {
  it("renders a window of 10,000 anomalies, not all of them, newest first", async () => {
    const { store } = await setup(10_000);
    expect(store.getState().anomalies.ids).toHaveLength(10_000);
    const table = screen.getByRole("table", { name: "Anomalies" });
    expect(table.getAttribute("aria-rowcount")).toBe("10001");
    const rows = bodyRows();
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(60);
    expect(rows[0].getAttribute("aria-label")).toBe("detectors/api/anomalies/a0");
  }, 30_000);

  it("puts a new anomaly on top without re-rendering or re-creating the rows below", async () => {
    const { server, clock } = await setup(20);
    const first = screen.getByRole("row", { name: "detectors/api/anomalies/a0" });
    const cells = within(first).getAllByRole("cell");
    const renders = [rendersOf("host-0"), rendersOf("host-7")];

    clock.time += 1_000;
    server.addAnomaly(
      { name: "detectors/db/anomalies/new", severity: Severity.CRITICAL, seriesLabels: { instance: "host-new" } },
      true,
    );
    await act(() => settle());

    expect(bodyRows()[0].getAttribute("aria-label")).toBe("detectors/db/anomalies/new");
    const moved = screen.getByRole("row", { name: "detectors/api/anomalies/a0" });
    expect(moved).toBe(first);
    expect(within(moved).getAllByRole("cell")[0]).toBe(cells[0]);
    expect([rendersOf("host-0"), rendersOf("host-7")]).toEqual(renders);
    expect(rendersOf("host-new")).toBeGreaterThan(0);
  });

  it("acknowledges and marks false positives from the row", async () => {
    const { server, user } = await setup(3);
    const row = () => screen.getByRole("row", { name: "detectors/api/anomalies/a0" });
    await user.click(within(row()).getByRole("button", { name: "Acknowledge" }));
    await act(() => settle());
    expect(row().textContent).toContain("Acknowledged");
    expect(server.anomalies.get("detectors/api/anomalies/a0")?.state).toBe(Anomaly_State.ACKNOWLEDGED);

    await user.click(within(row()).getByRole("button", { name: "False positive" }));
    await act(() => settle());
    expect(server.anomalies.get("detectors/api/anomalies/a0")?.state).toBe(Anomaly_State.FALSE_POSITIVE);
    expect(within(row()).queryByRole("button", { name: "False positive" })).toBeNull();
  });

  it("filters by detector, severity, state and time range", async () => {
    const { user, clock } = await setup(12);
    await user.selectOptions(screen.getByRole("combobox", { name: "Detector" }), "detectors/db");
    expect(bodyRows().every((row) => row.getAttribute("aria-label")?.startsWith("detectors/db/"))).toBe(true);
    expect(bodyRows()).toHaveLength(6);

    await user.selectOptions(screen.getByRole("combobox", { name: "Severity" }), "critical");
    // a3 and a9 are the db's critical ones (every third is critical).
    expect(bodyRows().map((row) => row.getAttribute("aria-label"))).toEqual([
      "detectors/db/anomalies/a3",
      "detectors/db/anomalies/a9",
    ]);

    await user.selectOptions(screen.getByRole("combobox", { name: "State" }), "acknowledged");
    expect(screen.getByText("No anomaly matches these filters.")).toBeTruthy();
    await user.click(screen.getByRole("button", { name: "Clear filters" }));
    expect(bodyRows()).toHaveLength(12);

    // Started from 5 minutes before the clock's now (a minute apart): a0 to a4.
    await user.selectOptions(screen.getByRole("combobox", { name: "Time range" }), "custom");
    const from = screen.getByLabelText("From") as HTMLInputElement;
    fireEvent.change(from, { target: { value: toLocalInput(clock.time - 300_000) } });
    expect(bodyRows().map((row) => row.getAttribute("aria-label"))).toEqual([
      "detectors/api/anomalies/a0",
      "detectors/db/anomalies/a1",
      "detectors/api/anomalies/a2",
      "detectors/db/anomalies/a3",
      "detectors/api/anomalies/a4",
    ]);
  });

  it("scrolls to and marks the anomaly a notification links to", async () => {
    await setup(200, "/anomalies?anomaly=detectors%2Fdb%2Fanomalies%2Fa145");
    const row = await screen.findByRole("row", { name: "detectors/db/anomalies/a145" });
    expect(row.getAttribute("aria-current")).toBe("true");
  });
});
