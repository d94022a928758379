// One detector in the list. Memoised on its name and reading its own entity, so an event about
// another detector (or an anomaly) re-renders nothing here, and an open menu stays open. Deleted
// (here or elsewhere) with the focus in it, it leaves the focus on the table.
import { Detector_State } from "@aiops/client";
import { memo, useState } from "react";
import { Link } from "react-router";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { RowMenu } from "../../components/RowMenu";
import { useFocusKeptInTable } from "../../components/useFocusKept";
import { resourceId } from "../../utils/proto";
import { describeAlgorithm } from "./DetectorDetail";
import {
  deleteDetector,
  detectorErrorDismissed,
  selectDetectorByName,
  selectDetectorError,
  selectDetectorPending,
  startDetector,
  stopDetector,
} from "./detectorsSlice";
import { detectorTitle } from "./model";
import { StateBadge } from "./StateBadge";

const RUNNING_STATES = new Set([Detector_State.BACKFILLING, Detector_State.RUNNING, Detector_State.DEGRADED]);

export const DetectorRow = memo(function DetectorRow({ name }: { name: string }) {
  const dispatch = useAppDispatch();
  const detector = useAppSelector((state) => selectDetectorByName(state, name));
  const pending = useAppSelector((state) => selectDetectorPending(state, name));
  const error = useAppSelector((state) => selectDetectorError(state, name));
  const [confirming, setConfirming] = useState(false);
  const rowRef = useFocusKeptInTable<HTMLTableRowElement>();
  if (detector === undefined) return null;
  const id = resourceId(name);
  const provisional = pending === "creating";
  const running = RUNNING_STATES.has(detector.state);
  return (
    <tr ref={rowRef} aria-label={name} className={pending ? "row-pending" : undefined}>
      <td>
        {provisional ? (
          <span>{detectorTitle(detector)}</span>
        ) : (
          <Link to={`/detectors/${id}`}>{detectorTitle(detector)}</Link>
        )}
        {detector.displayName && <div className="muted small">{name}</div>}
      </td>
      <td>
        <StateBadge state={detector.state} reason={detector.stateReason} pending={pending} />
        {error && (
          <div role="alert" className="row-error">
            {error.message}{" "}
            <button type="button" className="button-link" onClick={() => dispatch(detectorErrorDismissed(name))}>
              Dismiss
            </button>
          </div>
        )}
      </td>
      <td className="small">{detector.dataSource}</td>
      <td>
        <code className="query" title={detector.query}>
          {detector.query}
        </code>
      </td>
      <td className="small">{describeAlgorithm(detector.algorithm)}</td>
      <td>
        <div className="actions">
        {running ? (
          <button type="button" disabled={provisional} onClick={() => void dispatch(stopDetector(name))}>
            Stop
          </button>
        ) : (
          <button type="button" disabled={provisional} onClick={() => void dispatch(startDetector(name))}>
            Start
          </button>
        )}
        {!provisional && (
          <RowMenu label={`More actions for ${name}`}>
            {(close) =>
              confirming ? (
                <>
                  <p className="small">Delete {name} and its anomalies?</p>
                  <button
                    type="button"
                    className="button-danger"
                    onClick={() => {
                      setConfirming(false);
                      close();
                      void dispatch(deleteDetector(name));
                    }}
                  >
                    Delete detector
                  </button>
                  <button type="button" onClick={() => setConfirming(false)}>
                    Cancel
                  </button>
                </>
              ) : (
                <>
                  <Link to={`/detectors/${id}/edit`} onClick={close}>
                    Edit
                  </Link>
                  <Link to={`/anomalies?detector=${encodeURIComponent(name)}`} onClick={close}>
                    Anomalies
                  </Link>
                  <button type="button" onClick={() => setConfirming(true)}>
                    Delete…
                  </button>
                </>
              )
            }
          </RowMenu>
        )}
        </div>
      </td>
    </tr>
  );
});
