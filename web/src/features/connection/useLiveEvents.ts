// A Subscribe stream of a page's own, for what the tab's one stream does not carry (SCORES for
// a detector's charts, SERVER_STATUS for the dashboard): open while the component is mounted and
// the request is not null, live events only (nothing replayed: these events are not kept), and
// reopened with capped exponential backoff and full jitter (the store's stream settings and
// clock) when it fails, ends, or stays silent for `missedHeartbeats` heartbeat intervals.
import { SubscribeRequestSchema, type Event } from "@aiops/client";
import { create, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { useEffect, useEffectEvent, useMemo, useState } from "react";
import { useStore } from "react-redux";
import { sleep } from "../../app/clock";
import type { AppStore } from "../../app/store";
import { describeError } from "../../utils/errors";

export type LiveEventsRequest = MessageInitShape<typeof SubscribeRequestSchema>;

export interface LiveEventsState {
  /** Whether the stream is open and has said something (a heartbeat, an event). */
  live: boolean;
  /** Why the last stream ended, until a new one is live; null while live or before any failure. */
  error: string | null;
}

/**
 * Streams the events `request` asks for to `onEvent` (every event, heartbeats too: switch on
 * `event.payload.case`) while mounted and `request` is not null. The stream is reopened only when
 * the request changes in value (a new object with the same fields keeps it); `onEvent` may
 * change on every render.
 */
export function useLiveEvents(request: LiveEventsRequest | null, onEvent: (event: Event) => void): LiveEventsState {
  const store = useStore() as AppStore;
  const { clients, clock, settings } = store.extra;
  const key = request === null ? null : toJsonString(SubscribeRequestSchema, create(SubscribeRequestSchema, request));
  // The request for this key: the same object while the key stays.
  // eslint-disable-next-line react-hooks/exhaustive-deps -- keyed on the request's JSON on purpose
  const stable = useMemo(() => request, [key]);
  const [state, setState] = useState<LiveEventsState & { key: string | null }>({ live: false, error: null, key });
  const deliver = useEffectEvent((event: Event) => onEvent(event));

  useEffect(() => {
    if (stable === null) return;
    const stop = new AbortController();
    const signal = stop.signal;
    const update = (next: LiveEventsState) =>
      setState((prev) => (prev.live === next.live && prev.error === next.error && prev.key === key ? prev : { ...next, key }));

    const run = async () => {
      let failures = 0;
      let intervalMs: number | null = null;
      let wakeUp: (() => void) | undefined;
      const onOnline = () => wakeUp?.();
      globalThis.addEventListener?.("online", onOnline);
      try {
        while (!signal.aborted) {
          const call = new AbortController();
          const cancel = () => call.abort();
          signal.addEventListener("abort", cancel, { once: true });
          let watchdog: unknown;
          let silentMs = 0;
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
          let error: unknown;
          arm();
          try {
            const events = clients.events.subscribe({ ...stable, afterSequence: 0n }, { signal: call.signal });
            for await (const event of events) {
              if (event.payload.case === "heartbeat") {
                const said = Number(event.payload.value.intervalMs);
                if (said > 0) intervalMs = said;
              }
              if (!live) {
                live = true;
                liveSince = clock.now();
                update({ live: true, error: null });
              }
              arm();
              deliver(event);
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
          // Back off from the base again only after a stream that stayed up a heartbeat interval.
          const steady = live && clock.now() - liveSince >= (intervalMs ?? settings.firstHeartbeatTimeoutMs);
          failures = steady ? 0 : failures + 1;
          update({
            live: false,
            error:
              silentMs > 0
                ? `no heartbeat for ${Math.round(silentMs / 1000)} s: the stream was presumed dead`
                : describeError(error),
          });
          const delay = clock.random() * Math.min(settings.backoffCapMs, settings.backoffBaseMs * 2 ** Math.min(failures, 30));
          await sleep(clock, delay, signal, (wake) => {
            wakeUp = wake;
          });
          wakeUp = undefined;
        }
      } finally {
        globalThis.removeEventListener?.("online", onOnline);
      }
    };
    void run();
    return () => stop.abort();
  }, [stable, key, clients, clock, settings]);

  // A new request (or none) starts from "not live" until its stream says something.
  if (stable === null || state.key !== key) return { live: false, error: null };
  return { live: state.live, error: state.error };
}
