// The backtest preview of the detector form: the settings being typed, scored over a recent
// range of the data source (BacktestDetector with `range`), saving nothing. BacktestDetector
// answers scores, expected values and bands but not the values themselves: QueryMetrics runs
// the same query over the same steps beside it, and the two are joined per series by labels.
// The pure parts (range, join, counts, markers) are apart from the hook that runs them.
import {
  Severity,
  type AiopsClients,
  type Anomaly,
  type BacktestDetectorResponse,
  type MetricSeries,
  type QueryMetricsResponse,
  type ScoredSeries,
} from "@aiops/client";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Clock, TimerHandle } from "../../app/clock";
import { toActionError, type ActionError } from "../../utils/errors";
import { secondsToDuration, timestampMs } from "../../utils/proto";
import { formatLabels, toAnomalyView, type AnomalyView } from "../anomalies/model";
import { toDetectorMessage, type DetectorSpec } from "./model";

/**
 * The most points one backtest scores, in all: series × steps (server/aiops/detectors/
 * backtest.py, MAX_POINTS). A range of one series is cut to this many steps; the answer of a
 * query with N series, to a N-th of them.
 */
export const MAX_PREVIEW_POINTS = 100_000;
/** The most series one backtest scores (backtest.py, MAX_SERIES): more, and no cut helps. */
export const MAX_PREVIEW_SERIES = 1000;
/**
 * The step the server takes when the form leaves it empty (`Detector.step`: 60 s when unset):
 * needed here to lay the range on the same steps and to time the scored points.
 */
export const DEFAULT_STEP_SECONDS = 60;
/** How long the form must stay unchanged before the preview runs again. */
export const PREVIEW_DEBOUNCE_MS = 500;
/** How many series get a chart; the others are counted. */
export const MAX_PREVIEW_CHARTS = 3;

export const PREVIEW_RANGES = [
  { value: "6h", label: "Last 6 hours", seconds: 6 * 3600 },
  { value: "24h", label: "Last 24 hours", seconds: 24 * 3600 },
  { value: "3d", label: "Last 3 days", seconds: 3 * 86400 },
  { value: "7d", label: "Last 7 days", seconds: 7 * 86400 },
] as const;

export type PreviewRangeKey = (typeof PREVIEW_RANGES)[number]["value"];
export const DEFAULT_PREVIEW_RANGE: PreviewRangeKey = "24h";

export function rangeSeconds(key: PreviewRangeKey): number {
  return (PREVIEW_RANGES.find((range) => range.value === key) ?? PREVIEW_RANGES[1]).seconds;
}

/** The steps a preview scores, in seconds since the epoch, both ends included. */
export interface PreviewRange {
  start: number;
  end: number;
  step: number;
  /** How many points a series has: (end - start) / step + 1. */
  points: number;
  /** Whether the range asked for was cut to the point limit (of `series` series). */
  clamped: boolean;
  /** How many series share the `MAX_PREVIEW_POINTS` limit: 1 until the query says it has more. */
  series: number;
}

/** The step the preview lays its range on: the form's, else the server's default. */
export function previewStep(stepSeconds: number | null): number {
  return stepSeconds !== null && Number.isFinite(stepSeconds) && stepSeconds >= 1
    ? Math.floor(stepSeconds)
    : DEFAULT_STEP_SECONDS;
}

/**
 * The last `seconds` before `nowMs` on whole steps (so that seasonal slots match those of a
 * live detector), cut to the point limit shared by `series` series (floor(limit / series)
 * points each), the end kept: at least two points.
 */
export function previewRange(nowMs: number, seconds: number, stepSeconds: number, series = 1): PreviewRange {
  const step = Math.max(1, Math.floor(stepSeconds));
  const end = Math.floor(nowMs / 1000 / step) * step;
  const count = Math.max(1, Math.floor(series));
  const most = Math.max(2, Math.floor(MAX_PREVIEW_POINTS / count));
  let steps = Math.max(1, Math.floor(seconds / step));
  const clamped = steps + 1 > most;
  if (clamped) steps = most - 1;
  return { start: end - steps * step, end, step, points: steps + 1, clamped, series: count };
}

