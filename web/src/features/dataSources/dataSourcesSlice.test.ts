import { Code, DataSource_Kind } from "@aiops/client";
import { describe, expect, it } from "vitest";
import { FakeAiops, serverError } from "../../utils/fakeServer";
import { FakeClock, settle, startedStore } from "../../utils/test-utils";
import {
  checkDataSource,
  createDataSource,
  deleteDataSource,
  selectAllDataSources,
  selectDataSourceByName,
  selectDataSourceError,
  selectDataSourceHealth,
  updateDataSource,
} from "./dataSourcesSlice";
import { errorsByField } from "./DataSourceForm";

function server() {
  const clock = new FakeClock();
  const fake = new FakeAiops(clock.now);
  fake.addDataSource({ name: "dataSources/prom", urls: ["http://prom-a:9090", "http://prom-b:9090"] });
  fake.addDataSource({ name: "dataSources/loki", kind: DataSource_Kind.LOKI, urls: ["http://loki:3100"] });
  fake.addDetector({ name: "detectors/api", dataSource: "dataSources/prom" });
  return { fake, clock };
}

describe("data sources slice", () => {
  it("checks each data source once after loading, then follows health events", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    expect(fake.calls.filter((call) => call === "checkDataSource")).toHaveLength(2);
    expect(selectDataSourceHealth(store.getState(), "dataSources/prom")).toMatchObject({
      reachable: true,
      latencyMs: 12,
      version: "3.1.0",
    });

    fake.health("dataSources/prom", false, "http://prom-a:9090: connection refused");
    await settle();
    expect(selectDataSourceHealth(store.getState(), "dataSources/prom")).toMatchObject({
      reachable: false,
      error: "http://prom-a:9090: connection refused",
    });

    await store.dispatch(checkDataSource("dataSources/prom"));
    expect(selectDataSourceHealth(store.getState(), "dataSources/prom")?.reachable).toBe(true);
  });

  it("rolls a refused delete back with the server's reason", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });

    const deleting = store.dispatch(deleteDataSource("dataSources/prom"));
    expect(selectDataSourceByName(store.getState(), "dataSources/prom")).toBeUndefined();
    await deleting;

    expect(selectDataSourceByName(store.getState(), "dataSources/prom")).toBeDefined();
    expect(selectDataSourceError(store.getState(), "dataSources/prom")).toMatchObject({
      code: "FailedPrecondition",
      reason: "DATA_SOURCE_IN_USE",
      message: "dataSources/prom is used by detectors/api",
    });
  });

  it("shows a created data source at once and drops it with field violations on error", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const spec = {
      displayName: "Thanos",
      kind: DataSource_Kind.PROMETHEUS,
      urls: ["http://thanos:9090", "thanos:9090"],
      authorization: "",
      timeoutSeconds: null,
    };

    const creating = store.dispatch(createDataSource({ id: "thanos", spec }));
    expect(selectDataSourceByName(store.getState(), "dataSources/thanos")?.displayName).toBe("Thanos");
    const result = await creating;

    expect(selectDataSourceByName(store.getState(), "dataSources/thanos")).toBeUndefined();
    const fields = (result.payload as { fields: Record<string, string> }).fields;
    expect(errorsByField(fields).fields).toEqual({ urls: 'URL 2: "thanos:9090" is not an http(s) URL' });

    await store.dispatch(createDataSource({ id: "thanos", spec: { ...spec, urls: ["http://thanos:9090"] } }));
    expect(selectAllDataSources(store.getState()).map((s) => s.name)).toEqual([
      "dataSources/loki",
      "dataSources/prom",
      "dataSources/thanos",
    ]);
  });

  it("sends the etag with an edit, and rolls back when someone changed it meanwhile", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const stored = fake.dataSources.get("dataSources/loki")!;
    stored.etag = "7"; // someone else saved it

    const result = await store.dispatch(
      updateDataSource({
        name: "dataSources/loki",
        etag: selectDataSourceByName(store.getState(), "dataSources/loki").etag,
        spec: {
          displayName: "Logs",
          kind: DataSource_Kind.LOKI,
          urls: ["http://loki-2:3100"],
          authorization: null,
          timeoutSeconds: 10,
        },
      }),
    );

    expect(result.payload).toMatchObject({ reason: "ETAG_MISMATCH", code: Code[Code.Aborted] });
    expect(selectDataSourceByName(store.getState(), "dataSources/loki").urls).toEqual(["http://loki:3100"]);
  });
});

