// The detector's algorithms and their parameters, read from the contract's schema (the
// members of Detector's `algorithm` oneof), so that an algorithm added to the proto shows up
// in the form without a change here.
import { DetectorSchema, type Detector } from "@aiops/client";
import { create, ScalarType, type DescField, type DescMessage, type DescOneof } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";
import { durationSeconds, secondsToDuration } from "../../utils/proto";

/** How a parameter is entered: a whole number, a real number, or a duration in seconds. */
export type ParameterKind = "integer" | "number" | "duration";

export interface Parameter {
  /** The field's name in the proto, as field violations name it (`half_life`). */
  name: string;
  kind: ParameterKind;
  field: DescField;
}

export interface Algorithm {
  /** The oneof member's name in the proto, as field violations name it (`robust_z_score`). */
  name: string;
  field: DescField;
  message: DescMessage;
  parameters: Parameter[];
}

/** An algorithm and the parameters set on it (durations in seconds); unset ones are absent. */
export interface AlgorithmSettings {
  kind: string;
  params: Record<string, number>;
}

const INTEGERS = new Set<ScalarType>([
  ScalarType.INT32,
  ScalarType.INT64,
  ScalarType.UINT32,
  ScalarType.UINT64,
  ScalarType.SINT32,
  ScalarType.SINT64,
  ScalarType.FIXED32,
  ScalarType.FIXED64,
  ScalarType.SFIXED32,
  ScalarType.SFIXED64,
]);

function algorithmOneof(): DescOneof {
  const oneof = DetectorSchema.oneofs.find((o) => o.name === "algorithm");
  if (oneof === undefined) throw new Error("aiops.v1.Detector has no `algorithm` oneof");
  return oneof;
}

function parameterKind(field: DescField): ParameterKind | undefined {
  if (field.fieldKind === "message" && field.message.typeName === DurationSchema.typeName) return "duration";
  if (field.fieldKind === "scalar") return INTEGERS.has(field.scalar) ? "integer" : "number";
  return undefined;
}

export const ALGORITHMS: readonly Algorithm[] = algorithmOneof().fields.flatMap((field) => {
  if (field.fieldKind !== "message") return [];
  const parameters = field.message.fields.flatMap((param) => {
    const kind = parameterKind(param);
    return kind === undefined ? [] : [{ name: param.name, kind, field: param }];
  });
  return [{ name: field.name, field, message: field.message, parameters }];
});

export function algorithmNamed(name: string): Algorithm | undefined {
  return ALGORITHMS.find((algorithm) => algorithm.name === name);
}

/** The algorithm a detector message carries, with the parameters set on it. */
export function readAlgorithm(detector: Detector): AlgorithmSettings | null {
  const message = reflect(DetectorSchema, detector);
  const field = message.oneofCase(algorithmOneof());
  const algorithm = field && algorithmNamed(field.name);
  if (!field || field.fieldKind !== "message" || algorithm === undefined) return null;
  const config = message.get(field) as ReflectMessage;
  const params: Record<string, number> = {};
  for (const param of algorithm.parameters) {
    if (!config.isSet(param.field)) continue;
    const value = config.get(param.field);
    if (param.kind === "duration") {
      const seconds = durationSeconds((value as ReflectMessage).message as Duration);
      if (seconds !== null) params[param.name] = seconds;
    } else {
      params[param.name] = Number(value);
    }
  }
  return { kind: algorithm.name, params };
}

/**
 * Sets `settings` as the algorithm of `detector`. A parameter that the field cannot hold
 * (a fraction in a whole-number field) is reported through `invalid` with its path.
 */
export function writeAlgorithm(
  detector: Detector,
  settings: AlgorithmSettings,
  invalid: (path: string, description: string) => void,
): void {
  const algorithm = algorithmNamed(settings.kind);
  if (algorithm === undefined) {
    invalid("detector", `this UI does not know the algorithm ${settings.kind}`);
    return;
  }
  const config = reflect(algorithm.message, create(algorithm.message));
  for (const param of algorithm.parameters) {
    const value = settings.params[param.name];
    if (value === undefined) continue;
    const path = `detector.${algorithm.name}.${param.name}`;
    if (!Number.isFinite(value)) {
      invalid(path, "must be a number");
    } else if (param.kind === "duration") {
      config.set(param.field, reflect(DurationSchema, secondsToDuration(value)));
    } else if (param.kind === "integer" && !Number.isInteger(value)) {
      invalid(path, `must be a whole number, got ${value}`);
    } else {
      try {
        config.set(param.field, param.field.scalar === ScalarType.INT64 ? BigInt(value) : value);
      } catch {
        invalid(path, `out of range: ${value}`);
      }
    }
  }
  reflect(DetectorSchema, detector).set(algorithm.field, config);
}
