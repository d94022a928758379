// What thunks and listeners get besides the store: the API clients, the clock, the stream's
// settings. Tests pass their own (a router transport's clients, a fake clock).
import type { AiopsClients } from "@aiops/client";
import type { Clock } from "./clock";

export interface StreamSettings {
  /** Reconnect delay: uniform in [0, min(backoffCapMs, backoffBaseMs · 2^failures)]. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** How long a new stream may say nothing before it is given up, until a heartbeat gives the interval. */
  firstHeartbeatTimeoutMs: number;
  /** A stream silent for this many heartbeat intervals is dead. */
  missedHeartbeats: number;
  /** Unreachable this long (since the stream was lost, or since the first attempt), the badge says offline; it keeps retrying. */
  offlineAfterMs: number;
  /** The most anomalies loaded (newest first); the server keeps more, the list says so. */
  anomalyLoadLimit: number;
  /** Page size of the List calls. */
  pageSize: number;
}

export const defaultStreamSettings: StreamSettings = {
  backoffBaseMs: 250,
  backoffCapMs: 5_000,
  firstHeartbeatTimeoutMs: 10_000,
  missedHeartbeats: 3,
  offlineAfterMs: 15_000,
  anomalyLoadLimit: 50_000,
  pageSize: 1000,
};

export interface AppExtra {
  clients: AiopsClients;
  clock: Clock;
  settings: StreamSettings;
}
