import { Code, DataSource_Kind } from "@aiops/client";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { act, screen, waitFor, within } from "@testing-library/react";
import { beforeAll, describe, expect, it } from "vitest";
import { AppRoutes, loadPages } from "../../App";
import { FakeAiops, serverError } from "../../utils/fakeServer";
import { FakeClock, renderWithProviders, settle, startedStore } from "../../utils/test-utils";

async function setup(route = "/data-sources/prom", prepare?: (server: FakeAiops, clock: FakeClock) => void) {
  const clock = new FakeClock();
  const server = new FakeAiops(clock.now);
  server.addDataSource({ name: "dataSources/prom", displayName: "Main Prometheus", urls: ["http://prom:9090"] });
  server.addDataSource({ name: "dataSources/loki", kind: DataSource_Kind.LOKI, urls: ["http://loki:3100"] });
  prepare?.(server, clock);
  const { store } = await startedStore({ server, clock });
  const rendered = renderWithProviders(<AppRoutes />, { store, route });
  await act(() => settle());
  return { ...rendered, server, clock, store };
}

const labels = (set: Record<string, string>) => set;

/** What a field's aria-describedby names: its hint and its error. */
function description(input: HTMLElement): string {
  return (input.getAttribute("aria-describedby") ?? "")
    .split(" ")
    .map((id) => document.getElementById(id)?.textContent ?? "")
    .join(" ");
}

// The pages of their own chunks (App.tsx), loaded before any is routed to.
beforeAll(() => loadPages());

