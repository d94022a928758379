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
  private streams = new Set<StreamChannel>();
  private failures = new Map<string, Failure[]>();
  private holds = new Map<string, Promise<ConnectError | undefined>[]>();
  private clock: () => number;

  constructor(clock: () => number = () => Date.UTC(2026, 0, 1)) {
    this.clock = clock;
  }

  transport(): Transport {
    return createRouterTransport((router) => {
      router.service(DetectorService, this.detectorService());
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
    const stream = new StreamChannel();
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
        if (event.payload.case !== "heartbeat" && Number(event.sequence) <= latest) continue;
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
      backtestDetector: async () => {
        await this.enter("backtestDetector");
        throw new ConnectError("not in the fake", Code.Unimplemented);
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
        return {
          reachable: true,
          url: source.urls[0] ?? "",
          latency: { seconds: 0n, nanos: 12_000_000 },
          version: "3.1.0",
          error: "",
        };
      },
      queryMetrics: async () => {
        await this.enter("queryMetrics");
        throw new ConnectError("not in the fake", Code.Unimplemented);
      },
      queryLogs: async () => {
        await this.enter("queryLogs");
        throw new ConnectError("not in the fake", Code.Unimplemented);
      },
    };
  }
}