describe("data sources slice, following changes made elsewhere", () => {
  const spec = {
    displayName: "Thanos",
    kind: DataSource_Kind.PROMETHEUS,
    urls: ["http://thanos:9090"],
    authorization: "",
    timeoutSeconds: null,
  };

  it("adds one created elsewhere, replaces one changed elsewhere in place, drops one deleted", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const other = fake.clients().dataSources;

    await other.createDataSource({
      dataSourceId: "thanos",
      dataSource: { kind: DataSource_Kind.PROMETHEUS, urls: ["http://thanos:9090"], authorization: "Bearer x" },
    });
    await settle();
    expect(selectDataSourceByName(store.getState(), "dataSources/thanos")).toMatchObject({
      urls: ["http://thanos:9090"],
      hasAuthorization: true,
    });
    expect(fake.calls).not.toContain("getDataSource");

    const before = store.getState().dataSources;
    await other.updateDataSource({
      dataSource: { name: "dataSources/loki", displayName: "Logs", urls: ["http://loki-2:3100"], etag: "1" },
      updateMask: { paths: ["display_name", "urls"] },
    });
    await settle();
    const after = store.getState().dataSources;
    expect(after.ids).toBe(before.ids);
    expect(after.entities["dataSources/prom"]).toBe(before.entities["dataSources/prom"]);
    expect(after.entities["dataSources/loki"]).toMatchObject({ displayName: "Logs", etag: "2" });

    await other.deleteDataSource({ name: "dataSources/loki" });
    await settle();
    expect(selectAllDataSources(store.getState()).map((s) => s.name)).toEqual(["dataSources/prom", "dataSources/thanos"]);
    expect(selectDataSourceHealth(store.getState(), "dataSources/loki")).toBeUndefined();
    // A probe that raced the deletion does not bring its health back, nor fetch it.
    fake.health("dataSources/loki", false, "gone");
    await settle();
    expect(selectDataSourceHealth(store.getState(), "dataSources/loki")).toBeUndefined();
    expect(fake.calls).not.toContain("getDataSource");
  });

  it("shows a create its event confirms before the answer once, under its own name or the server's", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const names = () => selectAllDataSources(store.getState()).map((s) => s.name);

    let release = fake.holdNext("createDataSource");
    let creating = store.dispatch(createDataSource({ id: "thanos", spec }));
    await settle();
    expect(names()).toEqual(["dataSources/loki", "dataSources/prom", "dataSources/thanos"]);
    release();
    await creating;
    expect(names()).toEqual(["dataSources/loki", "dataSources/prom", "dataSources/thanos"]);

    release = fake.holdNext("createDataSource");
    creating = store.dispatch(createDataSource({ id: "", spec: { ...spec, urls: ["http://mimir:9009"] } }));
    expect(names().filter((name) => name.startsWith("dataSources/~new-"))).toHaveLength(1);
    await settle();
    expect(names()).toEqual(["dataSources/generated-4", "dataSources/loki", "dataSources/prom", "dataSources/thanos"]);
    release();
    await creating;
    expect(names()).toEqual(["dataSources/generated-4", "dataSources/loki", "dataSources/prom", "dataSources/thanos"]);
    expect(store.getState().dataSources.pending).toEqual({});
  });

  it("keeps a delete its event confirmed, and rolls a failed edit back to another tab's", async () => {
    const { fake, clock } = server();
    const { store } = await startedStore({ server: fake, clock });
    const other = fake.clients().dataSources;

    const failDelete = fake.holdNext("deleteDataSource");
    const deleting = store.dispatch(deleteDataSource("dataSources/loki"));
    await settle();
    failDelete(serverError(Code.Unavailable, "upstream connect error"));
    await deleting;
    expect(selectDataSourceByName(store.getState(), "dataSources/loki")).toBeUndefined();
    expect(selectDataSourceError(store.getState(), "dataSources/loki")).toBeUndefined();

    const failEdit = fake.holdNext("updateDataSource");
    const saving = store.dispatch(
      updateDataSource({ name: "dataSources/prom", etag: "1", spec: { ...spec, urls: ["http://ours:9090"] } }),
    );
    await settle();
    await other.updateDataSource({ dataSource: { name: "dataSources/prom", urls: ["http://theirs:9090"] } });
    await settle();
    expect(selectDataSourceByName(store.getState(), "dataSources/prom").urls).toEqual(["http://ours:9090"]);
    failEdit(serverError(Code.Unavailable, "upstream connect error"));
    await saving;
    expect(selectDataSourceByName(store.getState(), "dataSources/prom").urls).toEqual(["http://theirs:9090"]);
  });
});
