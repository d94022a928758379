import { Anomaly_State, Detector_State, EventType } from "@aiops/client";
import { Code, ConnectError } from "@connectrpc/connect";
import { act, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AppRoutes } from "../../App";
import { FakeAiops, type FakeScoresInit } from "../../utils/fakeServer";
import { FakeClock, makeTestStore, renderWithProviders, settle, startedStore } from "../../utils/test-utils";
import { streamStarted } from "../connection/connectionSlice";
import { FILTER_DEBOUNCE_MS } from "./DetectorSeries";
import { exactSelector } from "./seriesData";

const STEP = 60;
const POINTS = 10;

/** A series of the detector: ten points a step apart, the last one at `end` with `score`. */
function series(instance: string, score: number, end: number, job = "api"): FakeScoresInit {
  const start = end - (POINTS - 1) * STEP;
  return {
    labels: { __name__: "http_latency", instance, job },
    start,
    values: Array.from({ length: POINTS }, (_, i) => 100 + i),
    scores: Array.from({ length: POINTS }, (_, i) => (i === POINTS - 1 ? score : 0.1)),
    expected: Array.from({ length: POINTS }, () => 100),
    lower: Array.from({ length: POINTS }, () => 90),
    upper: Array.from({ length: POINTS }, () => 110),
  };
}

const title = (instance: string, job = "api") => `http_latency{instance="${instance}", job="${job}"}`;

const SIX_SERIES = (end: number) => [
  series("web-1", 0.2, end),
  series("web-2", 0.995, end),
  series("web-3", 0.5, end),
  series("db-1", 0.93, end, "db"),
  series("web-4", 0.4, end),
  series("web-5", 0.1, end),
];

async function setup({ state = Detector_State.RUNNING, scores = SIX_SERIES } = {}) {
  const clock = new FakeClock();
  const server = new FakeAiops(clock.now);
  server.addDataSource({ name: "dataSources/prom" });
  server.addDetector({ name: "detectors/api", state, step: { seconds: BigInt(STEP) } });
  const end = Math.floor(clock.now() / 1000 / STEP) * STEP;
  server.addScores("detectors/api", STEP, scores(end));
  const { store } = await startedStore({ server, clock });
  const rendered = renderWithProviders(<AppRoutes />, { store, route: "/detectors/api" });
  await events();
  return { ...rendered, server, clock, end };
}

/** Lets the streams' events and the calls' answers reach React. */
const events = () => act(() => settle());

const picker = () => screen.getByRole("list", { name: "Series of detectors/api" });
const checkboxes = () => within(picker()).getAllByRole("checkbox") as HTMLInputElement[];
const charts = () => screen.queryAllByRole("img").map((figure) => figure.getAttribute("aria-label"));
const points = (name: string) => screen.getByRole("img", { name }).getAttribute("data-points");

