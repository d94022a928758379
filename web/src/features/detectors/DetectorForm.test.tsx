import { Detector_State, Direction } from "@aiops/client";
import { act, screen, within } from "@testing-library/react";
import { beforeAll, describe, expect, it } from "vitest";
import { AppRoutes, loadPages } from "../../App";
import { FakeAiops } from "../../utils/fakeServer";
import { FakeClock, renderWithProviders, settle, startedStore } from "../../utils/test-utils";

async function setup(route: string) {
  const clock = new FakeClock();
  const server = new FakeAiops(clock.now);
  server.addDataSource({ name: "dataSources/prom", displayName: "Prometheus" });
  server.addDetector({
    name: "detectors/api",
    query: "up",
    algorithm: { case: "changePoint", value: { span: 90, drift: 0.7, threshold: 0 } },
  });
  const { store } = await startedStore({ server, clock });
  return { ...renderWithProviders(<AppRoutes />, { store, route }), server, store };
}

/** The element a field's aria-describedby names: where its error shows. */
function description(input: HTMLElement): string {
  return (input.getAttribute("aria-describedby") ?? "")
    .split(" ")
    .map((id) => document.getElementById(id)?.textContent ?? "")
    .join(" ");
}

// The pages of their own chunks (App.tsx), loaded before any is routed to.
beforeAll(() => loadPages());

