import { screen, within } from "@testing-library/react";
import { beforeAll, describe, expect, it } from "vitest";
import { App, loadPages } from "./App";
import { FakeAiops } from "./utils/fakeServer";
import { FakeClock, renderWithProviders, settle, startedStore } from "./utils/test-utils";

// The pages of their own chunks (App.tsx), loaded before any is routed to.
beforeAll(() => loadPages());

describe("App", () => {
  it("shows the navigation, a live connection badge and what each empty page means", async () => {
    const clock = new FakeClock();
    const server = new FakeAiops(clock.now);
    const { store } = await startedStore({ server, clock });
    const { user } = renderWithProviders(<App />, { store, route: "/" });

    expect(within(screen.getByRole("navigation", { name: "Main" })).getAllByRole("link").map((a) => a.textContent)).toEqual([
      "Detectors",
      "Anomalies",
      "Data sources",
      "Dashboard",
    ]);
    expect(screen.getByRole("status", { name: "Connection" }).textContent).toBe("Live · no event yet");
    expect(screen.getByRole("heading", { level: 1, name: "Detectors" })).toBeDefined();
    expect(screen.getByText(/No detectors yet\./)).toBeDefined();

    await user.click(screen.getByRole("link", { name: "Anomalies" }));
    expect(screen.getByText(/No anomalies yet\./)).toBeDefined();
    expect(screen.getByText(/No detector is running/)).toBeDefined();

    await user.click(screen.getByRole("link", { name: "Data sources" }));
    expect(screen.getByText(/No data sources yet\./)).toBeDefined();
  });

  it("says what it waits for before the lists are in, never a blank page", async () => {
    const clock = new FakeClock();
    const server = new FakeAiops(clock.now);
    server.down = true;
    const { store } = await startedStore({ server, clock });
    renderWithProviders(<App />, { store, route: "/detectors" });
    await settle();

    expect(screen.getByRole("status", { name: "Connection" }).textContent).toMatch(/^Reconnecting · next try /);
    expect(screen.getByText(/The server does not answer \(connection refused \(Unavailable\)\); the detectors load when it does\./)).toBeDefined();
    expect(screen.getByRole("button", { name: "Retry now" })).toBeDefined();
  });
});
