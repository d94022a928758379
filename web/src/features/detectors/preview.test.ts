import { Code, ConnectError, Direction, MetricSeriesSchema, ScoredSeriesSchema, Severity } from "@aiops/client";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { serverError } from "../../utils/fakeServer";
import type { AnomalyView } from "../anomalies/model";
import {
  anomalyMarkers,
  countPerDay,
  formatSpan,
  joinSeries,
  MAX_PREVIEW_POINTS,
  MAX_PREVIEW_SERIES,
  previewKey,
  previewRange,
  previewStep,
  rangeForSeries,
  refusedSeriesCount,
  SEVERITY_COLOR,
} from "./preview";
import type { DetectorSpec } from "./model";

const at = (iso: string) => Date.parse(iso);
const seconds = (iso: string) => at(iso) / 1000;

function anomaly(init: Partial<AnomalyView>): AnomalyView {
  return {
    name: "",
    detector: "",
    seriesLabels: {},
    startTime: null,
    endTime: null,
    peakScore: 0.97,
    peakValue: 0,
    severity: Severity.WARNING,
    state: 0,
    createTime: null,
    updateTime: null,
    etag: "",
    active: false,
    noData: false,
    ...init,
  };
}

describe("previewRange", () => {
  it("ends on the last whole step before now and includes both ends", () => {
    const range = previewRange(at("2026-01-01T12:00:30Z"), 24 * 3600, 60);
    expect(range).toEqual({
      start: seconds("2025-12-31T12:00:00Z"),
      end: seconds("2026-01-01T12:00:00Z"),
      step: 60,
      points: 1441,
      clamped: false,
      series: 1,
    });
  });

  it("is cut to the point limit, and says so", () => {
    const range = previewRange(at("2026-01-01T12:00:00Z"), 7 * 86400, 1);
    expect(range.clamped).toBe(true);
    expect(range.points).toBe(MAX_PREVIEW_POINTS);
    expect(range.end - range.start).toBe(MAX_PREVIEW_POINTS - 1);
    expect(formatSpan(range.end - range.start)).toBe("27.8 hours");
    // Exactly at the limit is not cut: 100000 points of 6 s are 599994 s.
    expect(previewRange(0, 6 * 99_999, 6)).toMatchObject({ points: MAX_PREVIEW_POINTS, clamped: false });
  });

  it("shares the point limit between the query's series, keeping the end", () => {
    const now = at("2026-01-01T12:00:00Z");
    // 3 series at 1 s over 24 hours: 86,401 points each, 259,203 in all.
    const asked = previewRange(now, 24 * 3600, 1);
    expect(asked).toMatchObject({ points: 86_401, clamped: false, series: 1 });
    const cut = rangeForSeries(asked, 24 * 3600, 3);
    expect(cut).toEqual({ start: asked.end - 33_332, end: asked.end, step: 1, points: 33_333, clamped: true, series: 3 });
    expect(formatSpan(cut!.end - cut!.start)).toBe("9.3 hours");
    // Over 7 days the same: the cut depends on the series, not on the range asked.
    expect(rangeForSeries(previewRange(now, 7 * 86400, 1), 7 * 86400, 3)).toEqual(cut);
    // They fit already: one series of 100,000, two of 50,000 (60 s over 24 h: 1441 points each).
    expect(rangeForSeries(previewRange(now, 7 * 86400, 1), 7 * 86400, 1)).toBeNull();
    expect(rangeForSeries(previewRange(now, 24 * 3600, 60), 24 * 3600, 69)).toBeNull();
    expect(rangeForSeries(previewRange(now, 24 * 3600, 60), 24 * 3600, 70)).toMatchObject({ points: 1428, series: 70 });
    // No cut helps more than 1000 series: the server refuses them anyway.
    expect(rangeForSeries(asked, 24 * 3600, MAX_PREVIEW_SERIES)).toMatchObject({ points: 100 });
    expect(rangeForSeries(asked, 24 * 3600, MAX_PREVIEW_SERIES + 1)).toBeNull();
  });

  it("reads the series count from the server's refusals, and from nothing else", () => {
    const refusal = (message: string, field: string, description: string) =>
      serverError(Code.InvalidArgument, message, { reason: "INVALID_ARGUMENT", fields: { [field]: description } });
    const backtest = "the query returns 3 series of 100000 points, over 1000 series or 100000 points in all: narrow it";
    expect(refusedSeriesCount(refusal(`range: ${backtest}`, "range", backtest))).toBe(3);
    const metrics = "returns 6 series of 100000 points, more than 400000 values: narrow it or raise the step";
    expect(refusedSeriesCount(refusal(`query: ${metrics}`, "query", metrics))).toBe(6);
    // From the message when the details are lost on the way.
    expect(refusedSeriesCount(new ConnectError(`range: ${backtest}`, Code.InvalidArgument))).toBe(3);
    expect(refusedSeriesCount(refusal("range: more than 100000 steps", "range", "more than 100000 steps"))).toBeNull();
    expect(refusedSeriesCount(new ConnectError(`range: ${backtest}`, Code.Unavailable))).toBeNull();
    expect(refusedSeriesCount(new Error("offline"))).toBeNull();
  });

  it("has at least two points when the step is longer than the range", () => {
    expect(previewRange(at("2026-01-01T12:00:00Z"), 6 * 3600, 86400)).toMatchObject({ points: 2, clamped: false });
  });

  it("takes the server's default step when the form leaves it empty", () => {
    expect(previewStep(null)).toBe(60);
    expect(previewStep(300)).toBe(300);
  });
});

