// The anomalies page's filters, kept in the URL (`/anomalies?detector=detectors/x&severity=critical`).
import { Anomaly_State, Severity } from "@aiops/client";
import { createSelector } from "@reduxjs/toolkit";
import type { RootState } from "../../app/store";
import { selectAllAnomalies } from "./anomaliesSlice";

export interface AnomalyFilter {
  /** `detectors/{id}`, or "" for all. */
  detector: string;
  severity: Severity | null;
  state: Anomaly_State | null;
  /** Anomalies that started at or after this (ms), or null. */
  from: number | null;
  /** ...and before this (ms), or null. */
  to: number | null;
}

export const SEVERITY_PARAM: Record<string, Severity> = {
  warning: Severity.WARNING,
  critical: Severity.CRITICAL,
};

export const STATE_PARAM: Record<string, Anomaly_State> = {
  open: Anomaly_State.OPEN,
  acknowledged: Anomaly_State.ACKNOWLEDGED,
  "false-positive": Anomaly_State.FALSE_POSITIVE,
};

export const RANGE_MS: Record<string, number> = {
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
};

/** The filter the URL's parameters say, relative ranges counted back from `now`. */
export function filterFromParams(params: URLSearchParams, now: number): AnomalyFilter {
  const range = params.get("range") ?? "";
  const parseLocal = (text: string | null) => {
    if (!text) return null;
    const ms = new Date(text).getTime();
    return Number.isNaN(ms) ? null : ms;
  };
  return {
    detector: params.get("detector") ?? "",
    severity: SEVERITY_PARAM[params.get("severity") ?? ""] ?? null,
    state: STATE_PARAM[params.get("state") ?? ""] ?? null,
    from: range === "custom" ? parseLocal(params.get("from")) : RANGE_MS[range] ? now - RANGE_MS[range] : null,
    to: range === "custom" ? parseLocal(params.get("to")) : null,
  };
}

const sameNames = (a: string[], b: string[]) => a.length === b.length && a.every((name, i) => name === b[i]);

/** The names of the anomalies that pass `filter`, newest first. */
export const selectFilteredAnomalyNames = createSelector(
  [selectAllAnomalies, (_: RootState, filter: AnomalyFilter) => filter],
  (anomalies, filter) =>
    anomalies
      .filter(
        (a) =>
          (filter.detector === "" || a.detector === filter.detector) &&
          (filter.severity === null || a.severity === filter.severity) &&
          (filter.state === null || a.state === filter.state) &&
          (filter.from === null || (a.startTime ?? 0) >= filter.from) &&
          (filter.to === null || (a.startTime ?? 0) < filter.to),
      )
      .map((a) => a.name),
  { memoizeOptions: { resultEqualityCheck: sameNames } },
);

/** Every detector an anomaly or the detector list names, for the detector filter. */
export const selectKnownDetectors = createSelector(
  [(state: RootState) => state.detectors.ids, (state: RootState) => state.anomalies.entities],
  (detectors, anomalies) => {
    const names = new Set<string>(detectors);
    for (const anomaly of Object.values(anomalies)) names.add(anomaly.detector);
    return [...names].sort();
  },
  { memoizeOptions: { resultEqualityCheck: sameNames } },
);
