// A data source as the store keeps it (plain, serialisable), and its health.
import { create } from "@bufbuild/protobuf";
import { DataSourceSchema, DataSource_Kind, type DataSource } from "@aiops/client";
import { durationSeconds, secondsToDuration, timestampMs } from "../../utils/proto";

/** What people set on a data source. */
export interface DataSourceSpec {
  displayName: string;
  kind: DataSource_Kind;
  urls: string[];
  /** null: keep what is stored (on an edit) or none (on a create). */
  authorization: string | null;
  timeoutSeconds: number | null;
}

export interface DataSourceView {
  /** `dataSources/{id}`. */
  name: string;
  displayName: string;
  kind: DataSource_Kind;
  urls: string[];
  hasAuthorization: boolean;
  timeoutSeconds: number | null;
  createTime: number | null;
  updateTime: number | null;
  etag: string;
}

/** Whether a data source answers, as the server's probe or a Check last saw it. */
export interface DataSourceHealth {
  reachable: boolean;
  url: string;
  error: string;
  /** When it was seen (the event's time, or when a Check answered), ms since the epoch. */
  time: number | null;
  /** From a Check: how long the answer took, and the server's version. */
  latencyMs?: number;
  version?: string;
}

export function toDataSourceView(source: DataSource): DataSourceView {
  return {
    name: source.name,
    displayName: source.displayName,
    kind: source.kind,
    urls: [...source.urls],
    hasAuthorization: source.hasAuthorization,
    timeoutSeconds: durationSeconds(source.timeout),
    createTime: timestampMs(source.createTime),
    updateTime: timestampMs(source.updateTime),
    etag: source.etag,
  };
}

/** The paths an edit replaces; `authorization` only when a new one is given. */
export function dataSourceUpdatePaths(spec: DataSourceSpec): string[] {
  return ["display_name", "urls", "timeout", ...(spec.authorization === null ? [] : ["authorization"])];
}

export function toDataSourceMessage(spec: DataSourceSpec, name = "", etag = ""): DataSource {
  return create(DataSourceSchema, {
    name,
    etag,
    displayName: spec.displayName,
    kind: spec.kind,
    urls: spec.urls,
    authorization: spec.authorization ?? "",
    timeout: spec.timeoutSeconds === null ? undefined : secondsToDuration(spec.timeoutSeconds),
  });
}

export function provisionalDataSource(name: string, spec: DataSourceSpec): DataSourceView {
  return {
    name,
    displayName: spec.displayName,
    kind: spec.kind,
    urls: spec.urls,
    hasAuthorization: Boolean(spec.authorization),
    timeoutSeconds: spec.timeoutSeconds,
    createTime: null,
    updateTime: null,
    etag: "",
  };
}

export const KIND_TEXT: Record<DataSource_Kind, string> = {
  [DataSource_Kind.UNSPECIFIED]: "Unknown",
  [DataSource_Kind.PROMETHEUS]: "Prometheus",
  [DataSource_Kind.LOKI]: "Loki",
};
