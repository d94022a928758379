// watch: a Subscribe that keeps going across broken streams, with no gap and no duplicate.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { Event } from "./gen/aiops/v1/event_pb";
import { EventService, SubscribeRequestSchema } from "./gen/aiops/v1/event_service_pb";

export interface WatchOptions {
  /** Ends the watch (the iteration then simply finishes). */
  signal?: AbortSignal;
  /** Reconnect delay: random in [0, min(backoffCapMs, backoffBaseMs·2ⁿ)]. 100 ms by default. */
  backoffBaseMs?: number;
  /** The cap of the reconnect delay; 5000 ms by default. */
  backoffCapMs?: number;
  /** Yield heartbeats too; they are kept back by default. */
  heartbeats?: boolean;
  /** How long a new stream may stay silent before a heartbeat gives the interval; 10 s by default. */
  firstHeartbeatTimeoutMs?: number;
}

/** Why watch gave a stream up: nothing, not even a heartbeat, for three intervals. */
const SILENT = new Error("aiops: no heartbeat for three intervals");

/**
 * Subscribes to events and keeps subscribing: yields each event of `request`'s selection
 * once, in sequence order, with no gap, across any number of broken streams.
 *
 * It remembers the sequence of the last event it yielded (or, when `afterSequence` is 0,
 * of the first heartbeat, so "live only" starts from when watch was called). When a
 * stream fails (the server shuts down or drops a slow stream, the network breaks, or
 * nothing arrives for three heartbeat intervals) it subscribes again with
 * `afterSequence` set to that, after a capped exponential backoff with full jitter. An
 * event with a `reset` payload means the server no longer kept all the events asked
 * for: reload the state you keep, then carry on.
 *
 * Ends quietly when `options.signal` aborts or the loop breaks; throws only when the
 * server rejects the request with INVALID_ARGUMENT, which no retry would fix.
 */
export async function* watch(
  client: Pick<Client<typeof EventService>, "subscribe">,
  request: MessageInitShape<typeof SubscribeRequestSchema>,
  options: WatchOptions = {},
): AsyncGenerator<Event, void, undefined> {
  const { signal, heartbeats = false } = options;
  const base = options.backoffBaseMs ?? 100;
  const cap = options.backoffCapMs ?? 5_000;
  const req = create(SubscribeRequestSchema, request);
  let last = req.afterSequence;
  let started = last !== 0n; // whether `last` is a position to resume from
  let silenceMs = options.firstHeartbeatTimeoutMs ?? 10_000;
  let failures = 0;

  while (!signal?.aborted) {
    const stream = new AbortController();
    const onAbort = () => stream.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    // The watchdog: a stream silent for too long is aborted, and so fails below.
    let watchdog = setTimeout(() => stream.abort(SILENT), silenceMs);
    let received = false;
    let error: unknown;
    try {
      const events = client.subscribe(create(SubscribeRequestSchema, { ...req, afterSequence: last }), {
        signal: stream.signal,
      });
      for await (const event of events) {
        // The caller's time with the event is not the stream's silence.
        clearTimeout(watchdog);
        received = true;
        if (event.payload.case === "heartbeat") {
          if (event.payload.value.intervalMs > 0n) {
            silenceMs = 3 * Number(event.payload.value.intervalMs);
          }
          if (!started) {
            last = event.sequence;
            started = true;
          }
          if (heartbeats) yield event;
        } else {
          if (event.sequence > last) last = event.sequence;
          started = true;
          yield event;
        }
        watchdog = setTimeout(() => stream.abort(SILENT), silenceMs);
      }
    } catch (err) {
      error = err;
    } finally {
      clearTimeout(watchdog);
      signal?.removeEventListener("abort", onAbort);
      stream.abort(); // ends the call when the caller broke out of the loop
    }
    if (signal?.aborted) return;
    if (error !== undefined && ConnectError.from(error).code === Code.InvalidArgument) {
      throw error;
    }
    if (received) failures = 0; // the stream was up: back off from the base again
    const delay = Math.min(cap, base * 2 ** Math.min(failures, 30));
    failures++;
    await sleep(Math.random() * delay, signal);
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
