// The stream manager: the tab's one Subscribe stream, kept open from `streamStarted` to
// `streamStopped`. It reconnects with capped exponential backoff and full jitter, resumes
// after the last sequence it applied (dropping any it has seen), gives up a stream whose
// heartbeats stop for `missedHeartbeats` intervals, loads the lists once it knows its position
// (and again on a `reset`), holding the events that arrive meanwhile back until they are in,
// and turns every event into a slice action.
import type { AppExtra } from "../../app/extra";
import { sleep } from "../../app/clock";
import type { AppDispatch, AppStartListening, RootState } from "../../app/store";
import { describeError } from "../../utils/errors";
import { loadAnomalies } from "../anomalies/anomaliesSlice";
import { fetchDataSource, loadDataSources } from "../dataSources/dataSourcesSlice";
import { fetchDetector, loadDetectors } from "../detectors/detectorsSlice";
import {
  attemptStarted,
  heartbeatReceived,
  loadFinished,
  loadStarted,
  retryNow,
  streamLost,
  streamStarted,
  streamStopped,
  wentLive,
} from "./connectionSlice";
import {
  changeEventAction,
  dataSourceHealthReceived,
  detectorStatusReceived,
  resetReceived,
  type ChangeEventAction,
} from "./eventActions";

interface StreamApi {
  dispatch: AppDispatch;
  getState: () => RootState;
  extra: AppExtra;
}

/** Adds the stream manager to a store's listener middleware. */
export function addStreamManager(startListening: AppStartListening): void {
  let wake: (() => void) | undefined;

  startListening({
    actionCreator: retryNow,
    effect: () => wake?.(),
  });

  startListening({
    actionCreator: streamStarted,
    effect: async (_action, listenerApi) => {
      // One stream per tab: a second start while this one runs changes nothing.
      listenerApi.unsubscribe();
      const task = listenerApi.fork((forkApi) =>
        runStream(listenerApi, forkApi.signal, (w) => {
          wake = w;
        }),
      );
      await listenerApi.condition(streamStopped.match);
      task.cancel();
      await task.result;
      wake = undefined;
      listenerApi.subscribe();
    },
  });
}

