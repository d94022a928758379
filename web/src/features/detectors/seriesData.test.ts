import { describe, expect, it } from "vitest";
import { ChartBuffer } from "../charts/buffer";
import { SERIES_FIELDS, anomalyMarkers, exactSelector, thresholdsOf } from "./seriesData";

describe("series data", () => {
  it("takes the server's default thresholds for those a detector leaves unset", () => {
    expect(thresholdsOf({ warning: null, critical: null })).toEqual({ warning: 0.95, critical: 0.99 });
    expect(thresholdsOf({ warning: 0.8, critical: null })).toEqual({ warning: 0.8, critical: 0.99 });
    expect(thresholdsOf({ warning: 0.8, critical: 0.9 })).toEqual({ warning: 0.8, critical: 0.9 });
  });

  it("selects a series by exactly its labels, sorted and escaped", () => {
    expect(exactSelector({ job: "api", __name__: "up", path: 'a"b\\c' })).toBe(
      '{__name__="up", job="api", path="a\\"b\\\\c"}',
    );
    expect(exactSelector({})).toBe("{}");
  });

  it("marks the points whose score reaches a threshold, by severity, and keeps the array while they stay", () => {
    const buffer = new ChartBuffer(SERIES_FIELDS, { step: 60 });
    buffer.putStepped(0, 60, { value: [1, 2, 3, NaN], score: [0.5, 0.95, 0.99, 1] });
    const colors = { warning: "amber", critical: "red" };
    const markers = anomalyMarkers(buffer, { warning: 0.95, critical: 0.99 }, colors);
    expect(markers.map(({ time, value, color }) => ({ time, value, color }))).toEqual([
      { time: 60, value: 2, color: "amber" },
      { time: 120, value: 3, color: "red" },
    ]);
    expect(markers[1].label).toContain("Critical: score 0.99");

    buffer.put([240], { value: [4], score: [0.1] });
    expect(anomalyMarkers(buffer, { warning: 0.95, critical: 0.99 }, colors)).toBe(markers);
    buffer.put([300], { value: [5], score: [0.97] });
    expect(anomalyMarkers(buffer, { warning: 0.95, critical: 0.99 }, colors)).toHaveLength(3);
  });
});
