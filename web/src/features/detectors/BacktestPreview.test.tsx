import { Code, ConnectError, Severity, type BacktestDetectorRequest, type QueryMetricsRequest } from "@aiops/client";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { act, screen, within } from "@testing-library/react";
import { beforeAll, describe, expect, it } from "vitest";
import { AppRoutes, loadPages } from "../../App";
import { FakeAiops, serverError } from "../../utils/fakeServer";
import { FakeClock, renderWithProviders, startedStore } from "../../utils/test-utils";
import { PREVIEW_DEBOUNCE_MS } from "./preview";

const at = (iso: string) => timestampFromMs(Date.parse(iso));

/**
 * Scores for every step of the range of each series (two unless told), and anomalies: two on
 * Dec 31, one on Jan 1 (UTC).
 */
function answer(request: BacktestDetectorRequest, anomalies = 3, instances = ["a", "b"]) {
  const start = Number(request.range?.startTime?.seconds ?? 0n);
  const end = Number(request.range?.endTime?.seconds ?? 0n);
  const points = (end - start) / (Number(request.detector?.step?.seconds ?? 60n) || 60) + 1;
  const series = instances.map((instance) => ({
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

/** The query's values over the range asked: `series` series of a point per step. */
function values(request: QueryMetricsRequest, instances: string[]) {
  const step = Number(request.step?.seconds ?? 60n);
  const points = (Number(request.endTime?.seconds) - Number(request.startTime?.seconds)) / step + 1;
  return {
    series: instances.map((instance) => ({
      labels: { instance, job: "api" },
      startTime: request.startTime,
      step: { seconds: BigInt(step) },
      values: Array.from({ length: points }, (_, i) => i % 100),
    })),
  };
}

async function setup(
  route = "/detectors/api/edit",
  options: {
    ignoreAborts?: boolean;
    /** The first BacktestDetector is slow: it answers nothing until aborted. */
    slowFirstBacktest?: AbortSignal[];
  } = {},
) {
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
  if (options.slowFirstBacktest) {
    const signals = options.slowFirstBacktest;
    const detectors = clients.detectors;
    clients.detectors = {
      ...detectors,
      backtestDetector: (request, callOptions) => {
        if (signals.length > 0) return detectors.backtestDetector(request, callOptions);
        const signal = callOptions?.signal ?? new AbortController().signal;
        signals.push(signal);
        return new Promise((_, reject) => {
          signal.addEventListener("abort", () => reject(new ConnectError("aborted", Code.Canceled)));
        });
      },
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

// The pages of their own chunks (App.tsx), loaded before any is routed to.
beforeAll(() => loadPages());

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
    // One series: the range alone is too long.
    server.backtestAnswer = (request) => answer(request, 3, ["a"]);
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
    expect(status().getAttribute("data-state")).toBe("done");
    expect(screen.getByTestId("preview-clamped").textContent).not.toContain("series");
    // The display name does not change scores: no new run.
    await user.type(screen.getByRole("textbox", { name: "Display name" }), "Up");
    await debounce();
    expect(server.backtests).toHaveLength(1);
  });

  describe("a range cut for the query's series (the limit is 100,000 points in all)", () => {
    /** A new detector at a 1 s step over `range`, of a query with these series. */
    async function preview(range: "24h" | "7d", instances: string[], options: Parameters<typeof setup>[1] = {}) {
      const env = await setup("/detectors/new", options);
      env.server.backtestAnswer = (request) => answer(request, 0, instances);
      env.server.metricsAnswer = (request) => values(request, instances);
      await env.user.selectOptions(screen.getByRole("combobox", { name: "Data source" }), "dataSources/prom");
      await env.user.type(screen.getByRole("textbox", { name: "Query" }), "up");
      await env.user.type(screen.getByRole("spinbutton", { name: "Step (seconds)" }), "1");
      await env.user.selectOptions(screen.getByRole("combobox", { name: "Preview range" }), range);
      return env;
    }
    const seconds = (request: { range?: { startTime?: { seconds: bigint }; endTime?: { seconds: bigint } } }) => [
      Number(request.range?.startTime?.seconds),
      Number(request.range?.endTime?.seconds),
    ];

    it("runs the backtest again over the last floor(100000 / N) steps once the values say there are N series", async () => {
      const slow: AbortSignal[] = [];
      const { server, status, debounce, clock } = await preview("24h", ["a", "b", "c"], { slowFirstBacktest: slow });
      // 24 hours are 86,401 points: the step alone needs no cut.
      expect(screen.queryByTestId("preview-clamped")).toBeNull();
      await debounce();

      // The values came first, 3 series: the first backtest (too large) was given up at once.
      expect(slow).toHaveLength(1);
      expect(slow[0].aborted).toBe(true);
      expect(server.metricQueries).toHaveLength(1);
      expect(server.backtests).toHaveLength(1);
      const end = Math.floor(clock.now() / 1000);
      expect(seconds(server.backtests[0].request)).toEqual([end - 33_332, end]);
      expect(status().getAttribute("data-state")).toBe("done");
      expect(status().textContent).toBe("0 anomalies in the last 24 hours (0 critical, 0 warning), over 3 series.");
      expect(screen.getByTestId("preview-clamped").textContent).toBe(
        "At a 1 s step, the last 24 hours are more than the 100,000 points a preview scores in all, over 3 series: " +
          "it covers the last 9.3 hours.",
      );
      // The values of the whole range are joined to the scores of its end.
      const charts = within(screen.getByRole("region", { name: "Preview" })).getAllByRole("img");
      expect(charts.map((chart) => chart.getAttribute("data-points"))).toEqual(["33333", "33333", "33333"]);
      expect(screen.queryByText(/could not be read/)).toBeNull();
    });

    it("takes the count from the refusals when neither call could answer, and reads the values again too", async () => {
      const { server, status, debounce, clock } = await preview("7d", ["a", "b", "c", "d", "e", "f"]);
      expect(screen.getByTestId("preview-clamped").textContent).toContain("it covers the last 27.8 hours");
      await debounce();

      // 6 series of 100,000 points: BacktestDetector refuses them (over 100,000 in all), and so
      // does QueryMetrics (over 400,000 values); both run again over 16,666 points.
      expect(server.backtests).toHaveLength(2);
      expect(server.metricQueries).toHaveLength(2);
      const end = Math.floor(clock.now() / 1000);
      expect(seconds(server.backtests[0].request)).toEqual([end - 99_999, end]);
      expect(seconds(server.backtests[1].request)).toEqual([end - 16_665, end]);
      expect(server.metricQueries[1].request).toMatchObject({
        startTime: server.backtests[1].request.range?.startTime,
        endTime: server.backtests[1].request.range?.endTime,
      });
      expect(status().getAttribute("data-state")).toBe("done");
      expect(status().textContent).toContain("over 6 series");
      expect(screen.getByTestId("preview-clamped").textContent).toContain(
        "in all, over 6 series: it covers the last 4.6 hours.",
      );
      expect(screen.queryByText(/could not be read/)).toBeNull();
      const charts = within(screen.getByRole("region", { name: "Preview" })).getAllByRole("img");
      expect(charts[0].getAttribute("data-points")).toBe("16666");
    });

    it("a change cancels the second run as it does the first", async () => {
      const { user, server, status, debounce } = await preview("24h", ["a", "b", "c"]);
      // The second backtest (the first is refused) is held.
      const release = server.holdNext("backtestDetector");
      await debounce();
      expect(server.backtests).toHaveLength(2);
      expect(status().textContent).toBe("Running…");

      await user.type(screen.getByRole("spinbutton", { name: "Warning threshold" }), "0.9");
      expect(server.backtests[1].signal.aborted).toBe(true);
      release();
      await debounce(0);
      expect(status().textContent).toBe("Running…");
      await debounce();
      expect(server.backtests).toHaveLength(4);
      expect(server.backtests[3].request.detector?.thresholds?.warning).toBe(0.9);
      expect(status().getAttribute("data-state")).toBe("done");
    });

    it("fails as the server says when no cut can help (more than 1000 series), trying once", async () => {
      const { user, server, status, debounce } = await setup("/detectors/new");
      const many = Array.from({ length: 1001 }, (_, i) => `web-${i}`);
      server.backtestAnswer = () => ({ series: many.map((instance) => ({ labels: { instance } })) });
      server.metricsAnswer = () => ({ series: many.map((instance) => ({ labels: { instance } })) });
      await user.selectOptions(screen.getByRole("combobox", { name: "Data source" }), "dataSources/prom");
      await user.type(screen.getByRole("textbox", { name: "Query" }), "up");
      await debounce();
      expect(server.backtests).toHaveLength(1);
      expect(status().getAttribute("data-state")).toBe("failed");
      expect(screen.getByTestId("preview-error").textContent).toContain("the query returns 1001 series of 1441 points");
    });
  });
});
