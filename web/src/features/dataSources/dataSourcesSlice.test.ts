import { Code, DataSource_Kind } from "@aiops/client";
import { describe, expect, it } from "vitest";
import { FakeAiops } from "../../utils/fakeServer";
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
