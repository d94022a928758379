// Conversions between protobuf well-known types and the plain numbers the store keeps.
import { create } from "@bufbuild/protobuf";
import { DurationSchema, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";

/** Milliseconds since the epoch, or null when unset. */
export function timestampMs(ts: Timestamp | undefined): number | null {
  if (ts === undefined) return null;
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

/** Seconds, or null when unset. */
export function durationSeconds(duration: Duration | undefined): number | null {
  if (duration === undefined) return null;
  return Number(duration.seconds) + duration.nanos / 1e9;
}

export function secondsToDuration(seconds: number): Duration {
  const whole = Math.trunc(seconds);
  return create(DurationSchema, {
    seconds: BigInt(whole),
    nanos: Math.round((seconds - whole) * 1e9),
  });
}

/** The last segment of a resource name: `detectors/x` -> `x`. */
export function resourceId(name: string): string {
  return name.slice(name.lastIndexOf("/") + 1);
}
