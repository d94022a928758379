// A detector's series and the points it scored, for its detail page, apart from the components:
// the series ranked by their latest score (ListDetectorSeries), and per series shown a chart
// buffer (outside Redux) filled from ReadDetectorScores, then live from SCORES events. The top
// series' points come in one ReadDetectorScores (it pages the series in ListDetectorSeries'
// order), read beside the listing; a series picked later is read on its exact labels. SCORES are
// paced (the latest per detector per interval supersedes the others), so a series' new points
// may start more than a step after its last one: the missed range is read (ReadDetectorScores
// on the series' exact labels) and put in before them.
import { Severity, type AiopsClients, type Scores, type SeriesScores } from "@aiops/client";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describeError, toActionError, type ActionError } from "../../utils/errors";
import { durationSeconds, timestampMs } from "../../utils/proto";
import { ChartBuffer } from "../charts/buffer";
import type { ChartMarker } from "../charts/TimeChart";
import { formatLabels, SEVERITY_TEXT } from "../anomalies/model";
import { formatDateTime, formatNumber } from "../../utils/format";
import type { DetectorView } from "./model";

/** The buffer's fields, per point of SeriesScores. */
export const SERIES_FIELDS = ["value", "score", "expected", "lower", "upper"] as const;

/** The server's thresholds when a detector leaves them unset (spec.py, SeverityThresholds). */
export const DEFAULT_WARNING = 0.95;
export const DEFAULT_CRITICAL = 0.99;
/** The step of a detector that leaves it unset. */
export const DEFAULT_STEP_SECONDS = 60;
/** How many series the picker lists (the most anomalous), and how many it shows at first. */
export const SERIES_LIST_SIZE = 50;
export const DEFAULT_SHOWN = 4;

export interface Thresholds {
  warning: number;
  critical: number;
}

export function thresholdsOf(detector: Pick<DetectorView, "warning" | "critical">): Thresholds {
  const warning = detector.warning ?? DEFAULT_WARNING;
  return { warning, critical: Math.max(warning, detector.critical ?? DEFAULT_CRITICAL) };
}

