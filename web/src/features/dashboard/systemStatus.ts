// What the servers say they are doing (SERVER_STATUS events), kept outside Redux: each
// server's latest status, the totals over every server, and their history as chart buffers.
// Several servers (replicas) each send their own status, keyed by `server`; one silent for
// three of its intervals (a stopped or restarted process) is dropped.
import type { Event, ServerStatus } from "@aiops/client";
import { durationSeconds, timestampMs } from "../../utils/proto";
import { ChartBuffer } from "../charts/buffer";
import { toHealthCheckView, type HealthCheckView } from "../dataSources/health";

export interface DetectorActivityView {
  detector: string;
  /** Seconds its latest scored point is behind; NaN before its first. */
  lagSeconds: number;
  stepSeconds: number;
  series: number;
}

export interface DataSourceActivityView {
  dataSource: string;
  requests: number;
  errors: number;
  /** NaN without requests. */
  meanLatencySeconds: number;
  lastCheck: HealthCheckView | null;
}

export interface ServerSnapshot {
  server: string;
  /** When the status was sent (the event's time), ms since the epoch. */
  time: number;
  startTime: number | null;
  /** The interval measured, in seconds. */
  intervalSeconds: number | null;
  openStreams: number;
  eventsPerSecond: number;
  cpuCores: number;
  memoryBytes: number;
  detectors: DetectorActivityView[];
  dataSources: DataSourceActivityView[];
}

/** What the numbers at the top say: one server's, or every server's together. */
export interface Totals {
  servers: number;
  time: number;
  openStreams: number;
  /** Every server hears every replica's events: the highest, not the sum. */
  eventsPerSecond: number;
  cpuCores: number;
  memoryBytes: number;
  /** Of the server started last: how long the whole has been up. */
  uptimeSeconds: number | null;
  intervalSeconds: number | null;
}

export const ALL_SERVERS = "";
/** The chart buffers' fields. Memory is kept in MiB, the unit its chart reads in. */
export const STATUS_FIELDS = ["openStreams", "eventsPerSecond", "cpuCores", "memoryMiB"] as const;
/** Points kept per chart: an hour at the default two-second status interval. */
export const STATUS_HISTORY = 1800;
/** A server silent this many of its intervals (at least STALE_MIN_MS) is gone. */
const STALE_INTERVALS = 3;
const STALE_MIN_MS = 10_000;
/**
 * A status this many of its intervals after the previous point follows a hole (a missed status
 * or more): the chart breaks its lines there rather than draw across (ChartBuffer's rule).
 */
export const GAP_INTERVALS = 1.5;

export function toServerSnapshot(status: ServerStatus, time: number): ServerSnapshot {
  return {
    server: status.server,
    time,
    startTime: timestampMs(status.startTime),
    intervalSeconds: durationSeconds(status.interval),
    openStreams: status.openStreams,
    eventsPerSecond: status.eventsPerSecond,
    cpuCores: status.cpuCores,
    memoryBytes: Number(status.memoryBytes),
    detectors: status.detectors
      .map((d) => ({ detector: d.detector, lagSeconds: d.lagSeconds, stepSeconds: d.stepSeconds, series: d.series }))
      .sort((a, b) => (a.detector < b.detector ? -1 : 1)),
    dataSources: status.dataSources
      .map((s) => ({
        dataSource: s.dataSource,
        requests: s.requests,
        errors: s.errors,
        meanLatencySeconds: s.meanLatencySeconds,
        lastCheck: s.lastCheck ? toHealthCheckView(s.lastCheck) : null,
      }))
      .sort((a, b) => (a.dataSource < b.dataSource ? -1 : 1)),
  };
}