/**
 * How many series the server said a query returns when it refused a preview for its size, from
 * its field violation or message: BacktestDetector's `the query returns 3 series of 100000
 * points, over 1000 series or 100000 points in all` (on `range`), QueryMetrics' `returns 6
 * series of 100000 points, more than 400000 values` (on `query`). Null for any other error.
 */
export function refusedSeriesCount(err: unknown): number | null {
  const error = toActionError(err);
  if (error.code !== "InvalidArgument") return null;
  for (const text of [...Object.values(error.fields), error.message]) {
    const match = /\breturns (\d+) series of \d+ points\b/.exec(text);
    if (match) return Number(match[1]);
  }
  return null;
}

/**
 * The range for a query found to have `series` series: `range` (the full range asked for) cut
 * so that they fit the point limit together, the same end; null when they fit already, or
 * when no cut makes them fit (more than `MAX_PREVIEW_SERIES`).
 */
export function rangeForSeries(range: PreviewRange, seconds: number, series: number): PreviewRange | null {
  if (!Number.isFinite(series) || series <= 1 || series > MAX_PREVIEW_SERIES) return null;
  if (series * range.points <= MAX_PREVIEW_POINTS) return null;
  return previewRange(range.end * 1000, seconds, range.step, series);
}

/** `6 hours`, `27.8 hours`, `3 days`: a span of time for people. */
export function formatSpan(seconds: number): string {
  const round = (value: number) => String(Number(value.toFixed(1)));
  if (seconds >= 2 * 86400) return `${round(seconds / 86400)} days`;
  if (seconds >= 2 * 3600) return `${round(seconds / 3600)} hours`;
  if (seconds >= 120) return `${round(seconds / 60)} minutes`;
  return `${round(seconds)} seconds`;
}

/** One series of the preview: its points one step apart, from both answers. */
export interface PreviewSeries {
  /** `up{instance="a", job="api"}`: the labels as Prometheus writes them; the join key. */
  key: string;
  labels: Record<string, string>;
  /** The first point's time, in seconds. */
  start: number;
  step: number;
  /** From QueryMetrics; NaN where it has no sample (or did not answer). */
  values: number[];
  expected: number[];
  lower: number[];
  upper: number[];
  scores: number[];
  severities: Severity[];
}

/**
 * The scored series with the values of the query's series that have the same labels, point by
 * point by time: a value is NaN where the query had no sample at that step.
 */
export function joinSeries(scored: readonly ScoredSeries[], metrics: readonly MetricSeries[], step: number): PreviewSeries[] {
  const byKey = new Map(metrics.map((series) => [formatLabels(series.labels), series]));
  return scored.map((series) => {
    const key = formatLabels(series.labels);
    const start = Math.round((timestampMs(series.startTime) ?? 0) / 1000);
    const metric = byKey.get(key);
    const metricStart = metric ? (timestampMs(metric.startTime) ?? 0) / 1000 : 0;
    const metricStep = metric?.step ? Number(metric.step.seconds) + metric.step.nanos / 1e9 : step;
    const values = series.scores.map((_, i) => {
      if (metric === undefined || metricStep <= 0) return NaN;
      const index = (start + i * step - metricStart) / metricStep;
      return Number.isInteger(index) && index >= 0 && index < metric.values.length ? metric.values[index] : NaN;
    });
    return {
      key,
      labels: { ...series.labels },
      start,
      step,
      values,
      expected: [...series.expected],
      lower: [...series.lower],
      upper: [...series.upper],
      scores: [...series.scores],
      severities: [...series.severities],
    };
  });
}

export interface DayCount {
  /** `2026-01-01`: the day in UTC. */
  day: string;
  warning: number;
  critical: number;
  total: number;
}

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Anomalies per day in UTC, by the day each starts: every day of the range (from `startMs` to
 * `endMs`) with none too, oldest first.
 */