describe("Data source detail", () => {
  it("is linked from the list, and shows the settings and a Check's answer", async () => {
    const { user, server } = await setup("/data-sources");
    const row = screen.getByRole("row", { name: "dataSources/prom" });
    await user.click(within(row).getByRole("link", { name: "Main Prometheus" }));
    expect(screen.getByRole("heading", { level: 1, name: "Main Prometheus" })).toBeTruthy();
    expect(screen.getByText("http://prom:9090", { selector: "dd div" })).toBeTruthy();
    expect(screen.getByRole("link", { name: "Edit" }).getAttribute("href")).toBe("/data-sources/prom/edit");

    server.checkAnswers.set("dataSources/prom", {
      reachable: true,
      url: "http://prom:9090",
      latency: { nanos: 8_000_000 },
      version: "2.53.0",
    });
    await user.click(screen.getByRole("button", { name: "Check dataSources/prom" }));
    await act(() => settle());
    const result = screen.getByRole("status", { name: "Check result" });
    expect(result.textContent).toContain("Reachable");
    expect(result.textContent).toContain("8 ms");
    expect(result.textContent).toContain("2.53.0");

    server.checkAnswers.set("dataSources/prom", {
      reachable: false,
      latency: { seconds: 5n },
      error: "http://prom:9090: connection refused",
    });
    await user.click(screen.getByRole("button", { name: "Check dataSources/prom" }));
    await act(() => settle());
    expect(result.textContent).toContain("Unreachable: http://prom:9090: connection refused");

    server.failNext("checkDataSource", serverError(Code.PermissionDenied, "not allowed"));
    await user.click(screen.getByRole("button", { name: "Check dataSources/prom" }));
    await act(() => settle());
    expect(screen.getByRole("alert").textContent).toContain("not allowed");
  });

  it("charts the health history with its failures, and adds the checks the servers' status brings", async () => {
    const { server, clock } = await setup("/data-sources/prom", (server, clock) => {
      server.addHealthCheck("dataSources/prom", { time: clock.time - 45_000, latencyMs: 10 });
      server.addHealthCheck("dataSources/prom", {
        time: clock.time - 30_000,
        reachable: false,
        latencyMs: 5000,
        error: "http://prom:9090: timed out",
      });
      server.addHealthCheck("dataSources/prom", { time: clock.time - 15_000, latencyMs: 14 });
      server.addHealthCheck("dataSources/loki", { time: clock.time - 15_000 });
    });
    expect(server.calls).toContain("listHealthChecks");
    expect(screen.getByTestId("health-summary").textContent).toMatch(/^3 checks, 1 failed · latest at .*: reachable in 14 ms$/);
    const chart = screen.getByRole("img", { name: "Check latency (ms); failed checks in red" });
    expect(chart.dataset.points).toBe("3");
    expect(within(screen.getByRole("list", { name: "Failed checks" })).getByRole("listitem").textContent).toContain(
      "http://prom:9090: timed out",
    );

    const statusWith = (time: number, reachable: boolean, dataSource = "dataSources/prom") =>
      server.serverStatus({
        server: "aiops-0:1",
        dataSources: [
          {
            dataSource,
            requests: 1,
            lastCheck: {
              time: timestampFromMs(time),
              reachable,
              error: reachable ? "" : "http://prom:9090: connection refused",
              latency: { nanos: 20_000_000 },
            },
          },
        ],
      });
    act(() => void statusWith(clock.time, false));
    await act(() => settle());
    expect(screen.getByTestId("health-summary").textContent).toMatch(/^4 checks, 2 failed · latest at .*: unreachable in 20 ms$/);
    await waitFor(() => expect(chart.dataset.points).toBe("4"));
    expect(screen.getAllByRole("listitem")[0].textContent).toContain("connection refused");

    // The same check again (another status), an older one, another data source's: nothing new.
    act(() => void statusWith(clock.time, false));
    act(() => void statusWith(clock.time - 20_000, true));
    act(() => void statusWith(clock.time + 15_000, true, "dataSources/loki"));
    await act(() => settle());
    expect(screen.getByTestId("health-summary").textContent).toMatch(/^4 checks, 2 failed/);
  });

  it("runs a PromQL query and draws its series with their labels", async () => {
    const { server, user, clock } = await setup();
    server.metricsAnswer = (request) => ({
      series: [
        {
          labels: labels({ __name__: "up", job: "api", instance: "a:9100" }),
          startTime: request.startTime,
          step: request.step,
          values: [1, 1, NaN, 1],
        },
        { labels: labels({ job: "db" }), startTime: request.startTime, step: request.step, values: [0, 1, 1, 1] },
      ],
      warnings: ["results cut short"],
    });
    const query = screen.getByRole("textbox", { name: "Query" });
    await user.type(query, "up");
    await user.selectOptions(screen.getByRole("combobox", { name: "Time range" }), "Last 15 minutes");
    expect((screen.getByRole("spinbutton", { name: "Step (seconds)" }) as HTMLInputElement).placeholder).toBe("auto (3)");
    await user.type(screen.getByRole("spinbutton", { name: "Step (seconds)" }), "60");
    await user.click(screen.getByRole("button", { name: "Run query" }));
    await act(() => settle());

    const { request } = server.metricQueries[0];
    expect(request).toMatchObject({ dataSource: "dataSources/prom", query: "up", step: { seconds: 60n } });
    const end = Number(request.endTime?.seconds);
    expect(end).toBe(clock.time / 1000);
    expect(end - Number(request.startTime?.seconds)).toBe(900);

    expect(screen.getByTestId("query-summary").textContent).toBe("2 series, 7 points · step 60 s");
    expect(screen.getByText("results cut short")).toBeTruthy();
    expect(screen.getByRole("img", { name: "Query result" }).dataset.points).toBe("4");
    expect(
      within(screen.getByRole("list", { name: "Series" }))
        .getAllByRole("listitem")
        .map((li) => li.textContent),
    ).toEqual(['up{instance="a:9100", job="api"}', '{job="db"}']);
  });

  it("shows the server's complaint about a query at the query field, and other errors as an alert", async () => {
    const { server, user } = await setup();
    server.metricsAnswer = () => {
      throw serverError(Code.InvalidArgument, "query: 1:4: parse error: unclosed left parenthesis", {
        reason: "INVALID_ARGUMENT",
        fields: { query: "1:4: parse error: unclosed left parenthesis" },
      });
    };
    const query = screen.getByRole("textbox", { name: "Query" });
    await user.type(query, "sum(up");
    await user.click(screen.getByRole("button", { name: "Run query" }));
    await act(() => settle());
    expect(query.getAttribute("aria-invalid")).toBe("true");
    expect(description(query)).toContain("1:4: parse error: unclosed left parenthesis");
    expect(document.activeElement).toBe(query);
    expect(screen.queryByTestId("query-summary")).toBeNull();

    server.failNext("queryMetrics", serverError(Code.Unavailable, "no URL of dataSources/prom answered"));
    await user.click(screen.getByRole("button", { name: "Run query" }));
    await act(() => settle());
    expect(query.getAttribute("aria-invalid")).toBe("false");
    expect(screen.getByRole("alert").textContent).toBe("no URL of dataSources/prom answered");

    server.failNext(
      "queryMetrics",
      serverError(Code.InvalidArgument, "step: more than 11000 points: raise the step", {
        fields: { step: "more than 11000 points: raise the step" },
      }),
    );
    const step = screen.getByRole("spinbutton", { name: "Step (seconds)" });
    await user.type(step, "1");
    await user.click(screen.getByRole("button", { name: "Run query" }));
    await act(() => settle());
    expect(step.getAttribute("aria-invalid")).toBe("true");
    expect(description(step)).toContain("more than 11000 points: raise the step");
    expect(query.getAttribute("aria-invalid")).toBe("false");

    await user.clear(query);
    await user.click(screen.getByRole("button", { name: "Run query" }));
    expect(description(query)).toContain("Type a query first.");
    expect(server.metricQueries).toHaveLength(3);
  });

  it("lists a Loki query's log lines, newest first, and runs LogQL metric queries as a chart", async () => {
    const { server, user, clock } = await setup("/data-sources/loki");
    const at = (ago: number) => timestampFromMs(clock.time - ago);
    server.logsAnswer = () => ({
      streams: [
        {
          labels: labels({ app: "api", level: "error" }),
          entries: [
            { time: at(1_000), line: "GET /orders 500" },
            { time: at(60_000), line: "GET /users 502" },
          ],
        },
        { labels: labels({ app: "worker" }), entries: [{ time: at(30_000), line: "job failed: timeout" }] },
      ],
    });
    expect((screen.getByRole("combobox", { name: "Mode" }) as HTMLSelectElement).value).toBe("logs");
    expect(screen.queryByRole("spinbutton", { name: "Step (seconds)" })).toBeNull();
    const query = screen.getByRole("textbox", { name: "Query" });
    await user.click(query);
    await user.paste('{app=~"api|worker"} |= "fail"');
    await user.click(screen.getByRole("button", { name: "Run query" }));
    await act(() => settle());

    expect(server.logQueries[0]).toMatchObject({ dataSource: "dataSources/loki", query: '{app=~"api|worker"} |= "fail"', limit: 500 });
    expect(screen.getByTestId("query-summary").textContent).toBe("3 lines from 2 streams, newest first");
    const rows = within(screen.getByRole("table", { name: "Log lines" })).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.querySelectorAll("td")[2].textContent)).toEqual([
      "GET /orders 500",
      "job failed: timeout",
      "GET /users 502",
    ]);
    expect(rows[1].querySelectorAll("td")[1].textContent).toBe('{app="worker"}');

    server.metricsAnswer = (request) => ({
      series: [{ labels: { app: "api" }, startTime: request.startTime, step: request.step, values: [3, 4] }],
    });
    await user.selectOptions(screen.getByRole("combobox", { name: "Mode" }), "Metrics");
    await user.clear(query);
    await user.click(query);
    await user.paste('sum by (app) (count_over_time({app="api"}[1m]))');
    await user.click(screen.getByRole("button", { name: "Run query" }));
    await act(() => settle());
    expect(screen.queryByRole("table", { name: "Log lines" })).toBeNull();
    expect(screen.getByTestId("query-summary").textContent).toBe("1 series, 2 points · step 12 s");
    expect(screen.getByRole("img", { name: "Query result" }).dataset.points).toBe("2");
  });

  it("says when there is no such data source", async () => {
    await setup("/data-sources/nope");
    expect(screen.getByText("There is no data source dataSources/nope.")).toBeTruthy();
  });
});
