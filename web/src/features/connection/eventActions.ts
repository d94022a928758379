// The stream's events as actions: the stream manager dispatches one per event, and each
// feature's slice reduces the ones about it.
import type { Detector_State, Event } from "@aiops/client";
import { createAction, isAnyOf } from "@reduxjs/toolkit";
import { timestampMs } from "../../utils/proto";
import { toAnomalyView, type AnomalyView } from "../anomalies/model";
import { toDataSourceView, type DataSourceView } from "../dataSources/model";
import { toDetectorView, type DetectorView } from "../detectors/model";

export interface EventMeta {
  /** The event's position in the server's event log. */
  sequence: number;
  /** When it happened, by the server's clock (ms since the epoch). */
  time: number | null;
}

/** A detector's state changed; `etag` is its etag after the change ("" from older servers). */
export const detectorStatusReceived = createAction<
  EventMeta & { detector: string; state: Detector_State; stateReason: string; etag: string }
>("events/detectorStatus");

/** A detector was created or changed (whole, as it stands now), or deleted (as it was). */
export const detectorChanged = createAction<EventMeta & { detector: DetectorView; deleted: boolean }>(
  "events/detectorChange",
);

export const anomalyReceived = createAction<EventMeta & { anomaly: AnomalyView }>("events/anomaly");

export const dataSourceHealthReceived = createAction<
  EventMeta & { dataSource: string; reachable: boolean; url: string; error: string }
>("events/dataSourceHealth");

/** A data source was created or changed (whole, never its authorization), or deleted. */
export const dataSourceChanged = createAction<EventMeta & { dataSource: DataSourceView; deleted: boolean }>(
  "events/dataSourceChange",
);

/** The server no longer keeps the events after our position: what we hold is reloaded. */
export const resetReceived = createAction<EventMeta & { reason: string; oldestSequence: number }>(
  "events/reset",
);

export const isChangeEvent = isAnyOf(
  detectorStatusReceived,
  detectorChanged,
  anomalyReceived,
  dataSourceHealthReceived,
  dataSourceChanged,
);

export type ChangeEventAction =
  | ReturnType<typeof detectorStatusReceived>
  | ReturnType<typeof detectorChanged>
  | ReturnType<typeof anomalyReceived>
  | ReturnType<typeof dataSourceHealthReceived>
  | ReturnType<typeof dataSourceChanged>;

/** The action for a change event; undefined for heartbeats, resets, scores and unknown payloads. */
export function changeEventAction(event: Event): ChangeEventAction | undefined {
  const meta: EventMeta = { sequence: Number(event.sequence), time: timestampMs(event.time) };
  switch (event.payload.case) {
    case "detectorStatus": {
      const { detector, state, stateReason, etag } = event.payload.value;
      return detectorStatusReceived({ ...meta, detector, state, stateReason, etag });
    }
    case "detectorChange": {
      const { detector, deleted } = event.payload.value;
      return detector && detectorChanged({ ...meta, detector: toDetectorView(detector), deleted });
    }
    case "anomalyChange": {
      const anomaly = event.payload.value.anomaly;
      return anomaly && anomalyReceived({ ...meta, anomaly: toAnomalyView(anomaly) });
    }
    case "dataSourceHealth": {
      const { dataSource, reachable, url, error } = event.payload.value;
      return dataSourceHealthReceived({ ...meta, dataSource, reachable, url, error });
    }
    case "dataSourceChange": {
      const { dataSource, deleted } = event.payload.value;
      return dataSource && dataSourceChanged({ ...meta, dataSource: toDataSourceView(dataSource), deleted });
    }
    default:
      return undefined;
  }
}
