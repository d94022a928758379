import { EventType, type Event } from "@aiops/client";
import { act, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { FakeAiops } from "../../utils/fakeServer";
import { FakeClock, renderWithProviders, settle, startedStore } from "../../utils/test-utils";
import { useLiveEvents, type LiveEventsRequest } from "./useLiveEvents";

function Probe({ request, seen }: { request: LiveEventsRequest | null; seen: Event[] }) {
  const [renders, setRenders] = useState(0);
  const { live, error } = useLiveEvents(request, (event) => {
    if (event.payload.case !== "heartbeat") seen.push(event);
  });
  return (
    <div>
      <p>{live ? "live" : `not live${error ? `: ${error}` : ""}`}</p>
      <button type="button" onClick={() => setRenders(renders + 1)}>
        Render again
      </button>
    </div>
  );
}

async function setup(request: LiveEventsRequest | null) {
  const clock = new FakeClock();
  const server = new FakeAiops(clock.now);
  const { store } = await startedStore({ server, clock });
  const seen: Event[] = [];
  const rendered = renderWithProviders(<Probe request={request} seen={seen} />, { store });
  await act(() => settle());
  return { ...rendered, server, clock, seen };
}

const scoresOf = (detector: string) => ({ types: [EventType.SCORES], detectors: [detector] });

describe("useLiveEvents", () => {
  it("streams the events asked for, live only, and keeps one stream while the request stays the same", async () => {
    const { server, seen, user } = await setup(scoresOf("detectors/api"));
    expect(screen.getByText("live")).toBeTruthy();
    const mine = server.subscribes.filter((request) => request.types.includes(EventType.SCORES));
    expect(mine).toHaveLength(1);
    expect(mine[0].afterSequence).toBe(0n);

    server.pushScores("detectors/api", [{ labels: {}, start: 0, values: [1] }]);
    server.pushScores("detectors/db", [{ labels: {}, start: 0, values: [1] }]);
    await act(() => settle());
    expect(seen.map((event) => event.payload.case)).toEqual(["scores"]);

    // A new request object with the same fields, on each render: the same stream.
    await user.click(screen.getByRole("button", { name: "Render again" }));
    await act(() => settle());
    expect(server.subscribes.filter((request) => request.types.includes(EventType.SCORES))).toHaveLength(1);
  });

  it("reconnects with backoff when the stream ends, and closes it on unmount", async () => {
    const { server, clock, unmount } = await setup(scoresOf("detectors/api"));
    const count = () => server.subscribes.filter((request) => request.types.includes(EventType.SCORES)).length;
    expect(server.scoreStreams).toBe(1);

    server.stop();
    await act(() => settle());
    expect(screen.getByText(/not live: .*shutting down/)).toBeTruthy();
    server.start();
    // random() is 1: the longest delay, 250 ms × 2 after one failure.
    await act(() => clock.advance(499));
    expect(count()).toBe(1);
    await act(() => clock.advance(1));
    await act(() => settle());
    expect(count()).toBe(2);
    expect(screen.getByText("live")).toBeTruthy();

    unmount();
    await act(() => settle());
    expect(server.scoreStreams).toBe(0);
  });

  it("opens nothing without a request", async () => {
    const { server } = await setup(null);
    expect(server.subscribes.filter((request) => request.types.includes(EventType.SCORES))).toHaveLength(0);
    expect(screen.getByText("not live")).toBeTruthy();
  });
});