/** A series of the detector and what it made of the series' latest point. */
export interface SeriesSummary {
  /** The exact selector of its labels: what identifies it here. */
  key: string;
  labels: Record<string, string>;
  /** Its latest scored point's time (ms), null when unknown. */
  time: number | null;
  value: number;
  score: number;
  severity: Severity;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/**
 * The selector that matches exactly these labels' values: `{__name__="up", job="api"}`, sorted,
 * so the same series always gives the same text (the series' key). A series with more labels
 * matches too: the answer is narrowed to the exact labels on this side.
 */
export function exactSelector(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  return `{${keys.map((key) => `${key}="${escapeLabelValue(labels[key])}"`).join(", ")}}`;
}

export const seriesKey = exactSelector;

/** A series for people, as Prometheus writes it: `up{instance="a", job="api"}`. */
export function seriesTitle(labels: Record<string, string>): string {
  return formatLabels(labels);
}

/**
 * The label names whose values are not the same in every one of `labelSets` (a label some of
 * them lack differs too), the most telling first: those with the most values, then those with
 * the shortest, then by name. An empty list when there are fewer than two sets.
 */
export function distinctLabelNames(labelSets: readonly Record<string, string>[]): string[] {
  if (labelSets.length < 2) return [];
  const valuesByName = new Map<string, Set<string | undefined>>();
  for (const labels of labelSets) for (const name of Object.keys(labels)) valuesByName.set(name, new Set());
  for (const labels of labelSets) {
    for (const [name, values] of valuesByName) values.add(Object.hasOwn(labels, name) ? labels[name] : undefined);
  }
  const distinct = [...valuesByName].filter(([, values]) => values.size > 1);
  const longest = (values: Set<string | undefined>) => Math.max(...[...values].map((value) => value?.length ?? 0));
  return distinct
    .sort(
      ([a, av], [b, bv]) => bv.size - av.size || longest(av) - longest(bv) || (a < b ? -1 : a > b ? 1 : 0),
    )
    .map(([name]) => name);
}

/**
 * A series for a list where entries are cut to one width: `distinct`, the labels that tell it
 * from the others listed (`distinctLabelNames`, in that order: `{instance="a", pod="x"}`), then
 * `rest`, the others as Prometheus writes them (`up{extra="…", job="api"}`). Either may be empty;
 * with no distinct label at all, `rest` is the whole title.
 */
export function seriesParts(
  labels: Record<string, string>,
  distinctNames: readonly string[],
): { distinct: string; rest: string } {
  const distinctSet = new Set(distinctNames);
  const shown = distinctNames.filter((name) => Object.hasOwn(labels, name));
  const name = shown.includes("__name__") ? labels.__name__ : "";
  const pairs = shown.filter((key) => key !== "__name__").map((key) => `${key}="${labels[key]}"`);
  const distinct = pairs.length > 0 ? `${name}{${pairs.join(", ")}}` : name;
  const others = Object.fromEntries(Object.entries(labels).filter(([key]) => !distinctSet.has(key)));
  const rest = Object.keys(others).length > 0 || distinctNames.length === 0 ? seriesTitle(others) : "";
  return { distinct, rest };
}

/** How many pages of ReadDetectorScores a series' read looks through for its exact labels. */
const MAX_READ_PAGES = 10;

const seconds = (ms: number | null) => (ms === null ? null : ms / 1000);

/** The most anomalous series matching `filter` (a series selector), and how many match. */
export async function listSeries(
  clients: AiopsClients,
  detector: string,
  filter: string,
  options: { pageSize?: number; signal?: AbortSignal } = {},
): Promise<{ series: SeriesSummary[]; total: number }> {
  const answer = await clients.detectors.listDetectorSeries(
    { parent: detector, filter: filter.trim(), pageSize: options.pageSize ?? SERIES_LIST_SIZE },
    { signal: options.signal },
  );
  return {
    series: answer.series.map((s) => ({
      key: seriesKey(s.labels),
      labels: { ...s.labels },
      time: timestampMs(s.time),
      value: s.value,
      score: s.score,
      severity: s.severity,
    })),
    total: answer.totalSize,
  };
}

/** What the picker says of a failed listing: the filter's own complaint when it is the filter's. */
export function listingError(err: unknown): { filter: string | null; message: string; error: ActionError } {
  const error = toActionError(err);
  return { filter: error.fields.filter ?? null, message: error.message, error };
}

/** The buffer columns of one SeriesScores. */
function columnsOf(series: SeriesScores): Record<string, number[]> {
  return {
    value: series.values,
    score: series.scores,
    expected: series.expected,
    lower: series.lower,
    upper: series.upper,
  };
}

/** One series shown: its buffer, and whether its points are in. */
export interface ShownSeries {
  key: string;
  labels: Record<string, string>;
  buffer: ChartBuffer;
  loaded: boolean;
  loading: boolean;
  error: string | null;
}

interface Entry extends ShownSeries {
  /** A gap fill or catch-up is being read. */
  filling: boolean;
  /** Read before and to be read again (a detail opened again), unless a read of the top does. */
  stale: boolean;
  /** Asked for while a read of the top was on its way: read alone if that read leaves it out. */
  waiting: boolean;
}

/**
 * The shown series of one detector: their buffers, their first reads, their live points and the
 * reads that fill what the paced SCORES events skipped. Kept per clients and detector outside
 * React and Redux (`seriesFeed`), so that a detail opened again shows its points at once.
 */
export class DetectorSeriesFeed {
  readonly detector: string;
  /** Seconds between points: the detector's, then what the server says it scored them at. */
  step: number;
  private readonly clients: AiopsClients;
  private entries = new Map<string, Entry>();
  private listeners = new Set<() => void>();
  private revision = 0;
  /** The reads of the top series on their way. */
  private topReads = 0;
  /** Whether the server said the step (then the detector's is not needed). */
  private stepKnown = false;

  constructor(clients: AiopsClients, detector: string, stepSeconds: number | null = null) {
    this.clients = clients;
    this.detector = detector;
    this.step = stepSeconds ?? DEFAULT_STEP_SECONDS;
  }

  /** Changes to what `series()` says (loaded, errors): not to the points, which the buffers say. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  /** Bumps with every change `subscribe` reports (for useSyncExternalStore). */
  get version(): number {
    return this.revision;
  }

  /** The series shown, by key. */
  shown(key: string): ShownSeries | undefined {
    return this.entries.get(key);
  }

  /**
   * The entry of a series shown, made (empty) when new: safe to call while rendering; its points
   * are read by `ensureLoaded`.
   */
  series(labels: Record<string, string>): ShownSeries {
    const key = seriesKey(labels);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = {
        key,
        labels: { ...labels },
        buffer: new ChartBuffer(SERIES_FIELDS, { step: this.step }),
        loaded: false,
        loading: false,
        error: null,
        filling: false,
        stale: false,
        waiting: false,
      };
      this.entries.set(key, entry);
    }
    return entry;
  }

  /**
   * The detector's step, once it is known (the detail may start before the detector is in): it
   * stands until the server says the step it scored at.
   */
  setDetectorStep(stepSeconds: number | null): void {
    if (stepSeconds === null || stepSeconds <= 0 || this.stepKnown || stepSeconds === this.step) return;
    this.setStep(stepSeconds);
  }

