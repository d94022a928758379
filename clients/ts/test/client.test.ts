// Runs the client against a live aiops server: the one at AIOPS_TEST_ADDRESS (host:port),
// or else one started here on a free port with a throwaway SQLite database.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  Code,
  ConnectError,
  DataSource_Kind,
  Detector_State,
  EventType,
  createAiopsClients,
  errorReason,
  fieldViolations,
  watch,
  type AiopsClients,
  type Event,
  SubscribeRequestSchema,
  type SubscribeRequest,
} from "../src/index";

const AIOPS = fileURLToPath(new URL("../../../.venv/bin/aiops", import.meta.url));
const HEARTBEAT_SECONDS = 0.2;

let server: ChildProcess | undefined;
let dataDir: string | undefined;
let api: AiopsClients;

/** Starts `aiops serve` and resolves with the address from its `serving on` line. */
async function startServer(): Promise<string> {
  dataDir = mkdtempSync(join(tmpdir(), "aiops-ts-"));
  const child = spawn(
    AIOPS,
    [
      // --database-url belongs to `aiops` itself, so it comes before the subcommand.
      "--database-url",
      `sqlite+aiosqlite:///${join(dataDir, "aiops.db")}`,
      "serve",
      "--grpc-address",
      "127.0.0.1:0",
      "--heartbeat-interval",
      String(HEARTBEAT_SECONDS),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  server = child;
  // Keep the log's tail for the failure message; reading it also keeps the pipe from filling.
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = once(child, "exit").then(([code]) => {
    throw new Error(`aiops serve exited with ${code} before serving:\n${log}`);
  });
  const serving = (async () => {
    for await (const line of createInterface({ input: child.stdout! })) {
      const match = /^aiops: serving on (\S+)$/.exec(line);
      if (match) return match[1];
    }
    throw new Error(`aiops serve closed its output before serving:\n${log}`);
  })();
  return Promise.race([serving, exited]);
}

async function stopServer(): Promise<void> {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = once(server, "exit");
    server.kill("SIGTERM");
    await exited;
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

beforeAll(async () => {
  const address = process.env.AIOPS_TEST_ADDRESS || (await startServer());
  // gRPC always runs over HTTP/2; the gRPC transport needs no httpVersion.
  api = createAiopsClients(createGrpcTransport({ baseUrl: `http://${address}` }));
}, 60_000);

afterAll(stopServer, 30_000);

// Ids unique to this run, so that runs can share one server.
const run = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let counter = 0;
const uniqueId = (what: string) => `${run}-${what}-${++counter}`;

/** The error a call fails with; fails the test when the call succeeds. */
async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded but should have failed");
}

function createDataSource(id: string, displayName = "") {
  return api.dataSources.createDataSource({
    dataSourceId: id,
    dataSource: {
      displayName,
      kind: DataSource_Kind.PROMETHEUS,
      urls: ["http://127.0.0.1:9090"],
    },
  });
}

function createDetector(id: string, dataSource: string) {
  return api.detectors.createDetector({
    detectorId: id,
    detector: { dataSource, query: 'rate(http_requests_total{job="api"}[5m])' },
  });
}

describe("data sources", () => {
  it("creates, gets, updates and deletes", async () => {
    const id = uniqueId("prom");
    const created = await createDataSource(id, "Production Prometheus");
    expect(created.name).toBe(`dataSources/${id}`);
    expect(created.kind).toBe(DataSource_Kind.PROMETHEUS);
    expect(created.timeout?.seconds).toBe(30n);
    expect(created.etag).not.toBe("");

    const got = await api.dataSources.getDataSource({ name: created.name });
    expect(got.displayName).toBe("Production Prometheus");
    expect(got.urls).toEqual(["http://127.0.0.1:9090"]);

    // Only the masked field changes, though urls is sent empty.
    const updated = await api.dataSources.updateDataSource({
      dataSource: { name: created.name, displayName: "Renamed" },
      updateMask: { paths: ["display_name"] },
    });
    expect(updated.displayName).toBe("Renamed");
    expect(updated.urls).toEqual(["http://127.0.0.1:9090"]);

    await api.dataSources.deleteDataSource({ name: created.name });
    const gone = await failure(api.dataSources.getDataSource({ name: created.name }));
    expect(gone.code).toBe(Code.NotFound);
  });

  it("lists page by page", async () => {
    // A display name of our own lets the filter ignore what other runs left on the server.
    const displayName = uniqueId("page");
    const ids = [uniqueId("a"), uniqueId("b"), uniqueId("c")];
    for (const id of ids) await createDataSource(id, displayName);
    const filter = `display_name = "${displayName}"`;

    const first = await api.dataSources.listDataSources({ filter, pageSize: 2 });
    const names = ids.map((id) => `dataSources/${id}`);
    expect(first.dataSources.map((d) => d.name)).toEqual(names.slice(0, 2));
    expect(first.nextPageToken).not.toBe("");

    const second = await api.dataSources.listDataSources({
      filter,
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    expect(second.dataSources.map((d) => d.name)).toEqual(names.slice(2));
    expect(second.nextPageToken).toBe("");
  });

  it("refuses a duplicate id with ALREADY_EXISTS", async () => {
    const id = uniqueId("dup");
    await createDataSource(id);
    const err = await failure(createDataSource(id));
    expect(err.code).toBe(Code.AlreadyExists);
    expect(errorReason(err)).toBe("RESOURCE_ALREADY_EXISTS");
  });

  it("reports a missing one as NOT_FOUND", async () => {
    const name = `dataSources/${uniqueId("none")}`;
    const err = await failure(api.dataSources.getDataSource({ name }));
    expect(err.code).toBe(Code.NotFound);
    expect(errorReason(err)).toBe("RESOURCE_NOT_FOUND");
  });

  it("names each invalid field", async () => {
    const err = await failure(
      api.dataSources.createDataSource({
        dataSourceId: "Bad_ID",
        dataSource: { kind: DataSource_Kind.PROMETHEUS, urls: [""] },
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(errorReason(err)).toBe("INVALID_ARGUMENT");
    const fields = Object.keys(fieldViolations(err)).sort();
    expect(fields).toEqual(["data_source.urls[0]", "data_source_id"]);
    expect(fieldViolations(err)["data_source_id"]).toContain("Bad_ID");
  });

  it("refuses to delete one a detector uses with FAILED_PRECONDITION", async () => {
    const dataSource = await createDataSource(uniqueId("used"));
    await createDetector(uniqueId("user"), dataSource.name);
    const err = await failure(api.dataSources.deleteDataSource({ name: dataSource.name }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(errorReason(err)).toBe("DATA_SOURCE_IN_USE");
  });
});

describe("detectors", () => {
  it("creates, gets, updates, starts, stops and deletes", async () => {
    const dataSource = await createDataSource(uniqueId("src"));
    const id = uniqueId("det");
    const created = await createDetector(id, dataSource.name);
    expect(created.name).toBe(`detectors/${id}`);
    expect(created.state).toBe(Detector_State.STOPPED);
    // The server stores its defaults, so that the detector says what runs.
    expect(created.step?.seconds).toBe(60n);
    expect(created.algorithm.case).toBeDefined();

    const got = await api.detectors.getDetector({ name: created.name });
    expect(got.query).toBe(created.query);

    const updated = await api.detectors.updateDetector({
      detector: { name: created.name, description: "API request rate" },
      updateMask: { paths: ["description"] },
    });
    expect(updated.description).toBe("API request rate");
    expect(updated.query).toBe(created.query);

    // Start answers at once; the server's pipeline backfills, then runs.
    const started = await api.detectors.startDetector({ name: created.name });
    expect(started.state).toBe(Detector_State.BACKFILLING);
    const stopped = await api.detectors.stopDetector({ name: created.name });
    expect(stopped.state).toBe(Detector_State.STOPPED);

    await api.detectors.deleteDetector({ name: created.name });
    const gone = await failure(api.detectors.getDetector({ name: created.name }));
    expect(gone.code).toBe(Code.NotFound);
    // With its only detector gone, the data source can go too.
    await api.dataSources.deleteDataSource({ name: dataSource.name });
  });

  it("lists page by page", async () => {
    const dataSource = await createDataSource(uniqueId("src"));
    const ids = [uniqueId("a"), uniqueId("b"), uniqueId("c")];
    for (const id of ids) await createDetector(id, dataSource.name);
    const filter = `data_source = "${dataSource.name}"`;

    const names: string[] = [];
    let pageToken = "";
    do {
      const page = await api.detectors.listDetectors({ filter, pageSize: 2, pageToken });
      expect(page.detectors.length).toBeLessThanOrEqual(2);
      names.push(...page.detectors.map((d) => d.name));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(names).toEqual(ids.map((id) => `detectors/${id}`));
  });

  it("names the invalid fields", async () => {
    const err = await failure(
      api.detectors.createDetector({
        detectorId: uniqueId("bad"),
        detector: { dataSource: "nope", query: " " },
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    const fields = Object.keys(fieldViolations(err)).sort();
    expect(fields).toEqual(["detector.data_source", "detector.query"]);
  });
});

describe("events", () => {
  it("streams a heartbeat", async () => {
    const controller = new AbortController();
    let event;
    // timeoutMs bounds the wait; leaving the loop cancels the stream.
    const stream = api.events.subscribe({}, { signal: controller.signal, timeoutMs: 5_000 });
    for await (const received of stream) {
      event = received;
      break;
    }
    controller.abort();
    expect(event?.payload.case).toBe("heartbeat");
    if (event?.payload.case === "heartbeat") {
      expect(event.payload.value.intervalMs).toBeGreaterThan(0n);
      if (!process.env.AIOPS_TEST_ADDRESS) {
        expect(event.payload.value.intervalMs).toBe(BigInt(HEARTBEAT_SECONDS * 1000));
      }
    }
  });

  type SubscribeInit = MessageInitShape<typeof SubscribeRequestSchema>;

  /** api.events, but the test can abort the stream open now, as a broken connection would. */
  function breakable() {
    const requests: SubscribeRequest[] = [];
    let current: AbortController | undefined;
    const client = {
      subscribe(request: SubscribeInit, options?: { signal?: AbortSignal }) {
        requests.push(create(SubscribeRequestSchema, request));
        const controller = new AbortController();
        options?.signal?.addEventListener("abort", () => controller.abort(), { once: true });
        current = controller;
        return api.events.subscribe(request, { signal: controller.signal });
      },
    };
    return { client, requests, breakStream: () => current?.abort() };
  }

  /** Reads `iterator` up to and including the event that says the detector stopped. */
  async function untilStopped(iterator: AsyncIterator<Event>): Promise<Event[]> {
    const got: Event[] = [];
    for (;;) {
      const next = await iterator.next();
      if (next.done) throw new Error("watch ended");
      got.push(next.value);
      const payload = next.value.payload;
      if (payload.case === "detectorStatus" && payload.value.state === Detector_State.STOPPED) {
        return got;
      }
    }
  }

  it("watches without gap or duplicate across a broken stream", async () => {
    const dataSource = await api.dataSources.createDataSource({
      dataSourceId: uniqueId("watch-ds"),
      dataSource: { kind: DataSource_Kind.PROMETHEUS, urls: ["http://127.0.0.1:9"] },
    });
    const detector = await createDetector(uniqueId("watch-det"), dataSource.name);
    // Each start and stop writes a DETECTOR_STATUS event; the pipeline may add a DEGRADED one.
    const toggle = async () => {
      await api.detectors.startDetector({ name: detector.name });
      await api.detectors.stopDetector({ name: detector.name });
    };
    const controller = new AbortController();
    const { client, requests, breakStream } = breakable();
    const events = watch(
      client,
      { types: [EventType.DETECTOR_STATUS], detectors: [detector.name] },
      { signal: controller.signal, backoffBaseMs: 1, backoffCapMs: 20 },
    )[Symbol.asyncIterator]();
    try {
      const firstNext = events.next(); // starts the generator, which subscribes
      await new Promise((resolve) => setTimeout(resolve, 500)); // the first heartbeat fixes "live"
      await toggle();
      const first = await firstNext;
      if (first.done) throw new Error("watch ended");
      const before = [first.value];
      const firstState = first.value.payload.case === "detectorStatus" && first.value.payload.value.state;
      if (firstState !== Detector_State.STOPPED) before.push(...(await untilStopped(events)));

      breakStream();
      await toggle(); // while watch is between streams, or replaying
      await toggle();
      const after = [...(await untilStopped(events)), ...(await untilStopped(events))];

      const all = [...before, ...after];
      for (const [i, event] of all.entries()) {
        expect(event.payload.case).toBe("detectorStatus");
        if (event.payload.case === "detectorStatus") expect(event.payload.value.detector).toBe(detector.name);
        if (i > 0) expect(event.sequence).toBeGreaterThan(all[i - 1].sequence);
      }
      const stops = all.filter(
        (e) => e.payload.case === "detectorStatus" && e.payload.value.state === Detector_State.STOPPED,
      );
      expect(stops).toHaveLength(3);
      // The second stream resumed after the last event watch had yielded.
      expect(requests.length).toBeGreaterThanOrEqual(2);
      expect(requests[1].afterSequence).toBe(before[before.length - 1].sequence);
    } finally {
      controller.abort();
    }
    // Aborting ends the iteration quietly.
    expect((await events.next()).done).toBe(true);
  }, 30_000);

  it("throws INVALID_ARGUMENT instead of retrying", async () => {
    const { client, requests } = breakable();
    const err = await failure(
      (async () => {
        for await (const event of watch(client, { afterSequence: -1n })) void event;
      })(),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(fieldViolations(err)).toHaveProperty("after_sequence");
    expect(requests).toHaveLength(1);
  });

  it("reconnects a stream that stays silent", async () => {
    const { client: real } = breakable();
    let calls = 0;
    const client = {
      subscribe(request: SubscribeInit, options?: { signal?: AbortSignal }) {
        calls++;
        if (calls > 1) return real.subscribe(request, options);
        // The first stream never says anything, until the watchdog aborts it.
        const silent: AsyncIterable<Event> = {
          [Symbol.asyncIterator]: () => ({
            next: () =>
              new Promise<IteratorResult<Event>>((_, reject) =>
                options?.signal?.addEventListener("abort", () => reject(new ConnectError("aborted", Code.Canceled))),
              ),
          }),
        };
        return silent;
      },
    };
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), 10_000);
    let heartbeat: Event | undefined;
    for await (const event of watch(
      client,
      {},
      { signal: controller.signal, heartbeats: true, firstHeartbeatTimeoutMs: 300, backoffBaseMs: 1, backoffCapMs: 10 },
    )) {
      heartbeat = event;
      break;
    }
    clearTimeout(timeout);
    expect(heartbeat?.payload.case).toBe("heartbeat");
    expect(calls).toBe(2);
  });
});

describe("error helpers", () => {
  it("answer empty for errors that are not aiops errors", () => {
    expect(fieldViolations(new Error("boom"))).toEqual({});
    expect(errorReason(new ConnectError("no details", Code.Unavailable))).toBeUndefined();
    expect(errorReason("not even an error")).toBeUndefined();
  });
});