/** Keeps a stream open until `signal` aborts. */
async function runStream(
  api: StreamApi,
  signal: AbortSignal,
  setWake: (wake: (() => void) | undefined) => void,
): Promise<void> {
  const { dispatch, getState } = api;
  const { clients, clock, settings } = api.extra;

  // Where we are in the server's event log: the sequence of the last event applied, once a
  // heartbeat (or a replayed event) has told us where the log was.
  let last = 0;
  let positioned = false;
  let intervalMs: number | null = null;
  let failures = 0;
  let everLive = false;
  // Since when the server has not been reachable: the first attempt, or the end of the last live stream.
  let lostAt = clock.now();
  let needsLoad = true;
  // While the lists load, the events that arrive wait here, applied on top once they are in.
  let held: ChangeEventAction[] | null = null;
  let loadAgain = false;
  const fetching = new Set<string>();

  const afterApply = (action: ChangeEventAction) => {
    const state = getState();
    if (!state.connection.loaded) return;
    // A detector or data source made elsewhere comes as a change event before any other event
    // of it, except where no change event was written: by a server (or a replica, in a rolling
    // upgrade) older than those events, whose events a resumed stream may replay. An event of
    // one we do not know fetches it, then; one an event deleted stays deleted.
    let name: string | undefined;
    let fetch: (() => unknown) | undefined;
    if (
      detectorStatusReceived.match(action) &&
      !state.detectors.entities[action.payload.detector] &&
      !state.detectors.deleted[action.payload.detector]
    ) {
      name = action.payload.detector;
      fetch = () => dispatch(fetchDetector(action.payload.detector));
    } else if (
      dataSourceHealthReceived.match(action) &&
      !state.dataSources.entities[action.payload.dataSource] &&
      !state.dataSources.deleted[action.payload.dataSource]
    ) {
      name = action.payload.dataSource;
      fetch = () => dispatch(fetchDataSource(action.payload.dataSource));
    }
    if (name === undefined || fetch === undefined || fetching.has(name)) return;
    const key = name;
    fetching.add(key);
    void Promise.resolve(fetch()).finally(() => fetching.delete(key));
  };

  const apply = (action: ChangeEventAction) => {
    if (held !== null) {
      held.push(action);
      return;
    }
    dispatch(action);
    afterApply(action);
  };

  const load = () => {
    needsLoad = false;
    if (held !== null) {
      loadAgain = true; // a load is running: the state it reads may be older than the reset
      return;
    }
    held = [];
    dispatch(loadStarted());
    Promise.all([
      dispatch(loadDetectors()).unwrap(),
      dispatch(loadAnomalies()).unwrap(),
      dispatch(loadDataSources()).unwrap(),
    ]).then(
      () => {
        if (signal.aborted) return;
        const waiting = held ?? [];
        held = null;
        for (const action of waiting) dispatch(action);
        dispatch(loadFinished({ error: null }));
        for (const action of waiting) afterApply(action);
        if (loadAgain) {
          loadAgain = false;
          load();
        }
      },
      (err: unknown) => {
        if (signal.aborted) return;
        // What the held events said, the next load reads: it starts on the next heartbeat.
        held = null;
        loadAgain = false;
        needsLoad = true;
        dispatch(loadFinished({ error: describeError(err) }));
      },
    );
  };

  const onOnline = () => wakeUp?.();
  let wakeUp: (() => void) | undefined;
  globalThis.addEventListener?.("online", onOnline);

  try {
    while (!signal.aborted) {
      dispatch(attemptStarted({ at: clock.now(), everLive }));
      const call = new AbortController();
      const cancel = () => call.abort();
      signal.addEventListener("abort", cancel, { once: true });
      let silentMs = 0;
      let watchdog: unknown;
      const arm = () => {
        clock.clearTimeout(watchdog);
        const ms = intervalMs === null ? settings.firstHeartbeatTimeoutMs : intervalMs * settings.missedHeartbeats;
        watchdog = clock.setTimeout(() => {
          silentMs = ms;
          call.abort();
        }, ms);
      };
      let live = false;
      let liveSince = 0;
      let lastHeartbeatAt: number | null = null;
      let error: unknown;
      arm();
      // Positioned at 0 (the log was empty): `after_sequence` 0 would ask for live events only,
      // missing what happened while away; so position again, and load again, instead.
      if (positioned && last === 0) positioned = false;
      try {
        const events = clients.events.subscribe(
          { afterSequence: BigInt(positioned ? last : 0) },
          { signal: call.signal },
        );
        for await (const event of events) {
          const at = clock.now();
          const payload = event.payload;
          if (payload.case === "heartbeat") {
            const said = Number(payload.value.intervalMs);
            if (said > 0) intervalMs = said;
            else if (lastHeartbeatAt !== null && at > lastHeartbeatAt) intervalMs = at - lastHeartbeatAt;
            lastHeartbeatAt = at;
            if (!positioned) {
              // Live only: from here on we miss nothing, and the lists are read after this.
              last = Number(event.sequence);
              positioned = true;
              needsLoad = true;
            }
            if (!live) {
              live = true;
              liveSince = at;
              lostAt = at;
              everLive = true;
              dispatch(wentLive({ at, sequence: last, intervalMs }));
            } else {
              dispatch(heartbeatReceived({ at, intervalMs }));
            }
            if (needsLoad) load();
          } else if (payload.case === "reset") {
            last = Number(event.sequence);
            positioned = true;
            dispatch(
              resetReceived({
                sequence: last,
                time: null,
                reason: payload.value.reason,
                oldestSequence: Number(payload.value.oldestSequence),
              }),
            );
            load();
          } else {
            const action = changeEventAction(event);
            if (action !== undefined) {
              if (positioned && action.payload.sequence <= last) {
                // Seen before (a replay overlapping what we had): dropped.
              } else {
                last = action.payload.sequence;
                positioned = true;
                apply(action);
              }
            }
          }
          arm();
        }
        error = new Error("the server ended the stream");
      } catch (err) {
        error = err;
      } finally {
        clock.clearTimeout(watchdog);
        signal.removeEventListener("abort", cancel);
        call.abort();
      }
      if (signal.aborted) break;

      // Back off from the base again only after a stream that stayed up a heartbeat interval: a
      // server that takes streams and drops them at once is not hammered.
      const stable = live && clock.now() - liveSince >= (intervalMs ?? settings.firstHeartbeatTimeoutMs);
      failures = stable ? 0 : failures + 1;
      if (live) lostAt = clock.now();
      const message =
        silentMs > 0 ? `no heartbeat for ${Math.round(silentMs / 1000)} s: the stream was presumed dead` : describeError(error);
      const delay = clock.random() * Math.min(settings.backoffCapMs, settings.backoffBaseMs * 2 ** Math.min(failures, 30));
      const at = clock.now();
      const browserOffline = typeof navigator !== "undefined" && navigator.onLine === false;
      dispatch(
        streamLost({
          at,
          error: message,
          failures,
          retryAt: at + delay,
          offline: browserOffline || at - lostAt >= settings.offlineAfterMs,
        }),
      );
      await sleep(clock, delay, signal, (wake) => {
        wakeUp = wake;
        setWake(wake);
      });
      wakeUp = undefined;
      setWake(undefined);
    }
  } finally {
    globalThis.removeEventListener?.("online", onOnline);
  }
}