export function countPerDay(
  anomalies: readonly Pick<AnomalyView, "startTime" | "severity">[],
  startMs?: number,
  endMs?: number,
): DayCount[] {
  const days = new Map<string, DayCount>();
  const day = (key: string) => {
    let count = days.get(key);
    if (count === undefined) {
      count = { day: key, warning: 0, critical: 0, total: 0 };
      days.set(key, count);
    }
    return count;
  };
  if (startMs !== undefined && endMs !== undefined) {
    const first = Date.parse(`${utcDay(startMs)}T00:00:00Z`);
    for (let ms = first; ms <= endMs; ms += 86_400_000) day(utcDay(ms));
  }
  for (const anomaly of anomalies) {
    if (anomaly.startTime === null) continue;
    const count = day(utcDay(anomaly.startTime));
    count.total += 1;
    if (anomaly.severity === Severity.CRITICAL) count.critical += 1;
    else count.warning += 1;
  }
  return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
}

export const SEVERITY_COLOR: Record<Severity, string> = {
  [Severity.UNSPECIFIED]: "#6b7280",
  [Severity.WARNING]: "#d97706", // amber
  [Severity.CRITICAL]: "#dc2626", // red
};

export interface PreviewMarker {
  /** Seconds. */
  time: number;
  value: number;
  color: string;
  label: string;
  severity: Severity;
}

/**
 * A marker per anomaly of `series`, at its highest-scoring point (the value there, else the
 * anomaly's peak value), coloured by severity.
 */
export function anomalyMarkers(series: PreviewSeries, anomalies: readonly AnomalyView[]): PreviewMarker[] {
  const markers: PreviewMarker[] = [];
  for (const anomaly of anomalies) {
    if (anomaly.startTime === null || formatLabels(anomaly.seriesLabels) !== series.key) continue;
    const first = Math.max(0, Math.round((anomaly.startTime / 1000 - series.start) / series.step));
    const endMs = anomaly.endTime ?? anomaly.startTime;
    const last = Math.min(series.scores.length - 1, Math.round((endMs / 1000 - series.start) / series.step));
    let peak = first;
    for (let i = first; i <= last; i++) if (series.scores[i] > series.scores[peak]) peak = i;
    const inRange = peak <= last && peak < series.scores.length;
    const value = inRange && Number.isFinite(series.values[peak]) ? series.values[peak] : anomaly.peakValue;
    const severityText = anomaly.severity === Severity.CRITICAL ? "Critical" : "Warning";
    markers.push({
      time: inRange ? series.start + peak * series.step : anomaly.startTime / 1000,
      value,
      color: SEVERITY_COLOR[anomaly.severity],
      label: `${severityText} anomaly, peak score ${anomaly.peakScore.toFixed(3)}`,
      severity: anomaly.severity,
    });
  }
  return markers;
}

// --- running it ------------------------------------------------------------------------------

/** What the preview scores: the form's settings that change scores, and the range. */
export interface PreviewInput {
  spec: DetectorSpec;
  range: PreviewRangeKey;
}

/** The input without what does not change scores (names), as a key: equal keys, same preview. */
export function previewKey(spec: DetectorSpec, range: PreviewRangeKey): string {
  const input: PreviewInput = { spec: { ...spec, displayName: "", description: "" }, range };
  return JSON.stringify(input);
}

/** Whether the settings name what to score: a data source and a query. */
export function canPreview(spec: Pick<DetectorSpec, "dataSource" | "query">): boolean {
  return spec.dataSource !== "" && spec.query.trim() !== "";
}

export interface PreviewResult {
  /** The range asked for (`range` may be shorter: cut to the point limit). */
  rangeKey: PreviewRangeKey;
  range: PreviewRange;
  /** Every series scored, in the server's order. */
  series: PreviewSeries[];
  /** The anomalies the detector would have raised, oldest first. */
  anomalies: AnomalyView[];
  perDay: DayCount[];
  /** The data source's warnings, and why values are missing when QueryMetrics failed. */
  warnings: string[];
}

