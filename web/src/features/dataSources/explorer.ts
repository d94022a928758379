// The query explorer's data: a range query (QueryMetrics) as a chart's buffer and legend, a
// log query (QueryLogs) as lines newest first, and what the server said was wrong.
import type { AiopsClients, LogStream, MetricSeries } from "@aiops/client";
import { QueryLogsRequest_Direction } from "@aiops/client";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { toActionError } from "../../utils/errors";
import { formatNumber } from "../../utils/format";
import { durationSeconds, secondsToDuration, timestampMs } from "../../utils/proto";
import { ChartBuffer } from "../charts/buffer";

export type QueryMode = "metrics" | "logs";

export interface TimeRangeOption {
  value: string;
  label: string;
  seconds: number;
}

export const TIME_RANGES: readonly TimeRangeOption[] = [
  { value: "15m", label: "Last 15 minutes", seconds: 15 * 60 },
  { value: "1h", label: "Last hour", seconds: 3600 },
  { value: "6h", label: "Last 6 hours", seconds: 6 * 3600 },
  { value: "24h", label: "Last 24 hours", seconds: 24 * 3600 },
];

export function rangeSeconds(value: string): number {
  return (TIME_RANGES.find((r) => r.value === value) ?? TIME_RANGES[1]).seconds;
}

/** The step when none is given: about 300 points over the range, whole seconds. */
export function autoStep(range: number): number {
  return Math.max(1, Math.round(range / 300));
}

/** The series a chart draws; the rest are counted. */
export const MAX_SERIES = 10;
/** The lines a log query asks for. */
export const LOG_LIMIT = 500;

/** Ten colours that tell apart on light and dark (a canvas takes no CSS variable). */
export const SERIES_COLORS = [
  "#2857c5",
  "#d93025",
  "#1d7a3a",
  "#c77700",
  "#8e44ad",
  "#00838f",
  "#c2185b",
  "#5d6d7e",
  "#7cb342",
  "#6d4c41",
];

