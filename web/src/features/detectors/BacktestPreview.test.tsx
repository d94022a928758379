import { Code, Severity, type BacktestDetectorRequest } from "@aiops/client";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { act, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AppRoutes } from "../../App";
import { FakeAiops, serverError } from "../../utils/fakeServer";
import { FakeClock, renderWithProviders, startedStore } from "../../utils/test-utils";
import { PREVIEW_DEBOUNCE_MS } from "./preview";

const at = (iso: string) => timestampFromMs(Date.parse(iso));

/** Scores for every step of the range of two series, and anomalies: two on Dec 31, one on Jan 1 (UTC). */
function answer(request: BacktestDetectorRequest, anomalies = 3) {
  const start = Number(request.range?.startTime?.seconds ?? 0n);
  const end = Number(request.range?.endTime?.seconds ?? 0n);
  const points = (end - start) / 60 + 1;
  const series = ["a", "b"].map((instance) => ({
    labels: { job: "api", instance },
    startTime: request.range?.startTime,
    scores: Array.from({ length: points }, () => 0.1),
    expected: Array.from({ length: points }, () => 1),
    lower: Array.from({ length: points }, () => 0),
    upper: Array.from({ length: points }, () => 2),
    severities: Array.from({ length: points }, () => Severity.UNSPECIFIED),
  }));
  const all = [
    { startTime: at("2025-12-31T18:00:00Z"), endTime: at("2025-12-31T18:05:00Z"), severity: Severity.WARNING, peakScore: 0.96 },
    { startTime: at("2025-12-31T23:30:00Z"), endTime: at("2025-12-31T23:40:00Z"), severity: Severity.CRITICAL, peakScore: 0.995 },
    { startTime: at("2026-01-01T06:00:00Z"), endTime: at("2026-01-01T06:00:00Z"), severity: Severity.WARNING, peakScore: 0.97 },
  ];
  return {
    series,
    anomalies: all.slice(0, anomalies).map((anomaly) => ({ ...anomaly, seriesLabels: { job: "api", instance: "a" } })),
  };
}

async function setup(route = "/detectors/api/edit", options: { ignoreAborts?: boolean } = {}) {
  const clock = new FakeClock(); // 2026-01-01T12:00:00Z
  const server = new FakeAiops(clock.now);
  server.addDataSource({ name: "dataSources/prom", displayName: "Prometheus" });
  server.addDetector({ name: "detectors/api", query: "rate(requests_total[5m])" });
  // Three anomalies, or one once a warning threshold is set.
  server.backtestAnswer = (request) => answer(request, request.detector?.thresholds ? 1 : 3);
  server.metricsAnswer = (request) => ({
    series: [
      { labels: { instance: "a", job: "api" }, startTime: request.startTime, step: { seconds: 60n }, values: [1, 2, 3] },
    ],
  });
  const clients = server.clients();
  if (options.ignoreAborts) {
    // A transport that cannot cancel: the answer to an aborted backtest still comes.
    const detectors = clients.detectors;
    clients.detectors = {
      ...detectors,
      backtestDetector: (request, callOptions) => detectors.backtestDetector(request, { ...callOptions, signal: undefined }),
    };
  }
  const { store } = await startedStore({ server, clock, clients });
  const rendered = renderWithProviders(<AppRoutes />, { store, route });
  const preview = () => screen.getByRole("region", { name: "Preview" });
  const status = () => screen.getByTestId("preview-status");
  /** Lets the debounce pass, and the calls it starts answer. */
  const debounce = (ms = PREVIEW_DEBOUNCE_MS) => act(() => clock.advance(ms));
  return { ...rendered, server, clock, store, preview, status, debounce };
}