describe("Detector detail: series", () => {
  it("ranks the series by their latest score and charts the top four", async () => {
    await setup();
    expect(checkboxes().map((box) => box.getAttribute("aria-label"))).toEqual([
      title("web-2"),
      title("db-1", "db"),
      title("web-3"),
      title("web-4"),
      title("web-1"),
      title("web-5"),
    ]);
    expect(checkboxes().map((box) => box.checked)).toEqual([true, true, true, true, false, false]);
    expect(charts()).toEqual([title("web-2"), title("db-1", "db"), title("web-3"), title("web-4")]);
    expect(screen.getByText(/6 series, the most anomalous first/)).toBeTruthy();
  });

  it("shows first in each entry what tells the series apart, long labels or not; the whole series in its title", async () => {
    // A long label every series has sorts first in the series' text: cut to one width, every
    // entry would read the same.
    const extra = "x".repeat(300);
    const { user } = await setup({
      scores: (end) =>
        SIX_SERIES(end).map((init) => ({ ...init, labels: { ...init.labels, aaa_build: extra } })),
    });
    const full = (instance: string, job = "api") =>
      `http_latency{aaa_build="${extra}", instance="${instance}", job="${job}"}`;
    const entries = within(picker())
      .getAllByRole("listitem")
      .map((item) => item.querySelector("code")!);
    // Most values first: the instance, then the job; then what they share.
    expect(entries.map((code) => code.querySelector(".series-option-distinct")?.textContent)).toEqual([
      '{instance="web-2", job="api"}',
      '{instance="db-1", job="db"}',
      '{instance="web-3", job="api"}',
      '{instance="web-4", job="api"}',
      '{instance="web-1", job="api"}',
      '{instance="web-5", job="api"}',
    ]);
    expect(entries[0].textContent).toBe(`{instance="web-2", job="api"} http_latency{aaa_build="${extra}"}`);
    // However narrow the list, the start of each entry tells it apart.
    expect(new Set(entries.map((code) => code.textContent!.slice(0, 20))).size).toBe(6);
    // The whole series in the tooltip and in the checkbox's name, as before.
    expect(entries[1].getAttribute("title")).toBe(full("db-1", "db"));
    expect(checkboxes().map((box) => box.getAttribute("aria-label"))).toEqual([
      full("web-2"),
      full("db-1", "db"),
      full("web-3"),
      full("web-4"),
      full("web-1"),
      full("web-5"),
    ]);
    await user.click(within(picker()).getByRole("checkbox", { name: full("web-5") }));
    await events();
    expect(charts()).toContain(full("web-5"));
  });

  it("lets people pick other series", async () => {
    const { user } = await setup();
    await user.click(within(picker()).getByRole("checkbox", { name: title("web-5") }));
    await user.click(within(picker()).getByRole("checkbox", { name: title("web-2") }));
    await events();
    expect(charts()).toEqual([title("db-1", "db"), title("web-3"), title("web-4"), title("web-5")]);
  });

  it("narrows the series with a selector, after a pause in the typing, and shows the filter's error", async () => {
    const { server, clock, user } = await setup();
    const box = screen.getByRole("searchbox", { name: "Filter series" });
    await user.click(box);
    await user.paste('{job="api"');
    await events();
    // Not yet: the box waits for the typing to stop.
    expect(server.seriesLists.map((request) => request.filter)).toEqual([""]);
    await act(() => clock.advance(FILTER_DEBOUNCE_MS));
    await events();
    expect(server.seriesLists.map((request) => request.filter)).toEqual(["", '{job="api"']);
    expect(box.getAttribute("aria-invalid")).toBe("true");
    const error = document.getElementById(box.getAttribute("aria-describedby")!.split(" ").pop()!)!;
    expect(error.textContent).toContain("unbalanced braces");

    await user.paste(', instance=~"web-[12]"}');
    await act(() => clock.advance(FILTER_DEBOUNCE_MS));
    await events();
    expect(box.getAttribute("aria-invalid")).toBe("false");
    expect(checkboxes().map((b) => b.getAttribute("aria-label"))).toEqual([title("web-2"), title("web-1")]);
    // Nobody picked yet: the top series of the new selection are shown.
    expect(charts()).toEqual([title("web-2"), title("web-1")]);
  });

  it("reads the top series' points in one call beside the listing, a series picked later on its exact labels, then appends the live ones", async () => {
    const { server, end, user } = await setup();
    // One ReadDetectorScores for the four charts shown: the top of the same ranking, every point kept.
    expect(server.scoreReads).toHaveLength(1);
    expect(server.scoreReads[0]).toMatchObject({ detector: "detectors/api", filter: "", pageSize: 4 });
    expect(server.scoreReads[0].range).toBeUndefined();
    expect(server.seriesLists).toHaveLength(1);
    for (const shown of [title("web-2"), title("db-1", "db"), title("web-3"), title("web-4")]) {
      expect(points(shown)).toBe(String(POINTS));
    }

    // A series ticked later: its own read, on its exact labels.
    await user.click(within(picker()).getByRole("checkbox", { name: title("web-5") }));
    await events();
    const picked = series("web-5", 0, end).labels;
    expect(server.scoreReads.slice(1).map((r) => r.filter)).toEqual([exactSelector(picked)]);
    expect(exactSelector(picked)).toBe('{__name__="http_latency", instance="web-5", job="api"}');
    await waitFor(() => expect(points(title("web-5"))).toBe(String(POINTS)));

    // Its own stream: live SCORES of this detector only, nothing replayed.
    const live = server.subscribes.find((request) => request.types.includes(EventType.SCORES));
    expect(live?.detectors).toEqual(["detectors/api"]);
    expect(live?.afterSequence).toBe(0n);
    await waitFor(() => expect(screen.getByText("Live")).toBeTruthy());

    // The latest points come again with a new one: the old ones replaced, the new one appended.
    const labels = series("web-2", 0, end).labels;
    const reads = server.scoreReads.length;
    server.pushScores("detectors/api", [
      { labels, start: end, values: [200, 201], scores: [0.5, 0.999], expected: [100, 100] },
    ]);
    await events();
    await waitFor(() => expect(points(title("web-2"))).toBe(String(POINTS + 1)));
    expect(server.scoreReads.length).toBe(reads);
  });

  it("starts its calls from the route, before the app's lists are in; the detector's thresholds come after", async () => {
    const clock = new FakeClock();
    const server = new FakeAiops(clock.now);
    server.addDataSource({ name: "dataSources/prom" });
    server.addDetector({
      name: "detectors/api",
      state: Detector_State.RUNNING,
      step: { seconds: BigInt(STEP) },
      thresholds: { warning: 0.3, critical: 0.6 },
    });
    const end = Math.floor(clock.now() / 1000 / STEP) * STEP;
    server.addScores("detectors/api", STEP, SIX_SERIES(end));
    // A fresh tab: the store knows nothing yet, its stream not even started.
    const { store } = makeTestStore({ server, clock });
    renderWithProviders(<AppRoutes />, { store, route: "/detectors/api" });
    await events();
    expect(server.calls.filter((call) => call === "listDetectors")).toEqual([]);
    expect(server.seriesLists).toHaveLength(1);
    expect(server.scoreReads).toHaveLength(1);
    expect(screen.getByRole("heading", { name: "detectors/api" })).toBeTruthy();
    expect(screen.getByText("Connecting to the server to load the detector…")).toBeTruthy();
    expect(charts()).toEqual([title("web-2"), title("db-1", "db"), title("web-3"), title("web-4")]);
    expect(points(title("web-3"))).toBe(String(POINTS));
    // Not known to be running yet: no note that it is not, no live stream.
    expect(screen.queryByRole("note")).toBeNull();
    expect(server.scoreStreams).toBe(0);
    // The default thresholds meanwhile: web-3's 0.5 is no anomaly.
    const markers = (name: string) => screen.getByRole("img", { name }).getAttribute("data-markers");
    expect(markers(title("web-3"))).toBe("0");

    store.dispatch(streamStarted());
    await events();
    // The detector is in: its own thresholds mark web-3's last point; nothing is listed or read again.
    expect(document.querySelector(".detail .facts")).not.toBeNull();
    expect(screen.queryByText("Connecting to the server to load the detector…")).toBeNull();
    expect(markers(title("web-3"))).toBe("1");
    expect(server.seriesLists).toHaveLength(1);
    expect(server.scoreReads).toHaveLength(1);
    await waitFor(() => expect(screen.getByText("Live")).toBeTruthy());
  });

  it("reads each series shown alone when the read of the top fails, and not before it answers", async () => {
    const clock = new FakeClock();
    const server = new FakeAiops(clock.now);
    server.addDataSource({ name: "dataSources/prom" });
    server.addDetector({ name: "detectors/api", state: Detector_State.STOPPED, step: { seconds: BigInt(STEP) } });
    const end = Math.floor(clock.now() / 1000 / STEP) * STEP;
    server.addScores("detectors/api", STEP, SIX_SERIES(end));
    const { store } = await startedStore({ server, clock });
    const release = server.holdNext("readDetectorScores");
    renderWithProviders(<AppRoutes />, { store, route: "/detectors/api" });
    await events();
    // Listed first: the four charts wait for the read of the top, no read of their own.
    expect(charts()).toEqual([title("web-2"), title("db-1", "db"), title("web-3"), title("web-4")]);
    expect(screen.getAllByText("Loading the points…")).toHaveLength(4);
    expect(server.scoreReads).toHaveLength(1);

    release(new ConnectError("busy", Code.Unavailable));
    await events();
    expect(server.scoreReads.slice(1).map((r) => r.filter)).toEqual(
      [series("web-2", 0, end), series("db-1", 0, end, "db"), series("web-3", 0, end), series("web-4", 0, end)].map(
        (s) => exactSelector(s.labels),
      ),
    );
    await waitFor(() => expect(points(title("web-4"))).toBe(String(POINTS)));
    expect(screen.queryByText("Loading the points…")).toBeNull();
  });

  it("reads the points a paced SCORES event skipped before appending its own", async () => {
    const { server, end } = await setup();
    const labels = series("web-3", 0, end).labels;
    await waitFor(() => expect(points(title("web-3"))).toBe(String(POINTS)));
    const reads = server.scoreReads.length;

    // Two points scored while no event carried them (the server kept them), then an event with
    // only the newest.
    server.addScores("detectors/api", STEP, [{ labels, start: end + STEP, values: [300, 301], scores: [0.1, 0.2] }]);
    server.pushScores("detectors/api", [{ labels, start: end + 3 * STEP, values: [302], scores: [0.3] }]);
    await events();

    const fill = server.scoreReads.slice(reads);
    expect(fill).toHaveLength(1);
    expect(fill[0].filter).toBe(exactSelector(labels));
    expect(Number(fill[0].range?.startTime?.seconds)).toBe(end + STEP);
    expect(Number(fill[0].range?.endTime?.seconds)).toBe(end + 2 * STEP);
    await waitFor(() => expect(points(title("web-3"))).toBe(String(POINTS + 3)));
  });

  it("shows a stopped detector's kept points, says it is not running and opens no stream", async () => {
    const { server } = await setup({ state: Detector_State.STOPPED });
    expect(screen.getByRole("note").textContent).toContain("detectors/api is not running");
    await waitFor(() => expect(points(title("web-2"))).toBe(String(POINTS)));
    expect(server.scoreStreams).toBe(0);
    expect(screen.queryByText("Live")).toBeNull();
  });

  it("says so when the server keeps no points of the detector", async () => {
    const clock = new FakeClock();
    const server = new FakeAiops(clock.now);
    server.addDataSource({ name: "dataSources/prom" });
    server.addDetector({ name: "detectors/api", state: Detector_State.STOPPED });
    const { store } = await startedStore({ server, clock });
    renderWithProviders(<AppRoutes />, { store, route: "/detectors/api" });
    await events();
    expect(screen.getByText(/No points kept/)).toBeTruthy();
    expect(charts()).toEqual([]);
  });
});