  /**
   * Reads a shown series' points unless they are in or being read; while a read of the top series
   * is on its way, after it, and only if it did not bring them.
   */
  ensureLoaded(labels: Record<string, string>): void {
    const entry = this.series(labels) as Entry;
    if (entry.loaded || entry.loading) return;
    if (this.topReads > 0) {
      entry.waiting = true;
      entry.loading = true;
      this.changed();
      return;
    }
    void this.load(entry);
  }

  /**
   * The `count` most anomalous series matching `filter` with every point kept of each, in one
   * ReadDetectorScores (it pages the series in ListDetectorSeries' order): their buffers filled
   * (made when new), and their labels, the most anomalous first. The series asked for meanwhile
   * (`ensureLoaded`) and those to read again (`refresh`) that it leaves out are read alone after.
   */
  async readTop(filter: string, count: number, options: { signal?: AbortSignal } = {}): Promise<Record<string, string>[]> {
    this.topReads++;
    const found: Record<string, string>[] = [];
    try {
      let pageToken = "";
      for (let page = 0; page < MAX_READ_PAGES && found.length < count; page++) {
        const answer = await this.clients.detectors.readDetectorScores(
          { detector: this.detector, filter: filter.trim(), pageSize: count - found.length, pageToken },
          { signal: options.signal },
        );
        this.takeStep(answer.step);
        for (const series of answer.series) {
          const start = seconds(timestampMs(series.startTime));
          if (start === null) continue;
          const entry = this.series(series.labels) as Entry;
          entry.buffer.putStepped(start, this.step, columnsOf(series));
          entry.loaded = true;
          entry.stale = false;
          entry.error = null;
          if (entry.waiting) {
            entry.waiting = false;
            entry.loading = false;
          }
          found.push(entry.labels);
        }
        pageToken = answer.nextPageToken;
        if (pageToken === "") break;
      }
      return found;
    } finally {
      this.topReads--;
      if (this.topReads === 0) this.readLeftOut();
      this.changed();
    }
  }

  /** Keeps only these series (by key): the others' points go. */
  retain(keys: Iterable<string>): void {
    const kept = new Set(keys);
    let changed = false;
    for (const key of [...this.entries.keys()]) {
      if (!kept.has(key)) {
        this.entries.delete(key);
        changed = true;
      }
    }
    if (changed) this.changed();
  }

  /**
   * Reads every point kept of each series already read again (a detail opened again); while a
   * read of the top series is on its way, those it does not bring, after it.
   */
  refresh(): void {
    for (const entry of this.entries.values()) if (entry.loaded && !entry.loading) entry.stale = true;
    if (this.topReads === 0) this.readLeftOut();
  }

  /**
   * A SCORES event of this detector: each shown series' new points, after a read of the points
   * the event skipped. `now` (ms): when the event was sent, up to which a series the event left
   * out (omitted past its 1000 series) is caught up.
   */
  applyScores(scores: Scores, now: number | null = null): void {
    if (scores.detector !== this.detector) return;
    const seen = new Set<string>();
    for (const series of scores.series) {
      const key = seriesKey(series.labels);
      seen.add(key);
      const entry = this.entries.get(key);
      if (entry === undefined) continue;
      const start = seconds(timestampMs(series.startTime));
      if (start === null) continue;
      const last = entry.buffer.lastTime();
      if (entry.loaded && last !== undefined && start > last + this.step * 1.5) {
        void this.fill(entry, last + this.step, start - this.step);
      }
      entry.buffer.putStepped(start, this.step, columnsOf(series));
    }
    if (scores.omittedSeries > 0 && now !== null) {
      for (const entry of this.entries.values()) {
        const last = entry.buffer.lastTime();
        if (seen.has(entry.key) || !entry.loaded || last === undefined) continue;
        if (now / 1000 >= last + this.step) void this.fill(entry, last + this.step, now / 1000);
      }
    }
  }

  private changed(): void {
    this.revision++;
    for (const listener of [...this.listeners]) listener();
  }

  /** The series asked for, or to read again, that no read of the top brought: each read alone. */
  private readLeftOut(): void {
    for (const entry of this.entries.values()) {
      if (entry.waiting) {
        entry.waiting = false;
        entry.loading = false;
        if (!entry.loaded) void this.load(entry);
      } else if (entry.stale && !entry.loading) {
        void this.load(entry);
      }
      entry.stale = false;
    }
  }

  private takeStep(duration: Parameters<typeof durationSeconds>[0]): void {
    const step = durationSeconds(duration);
    if (step === null || step <= 0) return;
    this.stepKnown = true;
    if (step !== this.step) this.setStep(step);
  }

  private setStep(step: number): void {
    this.step = step;
    for (const entry of this.entries.values()) entry.buffer.step = step;
  }

