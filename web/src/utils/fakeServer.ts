// An aiops server in memory for tests: the three services through connect's router transport,
// with an event log that Subscribe replays after `after_sequence` (or answers with a reset),
// heartbeats on demand, restarts, and calls made to fail. Like the real server it records a
// DETECTOR_CHANGE / DATA_SOURCE_CHANGE event on every create, update and delete, and a
// DETECTOR_STATUS event with the new etag on every state change, before it answers.
import {
  AnomalySchema,
  Anomaly_State,
  Code,
  ConnectError,
  DataSourceSchema,
  DataSourceService,
  DetectorSchema,
  DetectorService,
  Detector_State,
  EventSchema,
  EventService,
  Severity,
  createAiopsClients,
  type AiopsClients,
  type Anomaly,
  type DataSource,
  type Detector,
  type Event,
  type SubscribeRequest,
} from "@aiops/client";
import { BadRequestSchema, ErrorInfoSchema } from "@aiops/client/src/gen/google/rpc/error_details_pb";
import { clone, create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createRouterTransport, type Transport } from "@connectrpc/connect";
// Detector series and scores (features/detectors/seriesData.ts): ListDetectorSeries,
// ReadDetectorScores, SCORES events.
import {
  ScoresSchema,
  type ListDetectorSeriesRequest,
  type ReadDetectorScoresRequest,
} from "@aiops/client";
// Backtest preview (features/detectors/preview.ts): BacktestDetector over a range, QueryMetrics.
import {
  BacktestDetectorResponseSchema,
  QueryMetricsResponseSchema,
  type BacktestDetectorRequest,
  type QueryMetricsRequest,
} from "@aiops/client";

// System dashboard and data source detail: ListHealthChecks, SERVER_STATUS, QueryLogs, Check.
import {
  CheckDataSourceResponseSchema,
  EventType,
  HealthCheckSchema,
  QueryLogsResponseSchema,
  ServerStatusSchema,
  type HealthCheck,
  type QueryLogsRequest,
} from "@aiops/client";

type EventPayload = Event["payload"];

/** An error as the server sends it: its code, message, ErrorInfo reason and field violations. */
export function serverError(
  code: Code,
  message: string,
  options: { reason?: string; fields?: Record<string, string>; metadata?: Record<string, string> } = {},
): ConnectError {
  const details = [
    {
      desc: ErrorInfoSchema,
      value: { reason: options.reason ?? "", domain: "aiops.dev", metadata: options.metadata ?? {} },
    },
  ] as ConstructorParameters<typeof ConnectError>[3] & object[];
  if (options.fields) {
    details.push({
      desc: BadRequestSchema,
      value: {
        fieldViolations: Object.entries(options.fields).map(([field, description]) => ({ field, description })),
      },
    });
  }
  return new ConnectError(message, code, undefined, details);
}

/** An empty etag means "whatever is stored"; a stale one fails the write, as the server's does. */
function checkEtag(stored: { etag: string }, etag: string, name: string): void {
  if (etag !== "" && etag !== stored.etag) {
    throw serverError(Code.Aborted, `${name} has changed since it was read: read it again and retry`, {
      reason: "ETAG_MISMATCH",
    });
  }
}

/** A queue one Subscribe stream reads: events, then an end (maybe an error). */
class StreamChannel {
  /** The Subscribe request that opened it (its `types` say who gets SERVER_STATUS events). */
  constructor(readonly request?: SubscribeRequest) {}
  private items: Event[] = [];
  private ended: { error?: unknown } | undefined;
  private notify: (() => void) | undefined;

  push(event: Event) {
    this.items.push(event);
    this.notify?.();
  }

  end(error?: unknown) {
    this.ended = { error };
    this.notify?.();
  }