describe("Detector detail: anomalies", () => {
  it("lists the detector's anomalies with their actions", async () => {
    const clock = new FakeClock();
    const server = new FakeAiops(clock.now);
    server.addDataSource({ name: "dataSources/prom" });
    server.addDetector({ name: "detectors/api", state: Detector_State.RUNNING });
    server.addDetector({ name: "detectors/db" });
    server.addAnomaly({ name: "detectors/api/anomalies/a1", seriesLabels: { job: "api" } });
    server.addAnomaly({ name: "detectors/db/anomalies/d1" });
    const { store } = await startedStore({ server, clock });
    const { user } = renderWithProviders(<AppRoutes />, { store, route: "/detectors/api" });
    await events();

    const table = screen.getByRole("table", { name: "Anomalies of detectors/api" });
    expect(within(table).queryByRole("row", { name: "detectors/db/anomalies/d1" })).toBeNull();
    const row = within(table).getByRole("row", { name: "detectors/api/anomalies/a1" });
    await user.click(within(row).getByRole("button", { name: "Acknowledge" }));
    await events();
    expect(server.anomalies.get("detectors/api/anomalies/a1")?.state).toBe(Anomaly_State.ACKNOWLEDGED);
    expect(within(row).getByText("Acknowledged")).toBeTruthy();

    // A new one comes live.
    server.addAnomaly({ name: "detectors/api/anomalies/a2" }, true);
    await events();
    expect(within(table).getByRole("row", { name: "detectors/api/anomalies/a2" })).toBeTruthy();
  });
});
