import { act, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AppRoutes } from "../../App";
import { FakeAiops } from "../../utils/fakeServer";
import { FakeClock, renderWithProviders, settle, startedStore } from "../../utils/test-utils";

async function setup(route = "/data-sources") {
  const clock = new FakeClock();
  const server = new FakeAiops(clock.now);
  server.addDataSource({ name: "dataSources/prom", urls: ["http://prom:9090"] });
  const { store } = await startedStore({ server, clock });
  return { ...renderWithProviders(<AppRoutes />, { store, route }), server, store };
}

describe("Data sources page", () => {
  it("shows live health, and a Check's latency and version", async () => {
    const { server, user } = await setup();
    const row = () => screen.getByRole("row", { name: "dataSources/prom" });
    expect(row().textContent).toContain("Reachable");
    expect(row().textContent).toContain("12 ms");
    expect(row().textContent).toContain("version 3.1.0");

    server.health("dataSources/prom", false, "http://prom:9090: connection refused");
    await act(() => settle());
    expect(row().textContent).toContain("Unreachable: http://prom:9090: connection refused");

    await user.click(within(row()).getByRole("button", { name: "Check dataSources/prom" }));
    await act(() => settle());
    expect(row().textContent).toContain("Reachable");
  });

  it("creates a data source, showing a URL's violation at the URLs field", async () => {
    const { user, server } = await setup("/data-sources/new");
    await user.type(screen.getByRole("textbox", { name: "Id" }), "loki");
    await user.selectOptions(screen.getByRole("combobox", { name: "Kind" }), "Loki");
    await user.type(screen.getByRole("textbox", { name: "URLs" }), "http://loki:3100{Enter}loki-2:3100");
    await user.click(screen.getByRole("button", { name: "Create data source" }));
    await act(() => settle());

    const urls = screen.getByRole("textbox", { name: "URLs" });
    expect(urls.getAttribute("aria-invalid")).toBe("true");
    expect(document.getElementById(urls.getAttribute("aria-describedby")!.split(" ").at(-1)!)?.textContent).toBe(
      'URL 2: "loki-2:3100" is not an http(s) URL',
    );
    expect(screen.queryByRole("row", { name: "dataSources/loki" })).toBeNull();

    await user.clear(urls);
    await user.type(urls, "http://loki:3100");
    await user.click(screen.getByRole("button", { name: "Create data source" }));
    await act(() => settle());
    expect(screen.getByRole("row", { name: "dataSources/loki" }).textContent).toContain("Loki");
    expect(server.dataSources.get("dataSources/loki")?.urls).toEqual(["http://loki:3100"]);
  });
});