/** `{__name__="up", job="api"}` -> `up{job="api"}`; `{}` for none. */
export function formatLabels(labels: Record<string, string>): string {
  const name = labels.__name__ ?? "";
  const rest = Object.keys(labels)
    .filter((key) => key !== "__name__")
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`)
    .join(", ");
  return rest === "" && name !== "" ? name : `${name}{${rest}}`;
}

export interface SeriesView {
  /** The buffer's field: `s0`, `s1`, … */
  field: string;
  label: string;
  color: string;
  /** Its values that are samples (not NaN). */
  points: number;
}

export interface MetricsResult {
  kind: "metrics";
  /** The series drawn (at most MAX_SERIES), in the order the server sent them. */
  series: SeriesView[];
  /** How many more the query returned. */
  omitted: number;
  /** Samples (values not NaN) of the whole answer, over every series, drawn or not. */
  points: number;
  /** Samples of the series drawn. */
  drawnPoints: number;
  warnings: string[];
  buffer: ChartBuffer;
  /** The range asked for, in seconds since the epoch. */
  start: number;
  end: number;
  step: number;
}

export interface LogLine {
  key: string;
  /** ms since the epoch. */
  time: number;
  /** The nanoseconds within the second, for the order of lines logged in the same ms. */
  nanos: number;
  labels: string;
  line: string;
}

export interface LogsResult {
  kind: "logs";
  /** Newest first. */
  lines: LogLine[];
  streams: number;
  warnings: string[];
}

export type QueryResult = MetricsResult | LogsResult;

export interface QueryRequest {
  dataSource: string;
  query: string;
  /** How far back from `now`, in seconds. */
  range: number;
  /** Seconds between points (metrics); autoStep(range) when null. */
  step: number | null;
  /** ms since the epoch. */
  now: number;
}

/** Start and end of the range on the step's grid, whole seconds. */
export function queryWindow(request: QueryRequest): { start: number; end: number; step: number } {
  const step = request.step ?? autoStep(request.range);
  const end = Math.floor(request.now / 1000);
  const start = Math.floor((end - request.range) / step) * step;
  return { start, end, step };
}

/** How many of `values` are samples (not NaN). */
function samples(values: readonly number[]): number {
  let count = 0;
  for (const value of values) if (!Number.isNaN(value)) count += 1;
  return count;
}

/** The series on one time grid: a buffer with a field per series drawn. */
export function metricsResult(
  series: readonly MetricSeries[],
  warnings: readonly string[],
  window: { start: number; end: number; step: number },
): MetricsResult {
  const drawn = series.slice(0, MAX_SERIES);
  const step = durationSeconds(drawn[0]?.step) || window.step;
  const starts = drawn.map((s) => (timestampMs(s.startTime) ?? window.start * 1000) / 1000);
  const first = starts.length > 0 ? Math.min(...starts) : window.start;
  const last = drawn.reduce((max, s, i) => Math.max(max, starts[i] + (s.values.length - 1) * step), first);
  const length = drawn.length > 0 ? Math.round((last - first) / step) + 1 : 0;
  const times = Array.from({ length }, (_, i) => first + i * step);
  const columns: Record<string, Float64Array> = {};
  const views: SeriesView[] = drawn.map((s, i) => {
    const field = `s${i}`;
    const column = new Float64Array(length).fill(NaN);
    const offset = Math.round((starts[i] - first) / step);
    s.values.forEach((value, j) => {
      column[offset + j] = value;
    });
    columns[field] = column;
    const points = samples(s.values);
    return { field, label: formatLabels(s.labels), color: SERIES_COLORS[i % SERIES_COLORS.length], points };
  });
  const buffer = new ChartBuffer(
    views.map((v) => v.field),
    { capacity: Math.max(length, 1), step },
  );
  if (length > 0) buffer.put(times, columns);
  return {
    kind: "metrics",
    series: views,
    omitted: series.length - drawn.length,
    points: series.reduce((sum, s) => sum + samples(s.values), 0),
    drawnPoints: views.reduce((sum, v) => sum + v.points, 0),
    warnings: [...warnings],
    buffer,
    start: window.start,
    end: window.end,
    step,
  };
}

/**
 * The line above the chart: every series and every sample of the answer, then which of them
 * are drawn when not all are: `1000 series, 60,100 points (the first 10 drawn: 601 points) · step 6 s`.
 */
export function metricsSummary(result: Pick<MetricsResult, "series" | "omitted" | "points" | "drawnPoints" | "step">): string {
  const total = result.series.length + result.omitted;
  if (total === 0) return `No series: the query matched nothing in the range. · step ${result.step} s`;
  const points = (n: number) => `${formatNumber(n, 6)} ${n === 1 ? "point" : "points"}`;
  const drawn =
    result.omitted > 0 ? ` (the first ${result.series.length} drawn: ${points(result.drawnPoints)})` : "";
  return `${total} series, ${points(result.points)}${drawn} · step ${result.step} s`;
}

export async function runMetricsQuery(
  clients: AiopsClients,
  request: QueryRequest,
  signal?: AbortSignal,
): Promise<MetricsResult> {
  const window = queryWindow(request);
  const answer = await clients.dataSources.queryMetrics(
    {
      dataSource: request.dataSource,
      query: request.query,
      startTime: timestampFromMs(window.start * 1000),
      endTime: timestampFromMs(window.end * 1000),
      step: secondsToDuration(window.step),
    },
    { signal },
  );
  return metricsResult(answer.series, answer.warnings, window);
}

/** Every stream's lines as one list, newest first. */
export function logsResult(streams: readonly LogStream[], warnings: readonly string[]): LogsResult {
  const lines: LogLine[] = [];
  streams.forEach((stream, s) => {
    const labels = formatLabels(stream.labels);
    stream.entries.forEach((entry, e) => {
      lines.push({
        key: `${s}-${e}`,
        time: timestampMs(entry.time) ?? 0,
        nanos: entry.time?.nanos ?? 0,
        labels,
        line: entry.line,
      });
    });
  });
  lines.sort((a, b) => b.time - a.time || b.nanos - a.nanos);
  return { kind: "logs", lines, streams: streams.length, warnings: [...warnings] };
}

export async function runLogsQuery(
  clients: AiopsClients,
  request: QueryRequest,
  signal?: AbortSignal,
): Promise<LogsResult> {
  const end = request.now;
  const answer = await clients.dataSources.queryLogs(
    {
      dataSource: request.dataSource,
      query: request.query,
      startTime: timestampFromMs(end - request.range * 1000),
      endTime: timestampFromMs(end),
      limit: LOG_LIMIT,
      direction: QueryLogsRequest_Direction.BACKWARD,
    },
    { signal },
  );
  return logsResult(answer.streams, answer.warnings);
}

export interface QueryError {
  /** The server's message. */
  message: string;
  /** What it said is wrong with the query (INVALID_ARGUMENT on `query`), for the query field. */
  query?: string;
  /** What it said is wrong with the step (too many points), for the step field. */
  step?: string;
}

export function toQueryError(err: unknown): QueryError {
  const error = toActionError(err);
  const { query, step } = error.fields;
  return {
    message: error.message,
    ...(query === undefined ? {} : { query }),
    ...(step === undefined ? {} : { step }),
  };
}

/** A step typed in: null for auto; a message when it is no whole number from 1 s to 1 d. */
export function parseStep(text: string): { step: number | null; error?: string } {
  if (text.trim() === "") return { step: null };
  const step = Number(text);
  if (!Number.isInteger(step) || step < 1 || step > 86_400) {
    return { step: null, error: `must be a whole number of seconds from 1 to 86400, got ${text.trim()}` };
  }
  return { step };
}

/** `12:03:04.567`: a log line's time to the millisecond. */
export function formatLogTime(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
