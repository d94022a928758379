// One anomaly's cells. Memoised on its name: a new anomaly elsewhere moves this row (its
// wrapper) but does not re-render it.
import { Anomaly_State } from "@aiops/client";
import { memo } from "react";
import { Link } from "react-router";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { formatDateTime, formatNumber, formatWhen } from "../../utils/format";
import { resourceId } from "../../utils/proto";
import { severityClass } from "../notifications/links";
import {
  anomalyErrorDismissed,
  selectAnomalyByName,
  selectAnomalyError,
  selectAnomalyPending,
  setAnomalyState,
} from "./anomaliesSlice";
import { ANOMALY_STATE_TEXT, SEVERITY_TEXT, formatLabels } from "./model";

export const AnomalyCells = memo(function AnomalyCells({ name }: { name: string }) {
  const dispatch = useAppDispatch();
  const anomaly = useAppSelector((state) => selectAnomalyByName(state, name));
  const pending = useAppSelector((state) => selectAnomalyPending(state, name));
  const error = useAppSelector((state) => selectAnomalyError(state, name));
  if (anomaly === undefined) return null;
  const set = (state: Anomaly_State) => void dispatch(setAnomalyState({ name, state }));
  const labels = formatLabels(anomaly.seriesLabels);
  return (
    <>
      <div role="cell" className="cell-severity">
        <span className={`badge ${severityClass(anomaly.severity)}`}>{SEVERITY_TEXT[anomaly.severity]}</span>
      </div>
      <div role="cell" className="cell-detector">
        <Link to={`/detectors/${resourceId(anomaly.detector)}`}>{resourceId(anomaly.detector)}</Link>
      </div>
      <div role="cell" className="cell-labels" title={labels}>
        <code>{labels}</code>
        {anomaly.noData && <span className="badge no-data">No data</span>}
      </div>
      <div role="cell" className="cell-time" title={formatDateTime(anomaly.startTime)}>
        {formatWhen(anomaly.startTime)}
      </div>
      <div role="cell" className="cell-time" title={formatDateTime(anomaly.endTime)}>
        {anomaly.active ? <span className="badge active">Active</span> : formatWhen(anomaly.endTime)}
      </div>
      <div role="cell" className="cell-number" title={`peak value ${anomaly.peakValue}`}>
        {formatNumber(anomaly.peakScore, 4)}
      </div>
      <div role="cell" className="cell-state">
        {ANOMALY_STATE_TEXT[anomaly.state]}
        {pending && <span className="pending"> Saving…</span>}
        {error && (
          <span role="alert" className="row-error">
            {" "}
            {error.message}{" "}
            <button type="button" className="button-link" onClick={() => dispatch(anomalyErrorDismissed(name))}>
              Dismiss
            </button>
          </span>
        )}
      </div>
      <div role="cell" className="actions">
        {anomaly.state === Anomaly_State.OPEN && (
          <button type="button" className="button-small" onClick={() => set(Anomaly_State.ACKNOWLEDGED)}>
            Acknowledge
          </button>
        )}
        {anomaly.state !== Anomaly_State.FALSE_POSITIVE && (
          <button type="button" className="button-small" onClick={() => set(Anomaly_State.FALSE_POSITIVE)}>
            False positive
          </button>
        )}
        {anomaly.state !== Anomaly_State.OPEN && (
          <button type="button" className="button-small" onClick={() => set(Anomaly_State.OPEN)}>
            Reopen
          </button>
        )}
      </div>
    </>
  );
});
