// A data source's health history: the background probe's recent checks (ListHealthChecks),
// then each new one the servers' SERVER_STATUS events bring, as a latency chart's buffer and
// the failed checks' markers. Kept outside Redux: a chart's points are no app state.
import type { AiopsClients, HealthCheck } from "@aiops/client";
import { listAll } from "../../utils/paging";
import { durationSeconds, timestampMs } from "../../utils/proto";
import { ChartBuffer } from "../charts/buffer";

/** One check, plain. */
export interface HealthCheckView {
  /** When it started, ms since the epoch. */
  time: number;
  reachable: boolean;
  url: string;
  error: string;
  /** How long it took, in seconds; null when the server did not say. */
  latencySeconds: number | null;
}

/** The checks the server keeps per data source (an hour at the default interval). */
export const HEALTH_CHECKS_KEPT = 240;
/** The most checks a page holds: the server's 240, then a long afternoon of live ones. */
export const HEALTH_HISTORY_CAPACITY = 1000;
/** The red of a failed check's marker (a canvas takes no CSS variable). */
export const FAILED_COLOR = "#d93025";
export const LATENCY_COLOR = "#2857c5";

export function toHealthCheckView(check: HealthCheck): HealthCheckView | null {
  const time = timestampMs(check.time);
  if (time === null) return null;
  return {
    time,
    reachable: check.reachable,
    url: check.url,
    error: check.error,
    latencySeconds: durationSeconds(check.latency),
  };
}

/** The probe's checks of `name` the server keeps, oldest first. */
export async function loadHealthChecks(
  clients: AiopsClients,
  name: string,
  signal?: AbortSignal,
): Promise<HealthCheckView[]> {
  const { items } = await listAll(async (pageToken) => {
    const answer = await clients.dataSources.listHealthChecks(
      { parent: name, pageSize: HEALTH_CHECKS_KEPT, pageToken },
      { signal },
    );
    return {
      items: answer.healthChecks.map(toHealthCheckView).filter((c): c is HealthCheckView => c !== null),
      nextPageToken: answer.nextPageToken,
    };
  }, HEALTH_CHECKS_KEPT);
  return items.sort((a, b) => a.time - b.time);
}

export interface ChartMarker {
  time: number;
  value: number;
  color: string;
  label: string;
}

export interface HealthHistorySnapshot {
  /** Whether the server's history is in (live checks may come before it). */
  loaded: boolean;
  count: number;
  failed: number;
  latest: HealthCheckView | null;
  /** The failed checks, as markers on the latency line (seconds; milliseconds). */
  markers: ChartMarker[];
  /** The latest failed checks, newest first (at most 5). */
  recentFailures: HealthCheckView[];
}

const EMPTY: HealthHistorySnapshot = {
  loaded: false,
  count: 0,
  failed: 0,
  latest: null,
  markers: [],
  recentFailures: [],
};

/** A check's latency as the chart draws it, in milliseconds (NaN: a gap). */
const latencyMs = (check: HealthCheckView) => (check.latencySeconds === null ? NaN : check.latencySeconds * 1000);

/**
 * The checks of one data source, oldest first, each at most once (by time): `load` the
 * server's, `append` live ones (only newer than the latest held). `buffer` has one field,
 * `latency` (ms); `subscribe`/`getSnapshot` suit useSyncExternalStore.
 */
export class HealthHistory {
  readonly buffer = new ChartBuffer(["latency"], { capacity: HEALTH_HISTORY_CAPACITY });
  private checks: HealthCheckView[] = [];
  private loaded = false;
  private snapshot: HealthHistorySnapshot = EMPTY;
  private listeners = new Set<() => void>();

  /** The server's history, merged with the live checks that came while it loaded. */
  load(checks: readonly HealthCheckView[]): void {
    const byTime = new Map<number, HealthCheckView>();
    for (const check of checks) byTime.set(check.time, check);
    for (const check of this.checks) byTime.set(check.time, check);
    this.checks = [...byTime.values()].sort((a, b) => a.time - b.time).slice(-HEALTH_HISTORY_CAPACITY);
    this.loaded = true;
    this.buffer.clear();
    if (this.checks.length > 0) {
      this.buffer.put(
        this.checks.map((c) => c.time / 1000),
        { latency: this.checks.map(latencyMs) },
      );
    }
    this.changed();
  }

  /** A live check: kept when newer than every check held. Whether it was. */
  append(check: HealthCheckView): boolean {
    const last = this.checks.at(-1);
    if (last !== undefined && check.time <= last.time) return false;
    this.checks.push(check);
    if (this.checks.length > HEALTH_HISTORY_CAPACITY) this.checks.shift();
    this.buffer.put([check.time / 1000], { latency: [latencyMs(check)] });
    this.changed();
    return true;
  }

  all(): readonly HealthCheckView[] {
    return this.checks;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  getSnapshot = (): HealthHistorySnapshot => this.snapshot;

  private changed(): void {
    const failures = this.checks.filter((c) => !c.reachable);
    this.snapshot = {
      loaded: this.loaded,
      count: this.checks.length,
      failed: failures.length,
      latest: this.checks.at(-1) ?? null,
      markers: failures.map((c) => ({
        time: c.time / 1000,
        value: Number.isNaN(latencyMs(c)) ? 0 : latencyMs(c),
        color: FAILED_COLOR,
        label: c.error || "unreachable",
      })),
      recentFailures: failures.slice(-5).reverse(),
    };
    for (const listener of this.listeners) listener();
  }
}