/** Settings that cannot even be put in a request (a fraction in a whole-number field). */
export class PreviewInvalid extends Error {
  readonly fields: Record<string, string>;
  constructor(fields: Record<string, string>) {
    super("Some settings are invalid.");
    this.name = "PreviewInvalid";
    this.fields = fields;
  }
}

export function previewError(err: unknown): ActionError {
  if (err instanceof PreviewInvalid) return { message: err.message, code: "InvalidArgument", fields: err.fields };
  return toActionError(err);
}

/**
 * Scores `spec` over the range before `nowMs`: BacktestDetector and QueryMetrics at once, both
 * given up when `signal` aborts. The point limit is the backtest's in all (series × steps), and
 * only the answer says how many series there are: when QueryMetrics' answer (or either call's
 * refusal) says N series do not fit, the backtest runs once more over the last
 * floor(limit / N) steps of the range (QueryMetrics too, if it failed), at once if the first
 * backtest has not answered yet. A failed backtest throws (its field violations say which
 * setting); failed values only leave the values out, with a warning.
 */
export async function runPreview(
  clients: AiopsClients,
  spec: DetectorSpec,
  rangeKey: PreviewRangeKey,
  nowMs: number,
  signal: AbortSignal,
): Promise<PreviewResult> {
  const { detector, violations } = toDetectorMessage(spec);
  if (Object.keys(violations).length > 0) throw new PreviewInvalid(violations);
  const seconds = rangeSeconds(rangeKey);
  const asked = previewRange(nowMs, seconds, previewStep(spec.stepSeconds));
  const timeRange = (range: PreviewRange) => ({
    startTime: timestampFromMs(range.start * 1000),
    endTime: timestampFromMs(range.end * 1000),
  });
  const backtest = (range: PreviewRange, callSignal: AbortSignal) =>
    clients.detectors.backtestDetector({ detector, range: timeRange(range) }, { signal: callSignal });
  const values = (range: PreviewRange) =>
    clients.dataSources.queryMetrics(
      {
        dataSource: spec.dataSource,
        query: spec.query,
        ...timeRange(range),
        step: spec.stepSeconds === null ? undefined : secondsToDuration(spec.stepSeconds),
      },
      { signal },
    );

  // The first backtest alone is given up once the values say its answer cannot fit.
  const first = new AbortController();
  const giveUp = () => first.abort();
  signal.addEventListener("abort", giveUp);
  // Set by the values' answer (a callback: not a plain variable the compiler would narrow).
  const early: { cut: PreviewRange | null } = { cut: null };
  let answers: [PromiseSettledResult<BacktestDetectorResponse>, PromiseSettledResult<QueryMetricsResponse>];
  try {
    answers = await Promise.allSettled([
      backtest(asked, first.signal),
      values(asked).then((answer) => {
        early.cut = rangeForSeries(asked, seconds, answer.series.length);
        if (early.cut !== null) first.abort();
        return answer;
      }),
    ]);
  } finally {
    signal.removeEventListener("abort", giveUp);
  }
  const [scored, metrics] = answers;
  if (scored.status === "fulfilled") return previewResult(rangeKey, asked, scored.value, metrics);
  if (signal.aborted) throw scored.reason;

  // Refused for its size (or given up for it): how many series, as far as anyone said.
  const refused = refusedSeriesCount(scored.reason);
  if (refused === null && early.cut === null) throw scored.reason;
  const counts = [
    refused ?? 0,
    metrics.status === "fulfilled" ? metrics.value.series.length : (refusedSeriesCount(metrics.reason) ?? 0),
  ];
  const range = rangeForSeries(asked, seconds, Math.max(...counts)) ?? early.cut;
  if (range === null) throw scored.reason;
  const [again, metricsAgain] = await Promise.allSettled([
    backtest(range, signal),
    // The values of the whole range join those of its end; refused, they may fit now.
    metrics.status === "fulfilled" ? Promise.resolve(metrics.value) : values(range),
  ]);
  if (again.status === "rejected") throw again.reason;
  return previewResult(rangeKey, range, again.value, metricsAgain);
}