export function totals(servers: readonly ServerSnapshot[]): Totals {
  const uptimes = servers
    .filter((s) => s.startTime !== null)
    .map((s) => Math.max(0, (s.time - (s.startTime ?? s.time)) / 1000));
  const intervals = servers.map((s) => s.intervalSeconds).filter((i): i is number => i !== null);
  return {
    servers: servers.length,
    time: Math.max(0, ...servers.map((s) => s.time)),
    openStreams: servers.reduce((sum, s) => sum + s.openStreams, 0),
    eventsPerSecond: Math.max(0, ...servers.map((s) => s.eventsPerSecond)),
    cpuCores: servers.reduce((sum, s) => sum + s.cpuCores, 0),
    memoryBytes: servers.reduce((sum, s) => sum + s.memoryBytes, 0),
    uptimeSeconds: uptimes.length > 0 ? Math.min(...uptimes) : null,
    intervalSeconds: intervals.length > 0 ? Math.max(...intervals) : null,
  };
}

/** An error rate: errors per request, NaN without requests. */
export function errorRate(activity: DataSourceActivityView): number {
  return activity.requests > 0 ? activity.errors / activity.requests : NaN;
}

export interface SystemStatusSnapshot {
  /** Every server heard from and not gone silent, by name. */
  servers: ServerSnapshot[];
  /** How many statuses came since the page opened. */
  received: number;
}

const staleAfterMs = (server: ServerSnapshot) =>
  Math.max(STALE_MIN_MS, STALE_INTERVALS * (server.intervalSeconds ?? 0) * 1000);

/**
 * The servers' statuses as they come: `receive` each event (others are ignored); `buffer` is
 * one server's history, or every server's totals (ALL_SERVERS). `subscribe`/`getSnapshot`
 * suit useSyncExternalStore.
 */
export class SystemStatus {
  private latest = new Map<string, ServerSnapshot>();
  private buffers = new Map<string, ChartBuffer>();
  private snapshot: SystemStatusSnapshot = { servers: [], received: 0 };
  private listeners = new Set<() => void>();

  constructor(private now: () => number = () => Date.now()) {}

  /** Takes a SERVER_STATUS event; whether it was one. */
  receive(event: Event): boolean {
    if (event.payload.case !== "serverStatus") return false;
    const time = timestampMs(event.time) ?? this.now();
    const status = toServerSnapshot(event.payload.value, time);
    this.latest.set(status.server, status);
    for (const [name, server] of this.latest) {
      if (time - server.time > staleAfterMs(server)) {
        this.latest.delete(name);
        this.buffers.delete(name);
      }
    }
    const servers = [...this.latest.values()].sort((a, b) => (a.server < b.server ? -1 : 1));
    this.record(status.server, totals([status]));
    this.record(ALL_SERVERS, totals(servers));
    this.snapshot = { servers, received: this.snapshot.received + 1 };
    for (const listener of this.listeners) listener();
    return true;
  }

  /** The history of one server, or of the totals (ALL_SERVERS). */
  buffer(server: string): ChartBuffer {
    let buffer = this.buffers.get(server);
    if (buffer === undefined) {
      buffer = new ChartBuffer(STATUS_FIELDS, { capacity: STATUS_HISTORY });
      this.buffers.set(server, buffer);
    }
    return buffer;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  getSnapshot = (): SystemStatusSnapshot => this.snapshot;

  private record(server: string, t: Totals): void {
    const buffer = this.buffer(server);
    const seconds = t.time / 1000;
    // Two replicas' statuses in the same instant: the totals' latest stands for both.
    const last = buffer.lastTime();
    if (last !== undefined && seconds <= last) return;
    // A status measures the interval before it: one that does not reach back to the previous
    // point (the server was down, or this page's stream was) follows a hole, drawn as a gap: a
    // point without values (NaN) one interval after the previous one. Each status's own
    // interval, not one step for the whole chart: a status after a stall measured the stall,
    // and a restarted server may report at another interval.
    const interval = t.intervalSeconds ?? 0;
    const hole = last !== undefined && interval > 0 && seconds - last >= GAP_INTERVALS * interval;
    const times = hole ? [last + interval, seconds] : [seconds];
    const point = (value: number) => (hole ? [NaN, value] : [value]);
    buffer.put(times, {
      openStreams: point(t.openStreams),
      eventsPerSecond: point(t.eventsPerSecond),
      cpuCores: point(t.cpuCores),
      memoryMiB: point(t.memoryBytes / 2 ** 20),
    });
  }
}
