import { DetectorSchema } from "@aiops/client";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ALGORITHMS, readAlgorithm, writeAlgorithm } from "./algorithms";

describe("algorithms", () => {
  it("are the members of Detector's algorithm oneof, with their parameters, read from the schema", () => {
    expect(ALGORITHMS.map((a) => [a.name, a.parameters.map((p) => `${p.name}:${p.kind}`)])).toEqual([
      ["robust_z_score", ["window:integer"]],
      ["ewma", ["span:integer"]],
      ["seasonal_baseline", ["period:duration", "seasons:integer"]],
      ["change_point", ["span:integer", "drift:number", "threshold:number"]],
      ["ensemble", ["window:integer", "period:duration", "half_life:integer"]],
      ["log_pattern", ["max_lines_per_step:integer", "max_templates:integer", "baseline_steps:integer"]],
    ]);
  });

  it("write what was set and read it back, leaving unset parameters to the server", () => {
    const detector = create(DetectorSchema);
    const invalid: string[] = [];
    writeAlgorithm(detector, { kind: "ensemble", params: { period: 0, half_life: 500 } }, (path) => invalid.push(path));
    expect(invalid).toEqual([]);
    expect(detector.algorithm.case).toBe("ensemble");
    // A zero period is set (it turns seasonality off), the window is not (the server's default).
    expect(readAlgorithm(detector)).toEqual({ kind: "ensemble", params: { period: 0, half_life: 500 } });
  });

  it("report a fraction in a whole-number parameter under the path the server would use", () => {
    const invalid: Record<string, string> = {};
    writeAlgorithm(create(DetectorSchema), { kind: "robust_z_score", params: { window: 2.5 } }, (path, text) => {
      invalid[path] = text;
    });
    expect(invalid).toEqual({ "detector.robust_z_score.window": "must be a whole number, got 2.5" });
  });
});