describe("Detector form", () => {
  it("offers every algorithm of the contract with its parameters, defaults left to the server", async () => {
    const { user } = await setup("/detectors/new");
    const algorithm = screen.getByRole("combobox", { name: "Algorithm" });
    expect(within(algorithm).getAllByRole("option").map((o) => o.textContent)).toEqual([
      "Server default",
      "robust_z_score",
      "ewma",
      "seasonal_baseline",
      "change_point",
      "ensemble",
      "log_pattern",
    ]);
    await user.selectOptions(algorithm, "seasonal_baseline");
    expect((screen.getByRole("spinbutton", { name: "period (seconds)" }) as HTMLInputElement).placeholder).toBe("default");
    expect(screen.getByRole("spinbutton", { name: "seasons" })).toBeTruthy();
    await user.selectOptions(algorithm, "ensemble");
    expect(screen.getByRole("spinbutton", { name: "half_life" })).toBeTruthy();
    expect(
      within(screen.getByRole("combobox", { name: "Direction" }))
        .getAllByRole("option")
        .map((o) => o.textContent),
    ).toEqual(["Server default", "Both", "Up", "Down"]);
  });

  it("shows the server's field violations at the fields they name", async () => {
    const { user } = await setup("/detectors/new");
    await user.type(screen.getByRole("textbox", { name: "Id" }), "errors");
    await user.selectOptions(screen.getByRole("combobox", { name: "Algorithm" }), "robust_z_score");
    await user.type(screen.getByRole("spinbutton", { name: "window" }), "200000");
    await user.click(screen.getByRole("button", { name: "Create detector" }));
    await act(() => settle());

    const query = screen.getByRole("textbox", { name: "Query" });
    expect(query.getAttribute("aria-invalid")).toBe("true");
    expect(description(query)).toContain("required: a PromQL or LogQL query");
    const window = screen.getByRole("spinbutton", { name: "window" });
    expect(window.getAttribute("aria-invalid")).toBe("true");
    expect(description(window)).toContain("must be from 1 to 100000, got 200000");
    const dataSource = screen.getByRole("combobox", { name: "Data source" });
    expect(description(dataSource)).toContain("'' does not exist");
    expect(screen.getByRole("alert").textContent).toContain("detector.query: required");
    // The first field in error has the focus; the provisional row is gone.
    expect(document.activeElement).toBe(dataSource);
    expect(screen.queryByRole("row", { name: "detectors/errors" })).toBeNull();
  });

  it("catches a fraction in a whole-number parameter before sending", async () => {
    const { user, server } = await setup("/detectors/new");
    await user.selectOptions(screen.getByRole("combobox", { name: "Algorithm" }), "ewma");
    await user.type(screen.getByRole("spinbutton", { name: "span" }), "2.5");
    await user.click(screen.getByRole("button", { name: "Create detector" }));
    expect(description(screen.getByRole("spinbutton", { name: "span" }))).toContain("must be a whole number, got 2.5");
    expect(server.calls).not.toContain("createDetector");
  });

  it("creates a detector, shows it at once in the list and opens it", async () => {
    const { user, server } = await setup("/detectors/new");
    await user.type(screen.getByRole("textbox", { name: "Id" }), "errors");
    await user.selectOptions(screen.getByRole("combobox", { name: "Data source" }), "dataSources/prom");
    await user.type(screen.getByRole("textbox", { name: "Query" }), "sum(rate(errors_total[5m]))");
    await user.selectOptions(screen.getByRole("combobox", { name: "Direction" }), String(Direction.UP));
    await user.type(screen.getByRole("spinbutton", { name: "Warning threshold" }), "0.9");
    await user.click(screen.getByRole("button", { name: "Create detector" }));
    await act(() => settle());

    expect(screen.getByRole("row", { name: "detectors/errors" })).toBeTruthy();
    expect(screen.getByRole("heading", { name: "errors" })).toBeTruthy();
    const stored = server.detectors.get("detectors/errors");
    expect(stored?.direction).toBe(Direction.UP);
    expect(stored?.thresholds?.warning).toBe(0.9);
    expect(stored?.algorithm.case).toBeUndefined();
  });

  it("edits from the stored settings and switches algorithm", async () => {
    const { user, server } = await setup("/detectors/api/edit");
    expect((screen.getByRole("combobox", { name: "Algorithm" }) as HTMLSelectElement).value).toBe("change_point");
    expect((screen.getByRole("spinbutton", { name: "drift" }) as HTMLInputElement).value).toBe("0.7");
    expect((screen.getByRole("spinbutton", { name: "threshold" }) as HTMLInputElement).value).toBe("");

    await user.selectOptions(screen.getByRole("combobox", { name: "Algorithm" }), "ewma");
    await user.type(screen.getByRole("spinbutton", { name: "span" }), "30");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await act(() => settle());

    expect(server.detectors.get("detectors/api")?.algorithm).toMatchObject({ case: "ewma", value: { span: 30 } });
    expect(screen.getByRole("row", { name: "detectors/api" }).textContent).toContain("ewma (span 30)");
  });
  it("sends the etag a status event brought since the form opened", async () => {
    const { user, server } = await setup("/detectors/api/edit");
    // Started elsewhere, then running: each state change moves the etag (1 -> 3), not the settings.
    await act(() => server.clients().detectors.startDetector({ name: "detectors/api" }));
    server.detectorStatus("detectors/api", Detector_State.RUNNING);
    await act(() => settle());

    await user.clear(screen.getByRole("textbox", { name: "Query" }));
    await user.type(screen.getByRole("textbox", { name: "Query" }), "up == 0");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await act(() => settle());

    const update = server.writes.filter((write) => write.method === "updateDetector").at(-1);
    expect(update?.request).toMatchObject({ detector: { name: "detectors/api", etag: "3" } });
    expect(server.detectors.get("detectors/api")).toMatchObject({ query: "up == 0", etag: "4" });
    expect(screen.getByRole("heading", { name: "api" })).toBeTruthy(); // saved: the detail is open
  });

  it("shows the server's message and the stored detector when another tab saved it since the form opened", async () => {
    const { user, server } = await setup("/detectors/api/edit");
    await act(() =>
      server.clients().detectors.updateDetector({
        detector: { name: "detectors/api", dataSource: "dataSources/prom", query: "theirs", etag: "1" },
      }),
    );
    await act(() => settle());
    // What is typed stays while the form is open.
    expect((screen.getByRole("textbox", { name: "Query" }) as HTMLTextAreaElement).value).toBe("up");

    await user.type(screen.getByRole("textbox", { name: "Display name" }), "Mine");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await act(() => settle());

    expect(server.writes.at(-1)?.request).toMatchObject({ detector: { etag: "1" } });
    const form = screen.getByRole("form", { name: "Edit detectors/api" });
    expect(within(form).getByRole("alert").textContent).toContain(
      "detectors/api has changed since it was read: read it again and retry. The form now shows what is stored",
    );
    expect((screen.getByRole("textbox", { name: "Query" }) as HTMLTextAreaElement).value).toBe("theirs");
    expect((screen.getByRole("textbox", { name: "Display name" }) as HTMLInputElement).value).toBe("");
    expect(server.detectors.get("detectors/api")?.query).toBe("theirs");

    // Saved again, now on what is stored.
    await user.type(screen.getByRole("textbox", { name: "Display name" }), "Mine");
    await user.click(screen.getByRole("button", { name: "Save changes" }));
    await act(() => settle());
    expect(server.detectors.get("detectors/api")).toMatchObject({ displayName: "Mine", query: "theirs" });
  });

  it("says so when the detector being edited is deleted in another tab", async () => {
    const { server } = await setup("/detectors/api/edit");
    await act(() => server.clients().detectors.deleteDetector({ name: "detectors/api" }));
    await act(() => settle());
    expect(screen.queryByRole("button", { name: "Save changes" })).toBeNull();
    expect(screen.getByText("detectors/api was deleted.")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Back to the detectors" })).toBeTruthy();
  });
});
