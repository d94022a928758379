import { Code, type ServerStatusSchema } from "@aiops/client";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { act, screen, waitFor, within } from "@testing-library/react";
import { beforeAll, describe, expect, it } from "vitest";
import { AppRoutes, loadPages } from "../../App";
import { FakeAiops, serverError } from "../../utils/fakeServer";
import { FakeClock, renderWithProviders, settle, startedStore } from "../../utils/test-utils";

async function setup() {
  const clock = new FakeClock();
  const server = new FakeAiops(clock.now);
  const { store } = await startedStore({ server, clock });
  const rendered = renderWithProviders(<AppRoutes />, { store, route: "/dashboard" });
  await act(() => settle());
  return { ...rendered, server, clock, store };
}

type StatusInit = MessageInitShape<typeof ServerStatusSchema>;

function status(clock: FakeClock, init: Partial<StatusInit> = {}): StatusInit {
  const defaults: StatusInit = {
    server: "aiops-0:41",
    // Up an hour, two minutes and three seconds.
    startTime: timestampFromMs(clock.time - 3_723_000),
    interval: { seconds: 2n },
    openStreams: 3,
    eventsPerSecond: 12.5,
    cpuCores: 0.25,
    memoryBytes: 150n * 1024n * 1024n,
    detectors: [
      { detector: "detectors/api", lagSeconds: 4.5, stepSeconds: 0.12, series: 3 },
      { detector: "detectors/new", lagSeconds: NaN, stepSeconds: 0, series: 0 },
    ],
    dataSources: [
      {
        dataSource: "dataSources/prom",
        requests: 10,
        errors: 1,
        meanLatencySeconds: 0.034,
        lastCheck: {
          time: timestampFromMs(clock.time - 5_000),
          reachable: true,
          url: "http://prom:9090",
          latency: { nanos: 8_000_000 },
        },
      },
    ],
  };
  return { ...defaults, ...init } as StatusInit;
}

const text = (testId: string) => screen.getByTestId(testId).textContent;

// The pages of their own chunks (App.tsx), loaded before any is routed to.
beforeAll(() => loadPages());

describe("System dashboard", () => {
  it("waits for the server's status, shows its numbers, and updates them with the next", async () => {
    const { server, clock } = await setup();
    expect(screen.getByRole("heading", { level: 1, name: "System" })).toBeTruthy();
    expect(screen.getByRole("status").textContent).toBe("Waiting for the server's status…");
    // Its own stream, asking for SERVER_STATUS, beside the tab's.
    expect(server.statusStreams).toBe(1);
    expect(screen.getByTestId("status-stream").textContent).toBe("Live");

    act(() => void server.serverStatus(status(clock)));
    await act(() => settle());
    expect(screen.queryByText("Waiting for the server's status…")).toBeNull();
    expect(text("open-streams")).toBe("3");
    expect(text("events-per-second")).toBe("12.5/s");
    expect(text("cpu-cores")).toBe("0.25 cores");
    expect(text("memory")).toBe("150 MiB");
    expect(text("uptime")).toBe("1 h 2 min");

    const api = screen.getByRole("row", { name: "detectors/api" });
    const cells = within(api).getAllByRole("cell").map((c) => c.textContent);
    expect(cells).toEqual(["detectors/api", "4.5 s", "120 ms", "3"]);
    expect(within(api).getByRole("link", { name: "detectors/api" }).getAttribute("href")).toBe("/detectors/api");
    expect(screen.getByRole("row", { name: "detectors/new" }).textContent).toContain("no point yet");

    const prom = within(screen.getByRole("table", { name: "Data source activity" })).getByRole("row", {
      name: "dataSources/prom",
    });
    expect(prom.textContent).toContain("105/s"); // ten requests over two seconds
    expect(prom.textContent).toContain("10%1 failed");
    expect(prom.textContent).toContain("34 ms");
    expect(prom.textContent).toContain("Reachable");
    expect(prom.textContent).toContain("8 ms");

    const openStreams = screen.getByRole("img", { name: "Open streams" });
    await waitFor(() => expect(openStreams.dataset.points).toBe("1"));

    await act(() => clock.advance(2_000));
    act(() => void server.serverStatus(status(clock, { openStreams: 4, eventsPerSecond: 0, cpuCores: 1.5 })));
    await act(() => settle());
    expect(text("open-streams")).toBe("4");
    expect(text("events-per-second")).toBe("0/s");
    expect(text("cpu-cores")).toBe("1.5 cores");
    await waitFor(() => expect(openStreams.dataset.points).toBe("2"));
  });

  it("adds up several servers, lists them, and shows one alone when chosen", async () => {
    const { server, clock, user } = await setup();
    act(() => void server.serverStatus(status(clock)));
    act(
      () =>
        void server.serverStatus(
          status(clock, {
            server: "aiops-1:7",
            startTime: timestampFromMs(clock.time - 60_000),
            openStreams: 2,
            eventsPerSecond: 12,
            cpuCores: 0.5,
            memoryBytes: 50n * 1024n * 1024n,
            detectors: [{ detector: "detectors/db", lagSeconds: 61, stepSeconds: 2, series: 1 }],
            dataSources: [],
          }),
        ),
    );
    await act(() => settle());
    expect(text("open-streams")).toBe("5");
    expect(text("events-per-second")).toBe("12.5/s"); // every server hears every event: the highest
    expect(text("cpu-cores")).toBe("0.75 cores");
    expect(text("memory")).toBe("200 MiB");
    expect(text("uptime")).toBe("1 min"); // the newest server's
    const servers = screen.getByRole("table", { name: "Servers" });
    expect(within(servers).getAllByRole("row").slice(1).map((r) => r.getAttribute("aria-label"))).toEqual([
      "aiops-0:41",
      "aiops-1:7",
    ]);
    const db = screen.getByRole("row", { name: "detectors/db" });
    expect(within(db).getAllByRole("cell").map((c) => c.textContent)).toEqual(["detectors/db", "aiops-1:7", "1 min 1 s", "2 s", "1"]);

    await user.selectOptions(screen.getByRole("combobox", { name: "Server" }), "aiops-1:7");
    expect(text("open-streams")).toBe("2");
    expect(screen.queryByRole("row", { name: "detectors/api" })).toBeNull();
    expect(screen.getByRole("row", { name: "detectors/db" })).toBeTruthy();

    // A server silent for three of its intervals is gone (here: stopped); the totals follow.
    await act(() => clock.advance(11_000));
    act(() => void server.serverStatus(status(clock, { openStreams: 1 })));
    await act(() => settle());
    expect(text("open-streams")).toBe("1");
    expect(screen.queryByRole("table", { name: "Servers" })).toBeNull();
    expect(screen.queryByRole("combobox", { name: "Server" })).toBeNull();
  });

  it("says why its stream failed, and carries on when it is back", async () => {
    const clock = new FakeClock();
    const server = new FakeAiops(clock.now);
    const { store } = await startedStore({ server, clock });
    server.failNext("subscribe", serverError(Code.Unavailable, "the server is shutting down"));
    renderWithProviders(<AppRoutes />, { store, route: "/dashboard" });
    await act(() => settle());
    expect(screen.getByRole("alert").textContent).toContain(
      "The status stream failed: the server is shutting down (Unavailable)",
    );
    expect(screen.getByTestId("status-stream").textContent).toBe("Reconnecting");

    await act(() => clock.advance(5_000));
    expect(screen.queryByRole("alert")).toBeNull();
    act(() => void server.serverStatus(status(clock, { openStreams: 2 })));
    await act(() => settle());
    expect(text("open-streams")).toBe("2");
  });
});
