// Where the event stream is: connecting / live / reconnecting / offline, since when, the last
// event and sequence seen, and whether the state it keeps current has been loaded.
import { createAction, createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { isChangeEvent, resetReceived } from "./eventActions";

export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "offline";

export interface ConnectionState {
  status: ConnectionStatus;
  /** When `status` last changed (client clock, ms). */
  since: number | null;
  /** The sequence of the last event applied (0: none yet). */
  lastSequence: number;
  /** The server's time of the last change event. */
  lastEventTime: number | null;
  /** When the last message, heartbeats included, arrived (client clock). */
  lastMessageAt: number | null;
  /** The server's heartbeat interval, as it said or as measured. */
  heartbeatIntervalMs: number | null;
  /** Attempts in a row that failed to go live. */
  failures: number;
  /** When the next attempt is due, while waiting for it (client clock). */
  retryAt: number | null;
  /** Why the last stream ended, for people. */
  lastError: string | null;
  /** Whether the lists have been loaded since the stream manager started (or since a reset). */
  loaded: boolean;
  /** Whether the lists are being loaded. */
  loading: boolean;
  /** Why loading them failed, if it did. */
  loadError: string | null;
}

const initialState: ConnectionState = {
  status: "connecting",
  since: null,
  lastSequence: 0,
  lastEventTime: null,
  lastMessageAt: null,
  heartbeatIntervalMs: null,
  failures: 0,
  retryAt: null,
  lastError: null,
  loaded: false,
  loading: false,
  loadError: null,
};

/** Opens the tab's event stream and keeps it open until `streamStopped`. */
export const streamStarted = createAction("connection/streamStarted");
export const streamStopped = createAction("connection/streamStopped");
/** Cuts a reconnect delay short (a button, the browser coming back online). */
export const retryNow = createAction("connection/retryNow");

export const connectionSlice = createSlice({
  name: "connection",
  initialState,
  reducers: {
    attemptStarted(state, action: PayloadAction<{ at: number; everLive: boolean }>) {
      const status = state.status === "offline" ? "offline" : action.payload.everLive ? "reconnecting" : "connecting";
      if (status !== state.status) {
        state.status = status;
        state.since = action.payload.at;
      }
      state.retryAt = null;
    },
    wentLive(state, action: PayloadAction<{ at: number; sequence: number; intervalMs: number | null }>) {
      state.status = "live";
      state.since = action.payload.at;
      state.failures = 0;
      state.retryAt = null;
      state.lastError = null;
      state.lastMessageAt = action.payload.at;
      state.heartbeatIntervalMs = action.payload.intervalMs ?? state.heartbeatIntervalMs;
      state.lastSequence = Math.max(state.lastSequence, action.payload.sequence);
    },
    heartbeatReceived(state, action: PayloadAction<{ at: number; intervalMs: number | null }>) {
      state.lastMessageAt = action.payload.at;
      state.heartbeatIntervalMs = action.payload.intervalMs ?? state.heartbeatIntervalMs;
    },
    streamLost(
      state,
      action: PayloadAction<{ at: number; error: string; failures: number; retryAt: number; offline: boolean }>,
    ) {
      const status = action.payload.offline ? "offline" : "reconnecting";
      if (status !== state.status) {
        state.status = status;
        state.since = action.payload.at;
      }
      state.failures = action.payload.failures;
      state.retryAt = action.payload.retryAt;
      state.lastError = action.payload.error;
    },
    loadStarted(state) {
      state.loading = true;
      state.loadError = null;
    },
    loadFinished(state, action: PayloadAction<{ error: string | null }>) {
      state.loading = false;
      state.loadError = action.payload.error;
      if (action.payload.error === null) state.loaded = true;
    },
  },
  extraReducers: (builder) => {
    builder
      .addCase(resetReceived, (state, action) => {
        state.lastSequence = action.payload.sequence;
      })
      .addMatcher(isChangeEvent, (state, action) => {
        state.lastSequence = Math.max(state.lastSequence, action.payload.sequence);
        state.lastEventTime = action.payload.time ?? state.lastEventTime;
      });
  },
  selectors: {
    selectConnection: (state) => state,
    selectStatus: (state) => state.status,
    selectLoaded: (state) => state.loaded,
  },
});

export const { attemptStarted, wentLive, heartbeatReceived, streamLost, loadStarted, loadFinished } =
  connectionSlice.actions;
export const { selectConnection, selectStatus, selectLoaded } = connectionSlice.selectors;