function previewResult(
  rangeKey: PreviewRangeKey,
  range: PreviewRange,
  scored: BacktestDetectorResponse,
  metrics: PromiseSettledResult<QueryMetricsResponse>,
): PreviewResult {
  const warnings = metrics.status === "fulfilled" ? [...metrics.value.warnings] : [];
  if (metrics.status === "rejected") warnings.push(`The values could not be read: ${toActionError(metrics.reason).message}`);
  const series = joinSeries(scored.series, metrics.status === "fulfilled" ? metrics.value.series : [], range.step);
  const anomalies = scored.anomalies.map((anomaly: Anomaly) => toAnomalyView(anomaly));
  return {
    rangeKey,
    range,
    series,
    anomalies,
    perDay: countPerDay(anomalies, range.start * 1000, range.end * 1000),
    warnings,
  };
}

export interface PreviewState {
  /** A request is in flight, or the settings changed and the next one waits for them to settle. */
  running: boolean;
  /** The `previewKey` of the settings the result or error answers. */
  key?: string;
  /** The latest answer; kept while a newer one runs, gone after a failure. */
  result?: PreviewResult;
  error?: ActionError;
}

/**
 * Runs the preview `PREVIEW_DEBOUNCE_MS` after the settings or range last changed (once the
 * form names a data source and a query), and at once through `run`. A change aborts the request
 * in flight, and so does a new run: an answer to older settings never replaces a newer one's.
 */
export function useBacktestPreview(options: {
  clients: AiopsClients;
  clock: Clock;
  spec: DetectorSpec;
  range: PreviewRangeKey;
  /** False while the form has something no request can carry (a field not a number). */
  enabled: boolean;
}): PreviewState & { ready: boolean; run: () => void } {
  const { clients, clock, enabled } = options;
  const key = previewKey(options.spec, options.range);
  // Settings equal by value are the same settings: the effects below follow the key.
  const input = useMemo(() => JSON.parse(key) as PreviewInput, [key]);
  const ready = enabled && canPreview(input.spec);
  const [state, setState] = useState<PreviewState>({ running: false });
  const inFlight = useRef<AbortController | null>(null);
  const timer = useRef<TimerHandle | null>(null);

  const cancel = useCallback(() => {
    if (timer.current !== null) clock.clearTimeout(timer.current);
    timer.current = null;
    inFlight.current?.abort();
    inFlight.current = null;
  }, [clock]);

  const start = useCallback(
    async (what: PreviewInput, whatKey: string) => {
      cancel();
      const controller = new AbortController();
      inFlight.current = controller;
      setState((was) => ({ ...was, running: true }));
      try {
        const result = await runPreview(clients, what.spec, what.range, clock.now(), controller.signal);
        if (controller.signal.aborted) return;
        setState({ running: false, key: whatKey, result });
      } catch (err) {
        if (controller.signal.aborted) return;
        setState({ running: false, key: whatKey, error: previewError(err) });
      } finally {
        if (inFlight.current === controller) inFlight.current = null;
      }
    },
    [cancel, clients, clock],
  );

  useEffect(() => {
    // What is in flight answers settings that are no longer the form's.
    cancel();
    if (!ready) return;
    timer.current = clock.setTimeout(() => {
      timer.current = null;
      void start(input, key);
    }, PREVIEW_DEBOUNCE_MS);
  }, [ready, input, key, clock, cancel, start]);

  // Leaving the form gives up what is in flight.
  useEffect(() => cancel, [cancel]);

  const run = useCallback(() => {
    if (ready) void start(input, key);
  }, [ready, input, key, start]);

  // Settings changed since the answer shown: the next run is coming.
  return { ...state, running: ready && (state.running || state.key !== key), ready, run };
}
