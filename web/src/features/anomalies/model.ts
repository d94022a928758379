// An anomaly as the store keeps it (plain, serialisable).
import { Anomaly_Kind, Anomaly_State, Severity, type Anomaly } from "@aiops/client";
import { timestampMs } from "../../utils/proto";

export interface AnomalyView {
  /** `detectors/{detector}/anomalies/{anomaly}`: the key of the anomaly everywhere. */
  name: string;
  /** `detectors/{detector}`, from the name. */
  detector: string;
  seriesLabels: Record<string, string>;
  startTime: number | null;
  endTime: number | null;
  peakScore: number;
  peakValue: number;
  severity: Severity;
  state: Anomaly_State;
  createTime: number | null;
  updateTime: number | null;
  etag: string;
  active: boolean;
  /** The series stopped reporting (Anomaly.Kind NO_DATA); `peakValue` is its last value. */
  noData: boolean;
}

export function detectorOfAnomaly(name: string): string {
  const at = name.indexOf("/anomalies/");
  return at < 0 ? "" : name.slice(0, at);
}

export function toAnomalyView(anomaly: Anomaly): AnomalyView {
  return {
    name: anomaly.name,
    detector: detectorOfAnomaly(anomaly.name),
    seriesLabels: { ...anomaly.seriesLabels },
    startTime: timestampMs(anomaly.startTime),
    endTime: timestampMs(anomaly.endTime),
    peakScore: anomaly.peakScore,
    peakValue: anomaly.peakValue,
    severity: anomaly.severity,
    state: anomaly.state,
    createTime: timestampMs(anomaly.createTime),
    updateTime: timestampMs(anomaly.updateTime),
    etag: anomaly.etag,
    active: anomaly.active,
    noData: anomaly.kind === Anomaly_Kind.NO_DATA,
  };
}

/** `up{instance="a", job="api"}`, as Prometheus writes a series: its name, then its labels. */
export function formatLabels(labels: Record<string, string>): string {
  const name = labels.__name__ ?? "";
  const keys = Object.keys(labels)
    .filter((key) => key !== "__name__")
    .sort();
  if (keys.length === 0) return name || "{}";
  return `${name}{${keys.map((key) => `${key}="${labels[key]}"`).join(", ")}}`;
}

export const SEVERITY_TEXT: Record<Severity, string> = {
  [Severity.UNSPECIFIED]: "Unknown",
  [Severity.WARNING]: "Warning",
  [Severity.CRITICAL]: "Critical",
};

export const ANOMALY_STATE_TEXT: Record<Anomaly_State, string> = {
  [Anomaly_State.UNSPECIFIED]: "Unknown",
  [Anomaly_State.OPEN]: "Open",
  [Anomaly_State.ACKNOWLEDGED]: "Acknowledged",
  [Anomaly_State.FALSE_POSITIVE]: "False positive",
};
