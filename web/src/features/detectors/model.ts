// A detector as the store keeps it (plain, serialisable), and the messages it comes from and
// goes to.
import { create } from "@bufbuild/protobuf";
import {
  DetectorSchema,
  Detector_State,
  Direction,
  SeverityThresholdsSchema,
  type Detector,
} from "@aiops/client";
import { durationSeconds, secondsToDuration, timestampMs } from "../../utils/proto";
import { ALGORITHMS, readAlgorithm, writeAlgorithm, type AlgorithmSettings } from "./algorithms";

/** What people set on a detector; null where they leave it to the server's default. */
export interface DetectorSpec {
  displayName: string;
  description: string;
  dataSource: string;
  query: string;
  stepSeconds: number | null;
  /** null: the server's default algorithm. */
  algorithm: AlgorithmSettings | null;
  direction: Direction;
  minDeviation: number | null;
  warning: number | null;
  critical: number | null;
}

export interface DetectorView extends DetectorSpec {
  /** `detectors/{id}`: the key of the detector everywhere in the UI. */
  name: string;
  state: Detector_State;
  stateReason: string;
  createTime: number | null;
  updateTime: number | null;
  etag: string;
}

export function toDetectorView(detector: Detector): DetectorView {
  return {
    name: detector.name,
    displayName: detector.displayName,
    description: detector.description,
    dataSource: detector.dataSource,
    query: detector.query,
    stepSeconds: durationSeconds(detector.step),
    algorithm: readAlgorithm(detector),
    direction: detector.direction,
    minDeviation: detector.minDeviation || null,
    warning: detector.thresholds?.warning || null,
    critical: detector.thresholds?.critical || null,
    state: detector.state,
    stateReason: detector.stateReason,
    createTime: timestampMs(detector.createTime),
    updateTime: timestampMs(detector.updateTime),
    etag: detector.etag,
  };
}

/** The paths an edit replaces: every field the form shows (each algorithm, so the old one goes). */
export const DETECTOR_UPDATE_PATHS: readonly string[] = [
  "display_name",
  "description",
  "data_source",
  "query",
  "step",
  ...ALGORITHMS.map((algorithm) => algorithm.name),
  "direction",
  "min_deviation",
  "thresholds",
];

/**
 * The message for `spec`, and what in it cannot even be put in a message (by field path, as
 * the server would name it).
 */
export function toDetectorMessage(
  spec: DetectorSpec,
  name = "",
  etag = "",
): { detector: Detector; violations: Record<string, string> } {
  const violations: Record<string, string> = {};
  const invalid = (path: string, description: string) => {
    violations[path] = description;
  };
  const detector = create(DetectorSchema, {
    name,
    etag,
    displayName: spec.displayName,
    description: spec.description,
    dataSource: spec.dataSource,
    query: spec.query,
    direction: spec.direction,
    minDeviation: spec.minDeviation ?? 0,
  });
  if (spec.stepSeconds !== null) {
    if (Number.isFinite(spec.stepSeconds)) detector.step = secondsToDuration(spec.stepSeconds);
    else invalid("detector.step", "must be a number of seconds");
  }
  if (spec.warning !== null || spec.critical !== null) {
    detector.thresholds = create(SeverityThresholdsSchema, {
      warning: spec.warning ?? 0,
      critical: spec.critical ?? 0,
    });
  }
  if (spec.algorithm !== null) writeAlgorithm(detector, spec.algorithm, invalid);
  return { detector, violations };
}

/** The detector a create shows before the server answers. */
export function provisionalDetector(name: string, spec: DetectorSpec): DetectorView {
  return {
    ...spec,
    name,
    state: Detector_State.STOPPED,
    stateReason: "",
    createTime: null,
    updateTime: null,
    etag: "",
  };
}

export function detectorTitle(detector: Pick<DetectorView, "name" | "displayName">): string {
  return detector.displayName || detector.name.slice(detector.name.indexOf("/") + 1);
}