describe("Backtest preview", () => {
  it("shows what the settings would have raised: the count, per day, the list and a chart per series", async () => {
    const { server, preview, status, debounce } = await setup();
    expect(status().textContent).toBe("Running…");
    await debounce();

    expect(status().getAttribute("data-state")).toBe("done");
    expect(screen.getByTestId("preview-anomaly-count").textContent).toBe("3");
    expect(status().textContent).toBe("3 anomalies in the last 24 hours (1 critical, 2 warning), over 2 series.");

    // Both calls, over the same steps of the last 24 hours, nothing saved.
    expect(server.backtests).toHaveLength(1);
    const request = server.backtests[0].request;
    expect(request.detector).toMatchObject({ dataSource: "dataSources/prom", query: "rate(requests_total[5m])" });
    expect(request.range?.startTime?.seconds).toBe(BigInt(Date.parse("2025-12-31T12:00:00Z") / 1000));
    expect(request.range?.endTime?.seconds).toBe(BigInt(Date.parse("2026-01-01T12:00:00Z") / 1000));
    expect(server.metricQueries.map((q) => q.request)).toMatchObject([
      { dataSource: "dataSources/prom", query: "rate(requests_total[5m])", startTime: request.range?.startTime, endTime: request.range?.endTime },
    ]);
    expect(server.writes).toEqual([]);

    const perDay = within(preview()).getByRole("table", { name: "Anomalies per day" });
    expect(
      within(perDay)
        .getAllByRole("row")
        .slice(1)
        .map((row) => [within(row).getByRole("rowheader"), ...within(row).getAllByRole("cell")].map((c) => c.textContent)),
    ).toEqual([
      ["2025-12-31", "1", "1", "2"],
      ["2026-01-01", "1", "0", "1"],
    ]);
    const list = within(preview()).getByRole("table", { name: "Anomalies the detector would have raised" });
    const rows = within(list).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(3);
    expect(rows[1].textContent).toContain("Critical");
    expect(rows[1].textContent).toContain("0.995");
    expect(rows[1].textContent).toContain('{instance="a", job="api"}');

    const charts = within(preview()).getAllByRole("img");
    expect(charts.map((chart) => chart.getAttribute("aria-label"))).toEqual([
      '{instance="a", job="api"}',
      '{instance="b", job="api"}',
    ]);
    expect(charts[0].getAttribute("data-points")).toBe("1441");
  });

  it("runs again once a setting stops changing, aborting the request in flight; a late answer changes nothing", async () => {
    const { user, server, status, debounce } = await setup();
    await debounce();
    expect(screen.getByTestId("preview-anomaly-count").textContent).toBe("3");

    // The next run is held: its answer comes late.
    const release = server.holdNext("backtestDetector");
    await user.click(screen.getByRole("button", { name: "Run preview" }));
    await act(() => Promise.resolve());
    expect(server.backtests).toHaveLength(2);
    expect(status().textContent).toBe("Running…");

    // A setting changes: the held request (still unanswered) is aborted at once, and nothing
    // runs before the debounce.
    await user.type(screen.getByRole("spinbutton", { name: "Warning threshold" }), "0.9");
    expect(server.backtests[1].signal.aborted).toBe(true);
    expect(server.metricQueries[1].signal.aborted).toBe(true);
    // The abort is no failure: it waits for the next run.
    expect(status().textContent).toBe("Running…");
    await debounce(PREVIEW_DEBOUNCE_MS - 1);
    expect(server.backtests).toHaveLength(2);
    await debounce(1);
    expect(server.backtests).toHaveLength(3);
    expect(server.backtests[2].request.detector?.thresholds?.warning).toBe(0.9);
    expect(screen.getByTestId("preview-anomaly-count").textContent).toBe("1");

    // The first answer arrives now: the newer one stays.
    release();
    await debounce(0);
    expect(screen.getByTestId("preview-anomaly-count").textContent).toBe("1");
    expect(status().getAttribute("data-state")).toBe("done");
  });

  it("never shows an answer to older settings, even one that comes after the abort", async () => {
    const { user, server, status, debounce } = await setup("/detectors/api/edit", { ignoreAborts: true });
    await debounce();
    const release = server.holdNext("backtestDetector");
    await user.click(screen.getByRole("button", { name: "Run preview" }));
    await user.type(screen.getByRole("spinbutton", { name: "Warning threshold" }), "0.9");
    await debounce();
    expect(screen.getByTestId("preview-anomaly-count").textContent).toBe("1");

    release(); // the older settings' three anomalies
    await debounce(0);
    expect(server.calls.filter((call) => call === "backtestDetector")).toHaveLength(3);
    expect(screen.getByTestId("preview-anomaly-count").textContent).toBe("1");
    expect(status().getAttribute("data-state")).toBe("done");
  });

  it("shows the server's field message when a setting is invalid", async () => {
    const { user, server, preview, status, debounce } = await setup();
    server.backtestAnswer = (request) => {
      if (request.detector?.query.endsWith("(")) {
        throw serverError(Code.InvalidArgument, "detector.query: parse error", {
          reason: "INVALID_ARGUMENT",
          fields: { "detector.query": "bad_data: 1:5: parse error: unclosed left parenthesis" },
        });
      }
      return answer(request);
    };
    await user.clear(screen.getByRole("textbox", { name: "Query" }));
    await user.type(screen.getByRole("textbox", { name: "Query" }), "rate(");
    await debounce();

    expect(status().getAttribute("data-state")).toBe("failed");
    expect(screen.getByTestId("preview-error").textContent).toContain(
      "detector.query: bad_data: 1:5: parse error: unclosed left parenthesis",
    );
    // Said politely: the form's alert stays for what a save says.
    expect(status().textContent).toContain("The preview failed.");
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.queryByTestId("preview-anomaly-count")).toBeNull();
    expect(within(preview()).queryByRole("table")).toBeNull();
  });

  it("runs only with a data source and a query, and cuts a range too long for the step", async () => {
    const { user, server, status, debounce } = await setup("/detectors/new");
    await debounce(5_000);
    expect(server.backtests).toHaveLength(0);
    expect(status().textContent).toContain("Choose a data source and enter a query");
    expect(screen.getByRole("button", { name: "Run preview" })).toHaveProperty("disabled", true);

    await user.selectOptions(screen.getByRole("combobox", { name: "Data source" }), "dataSources/prom");
    await user.type(screen.getByRole("textbox", { name: "Query" }), "up");
    await user.type(screen.getByRole("spinbutton", { name: "Step (seconds)" }), "1");
    await user.selectOptions(screen.getByRole("combobox", { name: "Preview range" }), "7d");
    expect(screen.getByTestId("preview-clamped").textContent).toContain("it covers the last 27.8 hours");
    await debounce();

    expect(server.backtests).toHaveLength(1);
    const { range, detector } = server.backtests[0].request;
    expect(detector?.step?.seconds).toBe(1n);
    expect(Number(range?.endTime?.seconds) - Number(range?.startTime?.seconds)).toBe(99_999);
    expect(server.metricQueries[0].request.step?.seconds).toBe(1n);
    // The display name does not change scores: no new run.
    await user.type(screen.getByRole("textbox", { name: "Display name" }), "Up");
    await debounce();
    expect(server.backtests).toHaveLength(1);
  });
});
