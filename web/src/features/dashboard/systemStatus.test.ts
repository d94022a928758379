import { EventSchema, ServerStatusSchema } from "@aiops/client";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ALL_SERVERS, SystemStatus } from "./systemStatus";

const T0 = Date.UTC(2026, 0, 1, 12);

/** A SERVER_STATUS event sent `atSeconds` after T0, measured over `interval` seconds. */
function status(atSeconds: number, init: Omit<MessageInitShape<typeof ServerStatusSchema>, "$typeName"> = {}) {
  return create(EventSchema, {
    time: timestampFromMs(T0 + atSeconds * 1000),
    payload: {
      case: "serverStatus",
      value: create(ServerStatusSchema, {
        server: "aiops-0:41",
        interval: { seconds: 2n },
        openStreams: 3,
        ...init,
      }),
    },
  });
}

/** The times uPlot gets, relative to T0, and where its lines break (null). */
function drawn(model: SystemStatus, server: string) {
  const [times, openStreams] = model.buffer(server).data();
  return [...times].map((time, i) => [time - T0 / 1000, openStreams[i]]);
}

describe("SystemStatus charts", () => {
  it("draws statuses an interval apart as one line, and an outage as a gap", () => {
    const model = new SystemStatus(() => T0);
    for (const at of [0, 2, 4]) model.receive(status(at, { openStreams: at }));
    // The server (or this page's stream) is down for a minute; then it reports again.
    for (const at of [64, 66]) model.receive(status(at, { openStreams: at }));

    const expected = [
      [0, 0],
      [2, 2],
      [4, 4],
      [6, null], // the hole: no line from 4 s to 64 s
      [64, 64],
      [66, 66],
    ];
    expect(drawn(model, ALL_SERVERS)).toEqual(expected);
    expect(drawn(model, "aiops-0:41")).toEqual(expected);
  });

  it("takes each status's own interval: a missed status is a gap, a status that measured a stall is not", () => {
    const model = new SystemStatus(() => T0);
    model.receive(status(0));
    model.receive(status(2.1)); // a little late: no gap
    model.receive(status(6.1)); // one status missed (4 s after, 2 s measured): a gap
    model.receive(status(16.1, { interval: { seconds: 10n } })); // the server stalled 10 s and says so
    model.receive(status(21.1, { interval: { seconds: 5n } })); // restarted at another interval
    model.receive(status(26.1, { interval: { seconds: 5n } }));
    const times = drawn(model, ALL_SERVERS).map(([time, value]) => [Number(time?.toFixed(1)), value]);
    expect(times).toEqual([
      [0, 3],
      [2.1, 3],
      [4.1, null],
      [6.1, 3],
      [16.1, 3],
      [21.1, 3],
      [26.1, 3],
    ]);
  });

  it("draws no gap without an interval to judge by", () => {
    const model = new SystemStatus(() => T0);
    model.receive(status(0, { interval: undefined }));
    model.receive(status(60, { interval: undefined }));
    expect(drawn(model, ALL_SERVERS)).toEqual([
      [0, 3],
      [60, 3],
    ]);
  });
});