  async *read(signal: AbortSignal): AsyncGenerator<Event> {
    const onAbort = () => this.notify?.();
    signal.addEventListener("abort", onAbort);
    try {
      for (;;) {
        const next = this.items.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.ended !== undefined) {
          if (this.ended.error !== undefined) throw this.ended.error;
          return;
        }
        if (signal.aborted) return;
        await new Promise<void>((resolve) => {
          this.notify = resolve;
        });
        this.notify = undefined;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

type Failure = ConnectError | (() => ConnectError | undefined);

export class FakeAiops {
  dataSources = new Map<string, DataSource>();
  detectors = new Map<string, Detector>();
  anomalies = new Map<string, Anomaly>();
  /** Every event recorded, in sequence order; `prune` drops the oldest. */
  log: Event[] = [];
  latestSequence = 0;
  heartbeatIntervalMs = 5_000;
  /** The requests of every Subscribe, in order. */
  subscribes: SubscribeRequest[] = [];
  /** Method names of every call, in order (`listDetectors`, `subscribe`, ...). */
  calls: string[] = [];
  /** The requests of every create, update and delete, in order, by method name. */
  writes: { method: string; request: unknown }[] = [];
  /** While true, every call fails with UNAVAILABLE, as a stopped server does. */
  down = false;
  /** Replay this many events from before `after_sequence` too, as a sloppy server might. */
  replayOverlap = 0;
  pageSize = 2;
  // --- backtest preview: BacktestDetector (with a range) and QueryMetrics --------------------
  /**
   * What BacktestDetector answers a request that passes the checks (the data source exists,
   * a query, a range of at most 100000 steps): scored series and anomalies. It may throw (a
   * `serverError`) to refuse the settings. Its series times the range's steps must fit 100000
   * points in all, as the server's query matrix must: more, and the call is refused as the
   * server refuses it (`the query returns N series of M points, …` on `range`).
   */
  backtestAnswer: (request: BacktestDetectorRequest) => MessageInitShape<typeof BacktestDetectorResponseSchema> =
    () => ({});
  /**
   * What QueryMetrics answers: the query's series. It may throw, as backtestAnswer. Its series
   * times the range's steps must fit 400000 values, as on the server.
   */
  metricsAnswer: (request: QueryMetricsRequest) => MessageInitShape<typeof QueryMetricsResponseSchema> = () => ({});
  /** Every BacktestDetector call: its request and its signal (aborted when the client gives up). */
  backtests: { request: BacktestDetectorRequest; signal: AbortSignal }[] = [];
  /** Every QueryMetrics call, as `backtests`. */
  metricQueries: { request: QueryMetricsRequest; signal: AbortSignal }[] = [];
  // --- end of backtest preview ---------------------------------------------------------------
  // --- system dashboard and data source detail -----------------------------------------------
  /** The probe's checks per data source, oldest first (ListHealthChecks answers newest first). */
  healthChecks = new Map<string, HealthCheck[]>();
  /** What QueryLogs answers: the query's streams. It may throw (a `serverError`). */
  logsAnswer: (request: QueryLogsRequest) => MessageInitShape<typeof QueryLogsResponseSchema> = () => ({});
  /** Every QueryLogs request, in order. */
  logQueries: QueryLogsRequest[] = [];
  /** What CheckDataSource answers for a data source, when set (else reachable in 12 ms, 3.1.0). */
  checkAnswers = new Map<string, MessageInitShape<typeof CheckDataSourceResponseSchema>>();
  // --- end of system dashboard and data source detail ----------------------------------------
  private streams = new Set<StreamChannel>();
  private failures = new Map<string, Failure[]>();
  private holds = new Map<string, Promise<ConnectError | undefined>[]>();
  private clock: () => number;

  constructor(clock: () => number = () => Date.UTC(2026, 0, 1)) {
    this.clock = clock;
  }

  transport(): Transport {
    return createRouterTransport((router) => {
      router.service(DetectorService, { ...this.detectorService(), ...this.detectorSeriesService() });
      router.service(DataSourceService, this.dataSourceService());
      router.service(EventService, { subscribe: (req, ctx) => this.subscribe(req, ctx.signal) });
    });
  }

  clients(): AiopsClients {
    return createAiopsClients(this.transport());
  }

  /** The next call of `method` fails with `error` (a function: decides per call; undefined passes). */
  failNext(method: string, error: Failure): void {
    const queue = this.failures.get(method) ?? [];
    queue.push(error);
    this.failures.set(method, queue);
  }

  /** How many streams are open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  // --- resources -----------------------------------------------------------------------------

  addDataSource(init: MessageInitShape<typeof DataSourceSchema> & { name: string }): DataSource {
    const source = create(DataSourceSchema, { etag: "1", urls: ["http://prometheus:9090"], ...init });
    this.dataSources.set(source.name, source);
    return source;
  }

  addDetector(init: MessageInitShape<typeof DetectorSchema> & { name: string }): Detector {
    const detector = create(DetectorSchema, {
      state: Detector_State.STOPPED,
      etag: "1",
      dataSource: "dataSources/prom",
      query: "up",
      ...init,
    });
    this.detectors.set(detector.name, detector);
    return detector;
  }

  /** Stores an anomaly; `event` also records its ANOMALY event, as the pipeline does. */
  addAnomaly(init: MessageInitShape<typeof AnomalySchema> & { name: string }, event = false): Anomaly {
    const anomaly = create(AnomalySchema, {
      severity: Severity.WARNING,
      state: Anomaly_State.OPEN,
      startTime: timestampFromMs(this.clock()),
      endTime: timestampFromMs(this.clock()),
      updateTime: timestampFromMs(this.clock()),
      peakScore: 0.97,
      active: true,
      ...init,
    });
    this.anomalies.set(anomaly.name, anomaly);
    if (event) this.record({ case: "anomalyChange", value: { $typeName: "aiops.v1.AnomalyChange", anomaly } });
    return anomaly;
  }

  // --- events --------------------------------------------------------------------------------

  /** Stores an event in the log and sends it to every open stream. */
  record(payload: EventPayload): Event {
    this.latestSequence += 1;
    const event = create(EventSchema, {
      sequence: BigInt(this.latestSequence),
      time: timestampFromMs(this.clock()),
      payload,
    });
    this.log.push(event);
    for (const stream of this.streams) stream.push(event);
    return event;
  }

  /** A detector's new state (stored, its etag bumped, as every write does) and its event. */
  detectorStatus(detector: string, state: Detector_State, stateReason = ""): Event {
    const stored = this.detectors.get(detector);
    if (stored) {
      stored.state = state;
      stored.stateReason = stateReason;
      stored.etag = String(Number(stored.etag) + 1);
    }
    return this.record({
      case: "detectorStatus",
      value: { $typeName: "aiops.v1.DetectorStatus", detector, state, stateReason, etag: stored?.etag ?? "" },
    });
  }

  /** The DETECTOR_CHANGE event of a detector as it stands (or stood, when `deleted`). */
  detectorChange(detector: Detector, deleted = false): Event {
    return this.record({
      case: "detectorChange",
      value: { $typeName: "aiops.v1.DetectorChange", detector: clone(DetectorSchema, detector), deleted },
    });
  }

  /** The DATA_SOURCE_CHANGE event of a data source, never with its authorization. */
  dataSourceChange(dataSource: DataSource, deleted = false): Event {
    const sent = clone(DataSourceSchema, dataSource);
    sent.authorization = "";
    return this.record({
      case: "dataSourceChange",
      value: { $typeName: "aiops.v1.DataSourceChange", dataSource: sent, deleted },
    });
  }

  health(dataSource: string, reachable: boolean, error = ""): Event {
    return this.record({
      case: "dataSourceHealth",
      value: {
        $typeName: "aiops.v1.DataSourceHealth",
        dataSource,
        reachable,
        url: reachable ? "http://prometheus:9090" : "",
        error,
      },
    });
  }

  /** A heartbeat on every open stream. */
  heartbeat(): void {
    for (const stream of this.streams) stream.push(this.heartbeatEvent());
  }

  // --- system dashboard and data source detail -----------------------------------------------

  /** Keeps a check of the background probe (now, unless `time` says when; 12 ms, reachable). */
  addHealthCheck(
    dataSource: string,
    init: { time?: number; reachable?: boolean; latencyMs?: number; url?: string; error?: string } = {},
  ): HealthCheck {
    const latency = (init.latencyMs ?? 12) / 1000;
    const reachable = init.reachable ?? true;
    const check = create(HealthCheckSchema, {
      time: timestampFromMs(init.time ?? this.clock()),
      reachable,
      url: init.url ?? (reachable ? (this.dataSources.get(dataSource)?.urls[0] ?? "") : ""),
      error: init.error ?? "",
      latency: { seconds: BigInt(Math.floor(latency)), nanos: Math.round((latency % 1) * 1e9) },
    });
    const checks = this.healthChecks.get(dataSource) ?? [];
    checks.push(check);
    this.healthChecks.set(dataSource, checks.slice(-240));
    return check;
  }

  /**
   * A server's SERVER_STATUS event, to every open stream that asked for SERVER_STATUS: not
   * stored, so never replayed; its sequence repeats the latest, as a heartbeat's does.
   */
  serverStatus(init: MessageInitShape<typeof ServerStatusSchema>): Event {
    const event = create(EventSchema, {
      sequence: BigInt(this.latestSequence),
      time: timestampFromMs(this.clock()),
      payload: { case: "serverStatus", value: create(ServerStatusSchema, init) },
    });
    for (const stream of this.streams) {
      if (stream.request?.types.includes(EventType.SERVER_STATUS)) stream.push(event);
    }
    return event;
  }

  /** How many open streams asked for SERVER_STATUS. */
  get statusStreams(): number {
    return [...this.streams].filter((s) => s.request?.types.includes(EventType.SERVER_STATUS)).length;
  }

  // --- end of system dashboard and data source detail ----------------------------------------

  // --- detector series and scores: ListDetectorSeries, ReadDetectorScores, SCORES ----------------

  /** Per detector: its step (seconds) and each series' scored points by time (seconds). */
  scoredSeries = new Map<string, { step: number; series: Map<string, FakeScoredSeries> }>();
  /** Every ListDetectorSeries request, in order. */
  seriesLists: ListDetectorSeriesRequest[] = [];
  /** Every ReadDetectorScores request, in order. */
  scoreReads: ReadDetectorScoresRequest[] = [];

  /**
   * Keeps points a detector scored, as its live path does: each series' points `step` seconds
   * apart from `start` (seconds); fields left out are NaN.
   */
  addScores(detector: string, step: number, series: FakeScoresInit[]): void {
    const kept = this.scoredSeries.get(detector) ?? { step, series: new Map<string, FakeScoredSeries>() };
    kept.step = step;
    this.scoredSeries.set(detector, kept);
    for (const init of series) {
      const key = fakeLabelsKey(init.labels);
      const stored = kept.series.get(key) ?? { labels: { ...init.labels }, points: new Map() };
      kept.series.set(key, stored);
      const count = Math.max(init.values.length, init.scores?.length ?? 0);
      for (let i = 0; i < count; i++) {
        const at = (column: number[] | undefined) => column?.[i] ?? NaN;
        stored.points.set(init.start + i * step, [
          at(init.values),
          at(init.scores),
          at(init.expected),
          at(init.lower),
          at(init.upper),
        ]);
      }
    }
  }

  /**
   * A SCORES event of `detector` to every open stream that asked for SCORES (of it, or of every
   * detector): not stored in the log, its sequence repeats the latest. The points are kept too
   * (ReadDetectorScores reads them) unless `keep` is false.
   */
  pushScores(detector: string, series: FakeScoresInit[], options: { keep?: boolean; omitted?: number } = {}): Event {
    const step = this.scoredSeries.get(detector)?.step ?? 60;
    if (options.keep ?? true) this.addScores(detector, step, series);
    const event = create(EventSchema, {
      sequence: BigInt(this.latestSequence),
      time: timestampFromMs(this.clock()),
      payload: {
        case: "scores",
        value: create(ScoresSchema, {
          detector,
          omittedSeries: options.omitted ?? 0,
          series: series.map((init) => ({
            labels: init.labels,
            startTime: timestampFromMs(init.start * 1000),
            values: init.values,
            scores: init.scores ?? init.values.map(() => 0),
            expected: init.expected ?? init.values.map(() => NaN),
            lower: init.lower ?? init.values.map(() => NaN),
            upper: init.upper ?? init.values.map(() => NaN),
          })),
        }),
      },
    });
    for (const stream of this.streams) {
      const request = stream.request;
      if (!request?.types.includes(EventType.SCORES)) continue;
      if (request.detectors.length > 0 && !request.detectors.includes(detector)) continue;
      stream.push(event);
    }
    return event;
  }

  /** How many open streams asked for SCORES. */
  get scoreStreams(): number {
    return [...this.streams].filter((s) => s.request?.types.includes(EventType.SCORES)).length;
  }

  private detectorSeriesService() {
    const detectorOf = (name: string) => {
      const detector = this.detectors.get(name);
      if (detector === undefined) {
        throw serverError(Code.NotFound, `${name} does not exist`, { reason: "RESOURCE_NOT_FOUND" });
      }
      return detector;
    };
    /** The kept series matching `filter`, ranked: highest latest score first, then by labels. */
    const ranked = (name: string, filter: string) => {
      const matchers = parseFakeSelector(filter);
      const kept = this.scoredSeries.get(name);
      const rows = [...(kept?.series.values() ?? [])]
        .filter((series) => matchers.every((matches) => matches(series.labels)))
        .map((series) => {
          const times = [...series.points.keys()].sort((a, b) => a - b);
          const last = times[times.length - 1];
          const point = last === undefined ? undefined : series.points.get(last);
          return { series, times, last, point, score: point === undefined || Number.isNaN(point[1]) ? -1 : point[1] };
        });
      rows.sort((a, b) => b.score - a.score || (fakeLabelsKey(a.series.labels) < fakeLabelsKey(b.series.labels) ? -1 : 1));
      return { rows, step: kept?.step ?? 60 };
    };
    const severityOf = (detector: Detector, score: number) => {
      const warning = detector.thresholds?.warning || 0.95;
      const critical = detector.thresholds?.critical || 0.99;
      return score >= critical ? Severity.CRITICAL : score >= warning ? Severity.WARNING : Severity.UNSPECIFIED;
    };
    const offsetPage = (pageSize: number, fallback: number, pageToken: string, total: number) => {
      const start = pageToken === "" ? 0 : Number(pageToken);
      const end = start + (pageSize > 0 ? Math.min(pageSize, 1000) : fallback);
      return { start, end, next: end < total ? String(end) : "" };
    };
    return {
      listDetectorSeries: async (req: ListDetectorSeriesRequest) => {
        this.seriesLists.push(req);
        await this.enter("listDetectorSeries");
        const detector = detectorOf(req.parent);
        const { rows } = ranked(req.parent, req.filter);
        const { start, end, next } = offsetPage(req.pageSize, 50, req.pageToken, rows.length);
        return this.answer("listDetectorSeries", {
          series: rows.slice(start, end).map((row) => ({
            labels: { ...row.series.labels },
            time: row.last === undefined ? undefined : timestampFromMs(row.last * 1000),
            value: row.point?.[0] ?? NaN,
            score: Math.max(0, row.score),
            severity: severityOf(detector, row.score),
          })),
          nextPageToken: next,
          totalSize: rows.length,
        });
      },
      readDetectorScores: async (req: ReadDetectorScoresRequest) => {
        this.scoreReads.push(req);
        await this.enter("readDetectorScores");
        detectorOf(req.detector);
        const { rows, step } = ranked(req.detector, req.filter);
        const from = req.range?.startTime ? Number(req.range.startTime.seconds) : -Infinity;
        const to = req.range?.endTime ? Number(req.range.endTime.seconds) : Infinity;
        const { start, end, next } = offsetPage(req.pageSize, 10, req.pageToken, rows.length);
        let oldest = Infinity;
        for (const row of rows) oldest = Math.min(oldest, row.times[0] ?? Infinity);
        const series = [];
        for (const row of rows.slice(start, end)) {
          const times = row.times.filter((t) => t >= from && t <= to);
          if (times.length === 0) continue;
          const first = times[0];
          const count = Math.round((times[times.length - 1] - first) / step) + 1;
          const columns: number[][] = [[], [], [], [], []];
          for (let i = 0; i < count; i++) {
            const point = row.series.points.get(first + i * step);
            for (let f = 0; f < 5; f++) columns[f].push(point?.[f] ?? NaN);
          }
          series.push({
            labels: { ...row.series.labels },
            startTime: timestampFromMs(first * 1000),
            values: columns[0],
            scores: columns[1],
            expected: columns[2],
            lower: columns[3],
            upper: columns[4],
          });
        }
        return this.answer("readDetectorScores", {
          series,
          nextPageToken: next,
          oldestTime: Number.isFinite(oldest) ? timestampFromMs(oldest * 1000) : undefined,
          step: { seconds: BigInt(step), nanos: 0 },
        });
      },
    };
  }

  // --- end of detector series and scores ----------------------------------------------------

  /** Forgets the events up to `sequence`: resuming before it gets a reset. */
  prune(sequence: number): void {
    this.log = this.log.filter((event) => Number(event.sequence) > sequence);
  }

  /** Ends every stream, as a shutdown does (UNAVAILABLE, SHUTTING_DOWN), and refuses calls. */
  stop(): void {
    this.down = true;
    for (const stream of this.streams) {
      stream.end(
        serverError(Code.Unavailable, "the server is shutting down", {
          reason: "SHUTTING_DOWN",
          metadata: { last_sequence: String(this.latestSequence) },
        }),
      );
    }
    this.streams.clear();
  }

  start(): void {
    this.down = false;
  }

  /** Ends every stream without an error, as a proxy that cuts long streams does. */
  endStreams(): void {
    for (const stream of this.streams) stream.end();
    this.streams.clear();
  }

  private heartbeatEvent(): Event {
    return create(EventSchema, {
      sequence: BigInt(this.latestSequence),
      time: timestampFromMs(this.clock()),
      payload: { case: "heartbeat", value: { intervalMs: BigInt(this.heartbeatIntervalMs) } },
    });
  }

  private async *subscribe(request: SubscribeRequest, signal: AbortSignal): AsyncGenerator<Event> {
    this.subscribes.push(request);
    await this.enter("subscribe");
    // Subscribe to the bus first, then read the log: nothing falls between them.
    const stream = new StreamChannel(request);
    this.streams.add(stream);
    const latest = this.latestSequence;
    try {
      yield this.heartbeatEvent();
      const after = Number(request.afterSequence);
      if (after > 0) {
        const oldest = this.log.length > 0 ? Number(this.log[0].sequence) : latest + 1;
        if (after < oldest - 1 || after > latest) {
          yield create(EventSchema, {
            sequence: BigInt(latest),
            time: timestampFromMs(this.clock()),
            payload: {
              case: "reset",
              value: { reason: `events after ${after} are no longer kept`, oldestSequence: BigInt(oldest) },
            },
          });
        } else {
          const from = after - this.replayOverlap;
          for (const event of this.log) {
            const sequence = Number(event.sequence);
            if (sequence > from && sequence <= latest) yield clone(EventSchema, event);
          }
        }
      }
      for await (const event of stream.read(signal)) {
        // Stored events up to `latest` came from the log above; heartbeats, scores and server
        // statuses are never stored, so never replayed: they always pass.
        const unstored = ["heartbeat", "scores", "serverStatus"].includes(event.payload.case ?? "");
        if (!unstored && Number(event.sequence) <= latest) continue;
        yield event;
      }
    } finally {
      this.streams.delete(stream);
    }
  }

  /**
   * The next call of `method` reads its answer (and does what it does), then waits until the
   * returned function is called: what changes meanwhile is newer than the answer. Called with
   * an error, the call fails with it instead of answering.
   */
  holdNext(method: string): (error?: ConnectError) => void {
    let release!: (error?: ConnectError) => void;
    const released = new Promise<ConnectError | undefined>((resolve) => {
      release = resolve;
    });
    const queue = this.holds.get(method) ?? [];
    queue.push(released);
    this.holds.set(method, queue);
    return release;
  }

  /** Waits while a test holds this call of `method`'s answer back. */
  private async answer<T>(method: string, value: T): Promise<T> {
    const hold = this.holds.get(method)?.shift();
    const error = hold ? await hold : undefined;
    if (error) throw error;
    return value;
  }

  /** Counts the call (and keeps a write's request); throws what the test made it fail with. */
  private async enter(method: string, write?: unknown): Promise<void> {
    this.calls.push(method);
    if (write !== undefined) this.writes.push({ method, request: write });
    if (this.down) throw new ConnectError("connection refused", Code.Unavailable);
    const queue = this.failures.get(method);
    const next = queue?.shift();
    if (next === undefined) return;
    const error = typeof next === "function" ? next() : next;
    if (error) throw error;
  }

  private page<T>(items: T[], pageSize: number, pageToken: string): { page: T[]; next: string } {
    const size = pageSize > 0 ? Math.min(pageSize, this.pageSize) : this.pageSize;
    const start = pageToken === "" ? 0 : Number(pageToken);
    const end = start + size;
    return { page: items.slice(start, end), next: end < items.length ? String(end) : "" };
  }

  private detectorService() {
    const sorted = <T extends { name: string }>(map: Map<string, T>) =>
      [...map.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    const mustGet = <T>(map: Map<string, T>, name: string): T => {
      const found = map.get(name);
      if (found === undefined) {
        throw serverError(Code.NotFound, `${name} does not exist`, { reason: "RESOURCE_NOT_FOUND" });
      }
      return found;
    };
    const check = (detector: Detector) => {
      const fields: Record<string, string> = {};
      if (detector.query === "") fields["detector.query"] = "required: a PromQL or LogQL query";
      if (!this.dataSources.has(detector.dataSource)) {
        fields["detector.data_source"] = `${detector.dataSource || "''"} does not exist`;
      }
      if (detector.algorithm.case === "robustZScore") {
        const window = detector.algorithm.value.window;
        if (window !== 0 && (window < 1 || window > 100_000)) {
          fields["detector.robust_z_score.window"] = `must be from 1 to 100000, got ${window}`;
        }
      }
      if (Object.keys(fields).length > 0) {
        throw serverError(Code.InvalidArgument, Object.entries(fields).map(([f, d]) => `${f}: ${d}`).join("; "), {
          reason: "INVALID_ARGUMENT",
          fields,
        });
      }
    };
    const setState = (name: string, state: Detector_State) => {
      const detector = mustGet(this.detectors, name);
      if (detector.state !== state) this.detectorStatus(name, state);
      return clone(DetectorSchema, detector);
    };
    return {
      createDetector: async (req: { detector?: Detector; detectorId: string }) => {
        await this.enter("createDetector", req);
        const detector = clone(DetectorSchema, req.detector ?? create(DetectorSchema));
        check(detector);
        detector.name = `detectors/${req.detectorId || `generated-${this.detectors.size + 1}`}`;
        if (this.detectors.has(detector.name)) {
          throw serverError(Code.AlreadyExists, `${detector.name} already exists`, {
            reason: "RESOURCE_ALREADY_EXISTS",
          });
        }
        detector.state = Detector_State.STOPPED;
        detector.etag = "1";
        this.detectors.set(detector.name, detector);
        this.detectorChange(detector);
        return this.answer("createDetector", clone(DetectorSchema, detector));
      },
      getDetector: async (req: { name: string }) => {
        await this.enter("getDetector");
        return clone(DetectorSchema, mustGet(this.detectors, req.name));
      },
      listDetectors: async (req: { pageSize: number; pageToken: string }) => {
        await this.enter("listDetectors");
        const { page, next } = this.page(sorted(this.detectors), req.pageSize, req.pageToken);
        return this.answer("listDetectors", {
          detectors: page.map((d) => clone(DetectorSchema, d)),
          nextPageToken: next,
        });
      },
      updateDetector: async (req: { detector?: Detector }) => {
        await this.enter("updateDetector", req);
        const update = req.detector ?? create(DetectorSchema);
        const stored = mustGet(this.detectors, update.name);
        checkEtag(stored, update.etag, update.name);
        check(update);
        const next = clone(DetectorSchema, update);
        next.state = stored.state;
        next.stateReason = stored.stateReason;
        next.createTime = stored.createTime;
        next.etag = String(Number(stored.etag) + 1);
        this.detectors.set(next.name, next);
        this.detectorChange(next);
        return this.answer("updateDetector", clone(DetectorSchema, next));
      },
      deleteDetector: async (req: { name: string; etag: string }) => {
        await this.enter("deleteDetector", req);
        const stored = mustGet(this.detectors, req.name);
        checkEtag(stored, req.etag, req.name);
        this.detectors.delete(req.name);
        this.detectorChange(stored, true);
        return this.answer("deleteDetector", {});
      },
      startDetector: async (req: { name: string }) => {
        await this.enter("startDetector");
        const stored = mustGet(this.detectors, req.name);
        const startable = [Detector_State.STOPPED, Detector_State.FAILED].includes(stored.state);
        return this.answer(
          "startDetector",
          startable ? setState(req.name, Detector_State.BACKFILLING) : clone(DetectorSchema, stored),
        );
      },
      stopDetector: async (req: { name: string }) => {
        await this.enter("stopDetector");
        return this.answer("stopDetector", setState(req.name, Detector_State.STOPPED));
      },
      getAnomaly: async (req: { name: string }) => {
        await this.enter("getAnomaly");
        return clone(AnomalySchema, mustGet(this.anomalies, req.name));
      },
      listAnomalies: async (req: { pageSize: number; pageToken: string }) => {
        await this.enter("listAnomalies");
        const newestFirst = [...this.anomalies.values()].sort(
          (a, b) => Number(b.startTime?.seconds ?? 0n) - Number(a.startTime?.seconds ?? 0n) || (a.name < b.name ? 1 : -1),
        );
        const { page, next } = this.page(newestFirst, req.pageSize, req.pageToken);
        return this.answer("listAnomalies", {
          anomalies: page.map((a) => clone(AnomalySchema, a)),
          nextPageToken: next,
        });
      },
      updateAnomaly: async (req: { anomaly?: Anomaly }) => {
        await this.enter("updateAnomaly");
        const stored = mustGet(this.anomalies, req.anomaly?.name ?? "");
        stored.state = req.anomaly?.state ?? stored.state;
        stored.updateTime = timestampFromMs(this.clock());
        return this.answer("updateAnomaly", clone(AnomalySchema, stored));
      },
      // Backtest preview: the checks the server makes of a range, then the test's answer.
      backtestDetector: async (req: BacktestDetectorRequest, ctx: { signal: AbortSignal }) => {
        this.backtests.push({ request: req, signal: ctx.signal });
        await this.enter("backtestDetector");
        if (!req.range) throw new ConnectError("only a range in the fake", Code.Unimplemented);
        check(req.detector ?? create(DetectorSchema));
        const start = Number(req.range.startTime?.seconds ?? 0n);
        const end = Number(req.range.endTime?.seconds ?? 0n);
        const step = Number(req.detector?.step?.seconds ?? 60n) || 60;
        const fields: Record<string, string> = {};
        if (!req.range.startTime) fields["range.start_time"] = "required";
        if (!req.range.endTime) fields["range.end_time"] = "required";
        else if (end < start) fields["range.end_time"] = "must be at least one step after start_time";
        else if (Math.floor(end / step) - Math.ceil(start / step) + 1 > 100_000) {
          fields["range"] = "more than 100000 steps: shorten it or raise the step";
        }
        if (Object.keys(fields).length > 0) {
          throw serverError(Code.InvalidArgument, "invalid range", { reason: "INVALID_ARGUMENT", fields });
        }
        const answer = create(BacktestDetectorResponseSchema, this.backtestAnswer(req));
        // As the server: the query's answer (its series, each a point per step of the range)
        // must fit 1000 series and 100000 points in all.
        const points = Math.floor(end / step) - Math.ceil(start / step) + 1;
        if (answer.series.length > 1000 || answer.series.length * points > 100_000) {
          const description =
            `the query returns ${answer.series.length} series of ${points} points, ` +
            "over 1000 series or 100000 points in all: narrow it";
          throw serverError(Code.InvalidArgument, `range: ${description}`, {
            reason: "INVALID_ARGUMENT",
            fields: { range: description },
          });
        }
        return this.answer("backtestDetector", answer);
      },
    };
  }

  private dataSourceService() {
    const mustGet = (name: string) => {
      const found = this.dataSources.get(name);
      if (found === undefined) {
        throw serverError(Code.NotFound, `${name} does not exist`, { reason: "RESOURCE_NOT_FOUND" });
      }
      return found;
    };
    return {
      createDataSource: async (req: { dataSource?: DataSource; dataSourceId: string }) => {
        await this.enter("createDataSource", req);
        const source = clone(DataSourceSchema, req.dataSource ?? create(DataSourceSchema));
        const fields: Record<string, string> = {};
        if (source.urls.length === 0) fields["data_source.urls"] = "required: one to eight base URLs";
        source.urls.forEach((url, i) => {
          if (!/^https?:\/\//.test(url)) fields[`data_source.urls[${i}]`] = `${JSON.stringify(url)} is not an http(s) URL`;
        });
        if (Object.keys(fields).length > 0) {
          throw serverError(Code.InvalidArgument, "invalid data source", { reason: "INVALID_ARGUMENT", fields });
        }
        source.name = `dataSources/${req.dataSourceId || `generated-${this.dataSources.size + 1}`}`;
        source.hasAuthorization = source.authorization !== "";
        source.authorization = "";
        source.etag = "1";
        this.dataSources.set(source.name, source);
        this.dataSourceChange(source);
        return this.answer("createDataSource", clone(DataSourceSchema, source));
      },
      getDataSource: async (req: { name: string }) => {
        await this.enter("getDataSource");
        return clone(DataSourceSchema, mustGet(req.name));
      },
      listDataSources: async (req: { pageSize: number; pageToken: string }) => {
        await this.enter("listDataSources");
        const all = [...this.dataSources.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
        const { page, next } = this.page(all, req.pageSize, req.pageToken);
        return this.answer("listDataSources", {
          dataSources: page.map((s) => clone(DataSourceSchema, s)),
          nextPageToken: next,
        });
      },
      updateDataSource: async (req: { dataSource?: DataSource }) => {
        await this.enter("updateDataSource", req);
        const update = req.dataSource ?? create(DataSourceSchema);
        const stored = mustGet(update.name);
        checkEtag(stored, update.etag, update.name);
        const next = clone(DataSourceSchema, stored);
        next.displayName = update.displayName;
        next.urls = [...update.urls];
        next.timeout = update.timeout;
        next.etag = String(Number(stored.etag) + 1);
        this.dataSources.set(next.name, next);
        this.dataSourceChange(next);
        return this.answer("updateDataSource", clone(DataSourceSchema, next));
      },
      deleteDataSource: async (req: { name: string; etag: string }) => {
        await this.enter("deleteDataSource", req);
        const stored = mustGet(req.name);
        checkEtag(stored, req.etag, req.name);
        const users = [...this.detectors.values()].filter((d) => d.dataSource === req.name);
        if (users.length > 0) {
          throw serverError(
            Code.FailedPrecondition,
            `${req.name} is used by ${users.map((d) => d.name).join(", ")}`,
            { reason: "DATA_SOURCE_IN_USE" },
          );
        }
        this.dataSources.delete(req.name);
        this.dataSourceChange(stored, true);
        return this.answer("deleteDataSource", {});
      },
      checkDataSource: async (req: { name: string }) => {
        await this.enter("checkDataSource");
        const source = mustGet(req.name);
        // System dashboard and data source detail: a test's answer for this data source.
        const answer = this.checkAnswers.get(req.name);
        if (answer) return create(CheckDataSourceResponseSchema, answer);
        return {
          reachable: true,
          url: source.urls[0] ?? "",
          latency: { seconds: 0n, nanos: 12_000_000 },
          version: "3.1.0",
          error: "",
        };
      },
      // Backtest preview: the test's answer for the data source's query.
      queryMetrics: async (req: QueryMetricsRequest, ctx: { signal: AbortSignal }) => {
        this.metricQueries.push({ request: req, signal: ctx.signal });
        await this.enter("queryMetrics");
        mustGet(req.dataSource);
        const answer = create(QueryMetricsResponseSchema, this.metricsAnswer(req));
        // As the server: at most 400000 values in all, a point per step of the range a series.
        const step = Number(req.step?.seconds ?? 60n) || 60;
        const points = Math.floor((Number(req.endTime?.seconds ?? 0n) - Number(req.startTime?.seconds ?? 0n)) / step) + 1;
        if (answer.series.length * points > 400_000) {
          const description =
            `returns ${answer.series.length} series of ${points} points, ` +
            "more than 400000 values: narrow it or raise the step";
          throw serverError(Code.InvalidArgument, `query: ${description}`, {
            reason: "INVALID_ARGUMENT",
            fields: { query: description },
          });
        }
        return this.answer("queryMetrics", answer);
      },
      // --- system dashboard and data source detail ---------------------------------------------
      queryLogs: async (req: QueryLogsRequest) => {
        this.logQueries.push(req);
        await this.enter("queryLogs");
        mustGet(req.dataSource);
        return this.answer("queryLogs", create(QueryLogsResponseSchema, this.logsAnswer(req)));
      },
      listHealthChecks: async (req: { parent: string; pageSize: number; pageToken: string }) => {
        await this.enter("listHealthChecks");
        mustGet(req.parent);
        const newestFirst = [...(this.healthChecks.get(req.parent) ?? [])].reverse();
        const { page, next } = this.page(newestFirst, req.pageSize, req.pageToken);
        return this.answer("listHealthChecks", {
          healthChecks: page.map((c) => clone(HealthCheckSchema, c)),
          nextPageToken: next,
        });
      },
      // --- end of system dashboard and data source detail --------------------------------------
    };
  }
}

// --- detector series and scores: the fake's kept points and its series selectors -------------

/** A series' points for FakeAiops.addScores and pushScores: `step` apart from `start` (seconds). */
export interface FakeScoresInit {
  labels: Record<string, string>;
  start: number;
  values: number[];
  scores?: number[];
  expected?: number[];
  lower?: number[];
  upper?: number[];
}

interface FakeScoredSeries {
  labels: Record<string, string>;
  /** By time (seconds): value, score, expected, lower, upper. */
  points: Map<number, [number, number, number, number, number]>;
}

function fakeLabelsKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The server's selector syntax (`{a="x", b=~"y.*"}`); INVALID_ARGUMENT on `filter` otherwise. */
function parseFakeSelector(text: string): ((labels: Record<string, string>) => boolean)[] {
  const invalid = (description: string) =>
    serverError(Code.InvalidArgument, `filter: ${description}`, {
      reason: "INVALID_ARGUMENT",
      fields: { filter: description },
    });
  let body = text.trim();
  if (body.startsWith("{") !== body.endsWith("}") || body === "}") throw invalid(`unbalanced braces in '${text}'`);
  if (body.startsWith("{")) body = body.slice(1, -1);
  const matcher = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  const matchers: ((labels: Record<string, string>) => boolean)[] = [];
  let position = 0;
  while (position < body.trimEnd().length) {
    matcher.lastIndex = position;
    const found = matcher.exec(body);
    if (found === null) throw invalid(`expected label="value" (or !=, =~, !~) at '${body.slice(position, position + 30)}'`);
    const [, label, op, quoted] = found;
    const value = quoted.replace(/\\(.)/g, "$1");
    if (op === "=~" || op === "!~") {
      let pattern: RegExp;
      try {
        pattern = new RegExp(`^(?:${value})$`);
      } catch (err) {
        throw invalid(`bad regular expression '${value}': ${(err as Error).message}`);
      }
      matchers.push((labels) => pattern.test(labels[label] ?? "") === (op === "=~"));
    } else {
      matchers.push((labels) => ((labels[label] ?? "") === value) === (op === "="));
    }
    position = matcher.lastIndex;
  }
  return matchers;
}
