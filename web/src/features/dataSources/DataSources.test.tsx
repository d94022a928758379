import { DataSource_Kind } from "@aiops/client";
import { act, screen, within } from "@testing-library/react";
import { beforeAll, describe, expect, it } from "vitest";
import { AppRoutes, loadPages } from "../../App";
import { FakeAiops } from "../../utils/fakeServer";
import { FakeClock, renderWithProviders, settle, startedStore } from "../../utils/test-utils";

async function setup(route = "/data-sources") {
  const clock = new FakeClock();
  const server = new FakeAiops(clock.now);
  server.addDataSource({ name: "dataSources/prom", urls: ["http://prom:9090"] });
  const { store } = await startedStore({ server, clock });
  return { ...renderWithProviders(<AppRoutes />, { store, route }), server, store };
}

// The pages of their own chunks (App.tsx), loaded before any is routed to.
beforeAll(() => loadPages());

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
  it("shows a data source created in another tab, and takes one deleted there away with its open menu", async () => {
    const { server, user } = await setup();
    const other = server.clients().dataSources;
    await act(() =>
      other.createDataSource({
        dataSourceId: "loki",
        dataSource: { kind: DataSource_Kind.LOKI, urls: ["http://loki:3100"] },
      }),
    );
    await act(() => settle());
    const loki = screen.getByRole("row", { name: "dataSources/loki" });
    expect(loki.textContent).toContain("Loki");
    const prom = screen.getByRole("row", { name: "dataSources/prom" });

    await user.click(within(loki).getByRole("button", { name: "More actions for dataSources/loki" }));
    await user.click(within(loki).getByRole("button", { name: "Delete…" }));
    await act(() => other.deleteDataSource({ name: "dataSources/loki" }));
    await act(() => settle());

    expect(screen.queryByRole("row", { name: "dataSources/loki" })).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole("table", { name: "Data sources" }));
    expect(screen.getByRole("row", { name: "dataSources/prom" })).toBe(prom);
  });

  it("shows the server's message and the stored data source when another tab saved it since the form opened", async () => {
    const { server, user } = await setup("/data-sources/prom/edit");
    await act(() =>
      server.clients().dataSources.updateDataSource({
        dataSource: { name: "dataSources/prom", displayName: "Theirs", urls: ["http://prom-2:9090"] },
        updateMask: { paths: ["display_name", "urls"] },
      }),
    );
    await act(() => settle());
    expect((screen.getByRole("textbox", { name: "URLs" }) as HTMLTextAreaElement).value).toBe("http://prom:9090");

    await user.type(screen.getByRole("spinbutton", { name: "Timeout (seconds)" }), "5");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await act(() => settle());

    expect(server.writes.at(-1)?.request).toMatchObject({ dataSource: { etag: "1" } });
    const form = screen.getByRole("form", { name: "Edit dataSources/prom" });
    expect(within(form).getByRole("alert").textContent).toContain(
      "dataSources/prom has changed since it was read: read it again and retry. The form now shows what is stored",
    );
    expect((screen.getByRole("textbox", { name: "URLs" }) as HTMLTextAreaElement).value).toBe("http://prom-2:9090");
    expect((screen.getByRole("textbox", { name: "Display name" }) as HTMLInputElement).value).toBe("Theirs");
  });

  it("says so when the data source being edited is deleted in another tab", async () => {
    const { server } = await setup("/data-sources/prom/edit");
    await act(() => server.clients().dataSources.deleteDataSource({ name: "dataSources/prom" }));
    await act(() => settle());
    expect(screen.queryByRole("button", { name: "Save changes" })).toBeNull();
    expect(screen.getByText("dataSources/prom was deleted.")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Back to the data sources" })).toBeTruthy();
    expect(screen.queryByRole("row", { name: "dataSources/prom" })).toBeNull();
  });
});