describe("joinSeries", () => {
  it("joins the query's values to the scored series by labels and time", () => {
    const start = seconds("2026-01-01T00:00:00Z");
    const scored = [
      create(ScoredSeriesSchema, {
        labels: { job: "api", instance: "a" },
        startTime: timestampFromMs(start * 1000),
        scores: [0.1, 0.2, 0.99],
        expected: [1, 1, 1],
        lower: [0, 0, 0],
        upper: [2, 2, 2],
        severities: [Severity.UNSPECIFIED, Severity.UNSPECIFIED, Severity.CRITICAL],
      }),
      create(ScoredSeriesSchema, {
        labels: { job: "api", instance: "b" },
        startTime: timestampFromMs(start * 1000),
        scores: [0, 0],
      }),
      create(ScoredSeriesSchema, { labels: { job: "gone" }, startTime: timestampFromMs(start * 1000), scores: [0] }),
    ];
    const metrics = [
      // Another order, another first point (a step earlier), the labels in another order.
      create(MetricSeriesSchema, {
        labels: { instance: "b", job: "api" },
        startTime: timestampFromMs((start - 60) * 1000),
        step: { seconds: 60n },
        values: [7, 8, 9],
      }),
      create(MetricSeriesSchema, {
        labels: { instance: "a", job: "api" },
        startTime: timestampFromMs(start * 1000),
        step: { seconds: 60n },
        values: [1, NaN],
      }),
    ];
    const joined = joinSeries(scored, metrics, 60);
    expect(joined.map((s) => s.key)).toEqual(['{instance="a", job="api"}', '{instance="b", job="api"}', '{job="gone"}']);
    expect(joined[0]).toMatchObject({ start, step: 60, scores: [0.1, 0.2, 0.99], expected: [1, 1, 1], upper: [2, 2, 2] });
    // Past the query's last point, and where it had no sample: NaN (a gap).
    expect(joined[0].values).toEqual([1, NaN, NaN]);
    expect(joined[1].values).toEqual([8, 9]);
    expect(joined[2].values).toEqual([NaN]);
  });
});

describe("countPerDay", () => {
  it("counts by the day in UTC each anomaly starts, every day of the range included", () => {
    const days = countPerDay(
      [
        anomaly({ startTime: at("2025-12-31T23:59:00Z"), severity: Severity.CRITICAL }),
        anomaly({ startTime: at("2025-12-31T23:30:00Z") }),
        anomaly({ startTime: at("2026-01-01T00:00:00Z") }),
        anomaly({ startTime: at("2026-01-02T08:00:00Z"), severity: Severity.CRITICAL }),
      ],
      at("2025-12-30T12:00:00Z"),
      at("2026-01-02T12:00:00Z"),
    );
    expect(days).toEqual([
      { day: "2025-12-30", warning: 0, critical: 0, total: 0 },
      { day: "2025-12-31", warning: 1, critical: 1, total: 2 },
      { day: "2026-01-01", warning: 1, critical: 0, total: 1 },
      { day: "2026-01-02", warning: 0, critical: 1, total: 1 },
    ]);
  });
});

describe("anomalyMarkers", () => {
  it("marks each anomaly of the series at its highest score, coloured by severity", () => {
    const start = seconds("2026-01-01T00:00:00Z");
    const [series] = joinSeries(
      [
        create(ScoredSeriesSchema, {
          labels: { job: "api" },
          startTime: timestampFromMs(start * 1000),
          scores: [0, 0.96, 0.995, 0.97, 0, 0.96],
        }),
      ],
      [create(MetricSeriesSchema, { labels: { job: "api" }, startTime: timestampFromMs(start * 1000), step: { seconds: 60n }, values: [1, 5, 9, 6, 1, 4] })],
      60,
    );
    const markers = anomalyMarkers(series, [
      anomaly({
        seriesLabels: { job: "api" },
        startTime: (start + 60) * 1000,
        endTime: (start + 180) * 1000,
        severity: Severity.CRITICAL,
        peakScore: 0.995,
      }),
      anomaly({ seriesLabels: { job: "api" }, startTime: (start + 300) * 1000, endTime: (start + 300) * 1000, peakScore: 0.96 }),
      anomaly({ seriesLabels: { job: "other" }, startTime: start * 1000 }),
    ]);
    expect(markers).toEqual([
      { time: start + 120, value: 9, color: SEVERITY_COLOR[Severity.CRITICAL], label: "Critical anomaly, peak score 0.995", severity: Severity.CRITICAL },
      { time: start + 300, value: 4, color: SEVERITY_COLOR[Severity.WARNING], label: "Warning anomaly, peak score 0.960", severity: Severity.WARNING },
    ]);
  });
});

describe("previewKey", () => {
  it("ignores what does not change scores", () => {
    const spec: DetectorSpec = {
      displayName: "A",
      description: "first",
      dataSource: "dataSources/prom",
      query: "up",
      stepSeconds: null,
      algorithm: null,
      direction: Direction.UNSPECIFIED,
      minDeviation: null,
      warning: null,
      critical: null,
    };
    expect(previewKey({ ...spec, displayName: "B", description: "" }, "24h")).toBe(previewKey(spec, "24h"));
    expect(previewKey({ ...spec, warning: 0.9 }, "24h")).not.toBe(previewKey(spec, "24h"));
    expect(previewKey(spec, "7d")).not.toBe(previewKey(spec, "24h"));
  });
});