  /** Reads a series' points (in `range`, seconds, or every one kept) into its buffer. */
  private async read(entry: Entry, range?: [number, number]): Promise<void> {
    // The selector also matches series with more labels: this one's are exactly these, on
    // whichever page they come.
    let pageToken = "";
    for (let page = 0; page < MAX_READ_PAGES; page++) {
      const answer = await this.clients.detectors.readDetectorScores({
        detector: this.detector,
        filter: entry.key,
        pageSize: 10,
        pageToken,
        range: range && {
          startTime: timestampFromMs(range[0] * 1000),
          endTime: timestampFromMs(range[1] * 1000),
        },
      });
      this.takeStep(answer.step);
      const found = answer.series.find((series) => seriesKey(series.labels) === entry.key);
      const start = found && seconds(timestampMs(found.startTime));
      if (found && start !== null && start !== undefined) {
        entry.buffer.putStepped(start, this.step, columnsOf(found));
        return;
      }
      pageToken = answer.nextPageToken;
      if (pageToken === "") return;
    }
  }

  private async load(entry: Entry): Promise<void> {
    entry.loading = true;
    entry.error = null;
    this.changed();
    try {
      await this.read(entry);
      entry.loaded = true;
    } catch (err) {
      entry.error = describeError(err);
    } finally {
      entry.loading = false;
      this.changed();
    }
  }

  /** Reads the points between `from` and `to` (seconds) that the live events skipped. */
  private async fill(entry: Entry, from: number, to: number): Promise<void> {
    if (entry.filling || to < from) return;
    entry.filling = true;
    try {
      await this.read(entry, [from, to]);
    } catch (err) {
      // The chart shows the gap; the next skipped range is read again.
      entry.error = `Some points could not be read: ${describeError(err)}`;
      this.changed();
    } finally {
      entry.filling = false;
    }
  }
}

const feeds = new WeakMap<AiopsClients, Map<string, DetectorSeriesFeed>>();
/** Detectors whose points stay in memory per set of clients after their detail closes. */
const KEPT_DETECTORS = 4;

/** The feed of a detector's series on these clients: the same one while it is kept. */
export function seriesFeed(clients: AiopsClients, detector: string, stepSeconds: number | null): DetectorSeriesFeed {
  let byDetector = feeds.get(clients);
  if (byDetector === undefined) {
    byDetector = new Map();
    feeds.set(clients, byDetector);
  }
  let feed = byDetector.get(detector);
  if (feed === undefined) {
    feed = new DetectorSeriesFeed(clients, detector, stepSeconds);
  } else {
    byDetector.delete(detector); // moved to the end: the most recently opened
  }
  byDetector.set(detector, feed);
  while (byDetector.size > KEPT_DETECTORS) {
    const oldest = byDetector.keys().next().value as string;
    byDetector.delete(oldest);
  }
  return feed;
}

/** Forgets a detector's points (deleted). */
export function dropSeriesFeed(clients: AiopsClients, detector: string): void {
  feeds.get(clients)?.delete(detector);
}

// --- anomaly markers ------------------------------------------------------------------------

export interface MarkerColors {
  warning: string;
  critical: string;
}

const markerCache = new WeakMap<ChartBuffer, { changes: number; key: string; markers: ChartMarker[] }>();

/**
 * A marker at each point whose score reaches the warning threshold, coloured by severity; the
 * same array while the buffer and the thresholds stay the same.
 */
export function anomalyMarkers(buffer: ChartBuffer, thresholds: Thresholds, colors: MarkerColors): ChartMarker[] {
  const key = `${thresholds.warning}|${thresholds.critical}|${colors.warning}|${colors.critical}`;
  const cached = markerCache.get(buffer);
  if (cached !== undefined && cached.changes === buffer.changes && cached.key === key) return cached.markers;
  const times = buffer.timeColumn();
  const values = buffer.column("value");
  const scores = buffer.column("score");
  const markers: ChartMarker[] = [];
  for (let i = 0; i < times.length; i++) {
    const score = scores[i];
    const value = values[i];
    if (!(score >= thresholds.warning) || Number.isNaN(value)) continue;
    const severity = score >= thresholds.critical ? Severity.CRITICAL : Severity.WARNING;
    markers.push({
      time: times[i],
      value,
      color: severity === Severity.CRITICAL ? colors.critical : colors.warning,
      label: `${SEVERITY_TEXT[severity]}: score ${formatNumber(score, 4)}, value ${formatNumber(value, 4)} at ${formatDateTime(times[i] * 1000)}`,
    });
  }
  // The same markers as before (new points, none anomalous): the same array, no redraw asked.
  const same =
    cached !== undefined &&
    cached.key === key &&
    cached.markers.length === markers.length &&
    cached.markers.every((m, i) => m.time === markers[i].time && m.value === markers[i].value && m.color === markers[i].color);
  const result = same ? cached.markers : markers;
  markerCache.set(buffer, { changes: buffer.changes, key, markers: result });
  return result;
}
