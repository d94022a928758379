import { act, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { formatTime } from "../../utils/format";
import { FakeAiops } from "../../utils/fakeServer";
import { FakeClock, makeTestStore, renderWithProviders, settle } from "../../utils/test-utils";
import { ConnectionBadge } from "./ConnectionBadge";
import { streamStarted } from "./connectionSlice";

describe("connection badge", () => {
  it("follows the stream: connecting, live with the last event's time, reconnecting, retry now", async () => {
    const clock = new FakeClock();
    const server = new FakeAiops(clock.now);
    server.addDetector({ name: "detectors/api" });
    const { store } = makeTestStore({ server, clock });
    const { user } = renderWithProviders(<ConnectionBadge />, { store });
    const badge = () => screen.getByRole("status", { name: "Connection" });
    expect(badge().textContent).toBe("Connecting");

    await act(async () => {
      store.dispatch(streamStarted());
      await settle();
    });
    expect(badge().textContent).toBe("Live · no event yet");

    server.addAnomaly({ name: "detectors/api/anomalies/x" }, true);
    await act(() => settle());
    expect(badge().textContent).toBe(`Live · last event ${formatTime(clock.time)}`);

    server.stop();
    await act(() => settle());
    expect(badge().textContent).toMatch(/^Reconnecting · next try /);
    expect(badge().title).toContain("the server is shutting down");

    server.start();
    await user.click(screen.getByRole("button", { name: "Retry now" }));
    await act(() => settle());
    expect(badge().textContent).toMatch(/^Live/);
    expect(server.subscribes.at(-1)?.afterSequence).toBe(1n);
  });
});
