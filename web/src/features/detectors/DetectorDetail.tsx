// One detector: its state, its settings and its actions; its series, charted live
// (DetectorSeries); a log-pattern detector's templates (DetectorLogPatterns); its anomalies
// (DetectorAnomalies).
import { Detector_State, Direction, DirectionSchema } from "@aiops/client";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { DeletedNotice } from "../../components/DeletedNotice";
import { capitalize, formatDateTime, humanize } from "../../utils/format";
import { LoadingState } from "../connection/LoadingState";
import { DetectorAnomalies } from "./DetectorAnomalies";
import { DetectorLogPatterns } from "./DetectorLogPatterns";
import { DetectorSeries } from "./DetectorSeries";
import type { AlgorithmSettings } from "./algorithms";
import {
  deleteDetector,
  detectorErrorDismissed,
  selectDetectorByName,
  selectDetectorDeleted,
  selectDetectorError,
  selectDetectorPending,
  startDetector,
  stopDetector,
} from "./detectorsSlice";
import { detectorTitle, type DetectorView } from "./model";
import { StateBadge } from "./StateBadge";

export function describeAlgorithm(algorithm: AlgorithmSettings | null): string {
  if (algorithm === null) return "server default";
  const params = Object.entries(algorithm.params)
    .map(([name, value]) => `${humanize(name)} ${value}`)
    .join(", ");
  return params ? `${algorithm.kind} (${params})` : algorithm.kind;
}

export function directionText(direction: Direction): string {
  const value = DirectionSchema.values.find((v) => v.number === direction);
  return direction === Direction.UNSPECIFIED || value === undefined
    ? "both ways (default)"
    : capitalize(humanize(value.localName));
}

export function DetectorDetail() {
  const { id = "" } = useParams();
  const name = `detectors/${id}`;
  const dispatch = useAppDispatch();
  const navigate = useNavigate();
  const detector = useAppSelector((state) => selectDetectorByName(state, name));
  const pending = useAppSelector((state) => selectDetectorPending(state, name));
  const error = useAppSelector((state) => selectDetectorError(state, name));
  const loaded = useAppSelector((state) => state.connection.loaded);
  const deleted = useAppSelector((state) => selectDetectorDeleted(state, name));
  const [confirming, setConfirming] = useState(false);

  if (detector === undefined && (deleted || loaded)) {
    if (deleted) return <DeletedNotice name={name} back="/detectors" backText="Back to the detectors" />;
    return (
      <div className="empty">
        <p>There is no detector {name}.</p>
        <Link to="/detectors">Back to the detectors</Link>
      </div>
    );
  }
  return (
    <section aria-labelledby="detector-heading" className="detail">
      <div className="page-header">
        <h2 id="detector-heading">{detector === undefined ? name : detectorTitle(detector)}</h2>
        <Link to="/detectors" aria-label="Close the detector">
          Close
        </Link>
      </div>
      {detector === undefined ? (
        // A fresh tab: the series (by the route's name) load beside the app's lists.
        <LoadingState what="detector" />
      ) : (
        <DetectorFacts
          detector={detector}
          pending={pending}
          error={error}
          confirming={confirming}
          onConfirming={setConfirming}
          onDismiss={() => dispatch(detectorErrorDismissed(name))}
          onStart={() => void dispatch(startDetector(name))}
          onStop={() => void dispatch(stopDetector(name))}
          onDelete={() => {
            void dispatch(deleteDetector(name));
            navigate("/detectors");
          }}
        />
      )}
      <DetectorSeries key={name} name={name} detector={detector} />
      {detector?.algorithm?.kind === "log_pattern" && <DetectorLogPatterns key={name} detector={detector} />}
      {detector !== undefined && <DetectorAnomalies detector={name} />}
    </section>
  );
}

function DetectorFacts({
  detector,
  pending,
  error,
  confirming,
  onConfirming,
  onDismiss,
  onStart,
  onStop,
  onDelete,
}: {
  detector: DetectorView;
  pending: ReturnType<typeof selectDetectorPending>;
  error: ReturnType<typeof selectDetectorError>;
  confirming: boolean;
  onConfirming: (confirming: boolean) => void;
  onDismiss: () => void;
  onStart: () => void;
  onStop: () => void;
  onDelete: () => void;
}) {
  const { name } = detector;
  const id = name.slice("detectors/".length);
  const stopped = detector.state === Detector_State.STOPPED || detector.state === Detector_State.FAILED;
  return (
    <>
      <p>
        <StateBadge state={detector.state} reason={detector.stateReason} pending={pending} />
      </p>
      {error && (
        <div role="alert" className="row-error">
          {error.message}{" "}
          <button type="button" className="button-link" onClick={onDismiss}>
            Dismiss
          </button>
        </div>
      )}
      <div className="button-row">
        {stopped ? (
          <button type="button" onClick={onStart}>
            Start
          </button>
        ) : (
          <button type="button" onClick={onStop}>
            Stop
          </button>
        )}
        <Link className="button" to={`/detectors/${id}/edit`}>
          Edit
        </Link>
        {confirming ? (
          <>
            <button type="button" className="button-danger" onClick={onDelete}>
              Delete detector
            </button>
            <button type="button" onClick={() => onConfirming(false)}>
              Cancel
            </button>
            <span className="small">Delete {name} and its anomalies?</span>
          </>
        ) : (
          <button type="button" className="button-danger" onClick={() => onConfirming(true)}>
            Delete…
          </button>
        )}
      </div>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{name}</dd>
        {detector.description && (
          <>
            <dt>Description</dt>
            <dd>{detector.description}</dd>
          </>
        )}
        <dt>Data source</dt>
        <dd>{detector.dataSource}</dd>
        <dt>Query</dt>
        <dd>
          <code className="query-block">{detector.query}</code>
        </dd>
        <dt>Step</dt>
        <dd>{detector.stepSeconds === null ? "default" : `${detector.stepSeconds} s`}</dd>
        <dt>Algorithm</dt>
        <dd>{describeAlgorithm(detector.algorithm)}</dd>
        <dt>Direction</dt>
        <dd>{directionText(detector.direction)}</dd>
        <dt>Minimum deviation</dt>
        <dd>{detector.minDeviation ?? "0 (default)"}</dd>
        <dt>Thresholds</dt>
        <dd>
          warning {detector.warning ?? "default"}, critical {detector.critical ?? "default"}
        </dd>
        <dt>Created</dt>
        <dd>{formatDateTime(detector.createTime)}</dd>
        <dt>Changed</dt>
        <dd>{formatDateTime(detector.updateTime)}</dd>
      </dl>
    </>
  );
}
