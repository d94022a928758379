import { describe, expect, it } from "vitest";
import { ChartBuffer } from "../charts/buffer";
import { SERIES_FIELDS, anomalyMarkers, distinctLabelNames, exactSelector, seriesParts, thresholdsOf } from "./seriesData";

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

  it("finds the labels that tell series apart, the most telling first, and puts them first in each one's text", () => {
    const long = "x".repeat(100);
    const listed: Record<string, string>[] = [
      { __name__: "up", build: long, instance: "a", job: "api", zone: "eu" },
      { __name__: "up", build: long, instance: "b", job: "api", zone: "eu" },
      { __name__: "up", build: long, instance: "c", job: "db", zone: "eu" },
      { __name__: "up", build: long, instance: "d", job: "db" }, // no zone: that differs too
    ];
    // instance has four values; job and zone two each, the shorter first.
    expect(distinctLabelNames(listed)).toEqual(["instance", "zone", "job"]);
    const distinct = distinctLabelNames(listed);
    expect(seriesParts(listed[0], distinct)).toEqual({
      distinct: '{instance="a", zone="eu", job="api"}',
      rest: `up{build="${long}"}`,
    });
    expect(seriesParts(listed[3], distinct)).toEqual({ distinct: '{instance="d", job="db"}', rest: `up{build="${long}"}` });
    // Every entry's text starts differently, whatever width cuts it.
    const texts = listed.map((labels) => seriesParts(labels, distinct).distinct);
    expect(new Set(texts.map((text) => text.slice(0, 12))).size).toBe(listed.length);

    // The metric name differs: it leads, as Prometheus writes it.
    const names = [
      { __name__: "up", job: "api" },
      { __name__: "down", job: "api" },
    ];
    expect(seriesParts(names[1], distinctLabelNames(names))).toEqual({ distinct: "down", rest: '{job="api"}' });
    // One series, or all the same: the whole title, nothing set apart.
    expect(distinctLabelNames([listed[0]])).toEqual([]);
    expect(seriesParts({ __name__: "up", job: "api" }, [])).toEqual({ distinct: "", rest: 'up{job="api"}' });
    // Only distinct labels: nothing left over.
    expect(seriesParts({ job: "api" }, ["job"])).toEqual({ distinct: '{job="api"}', rest: "" });
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
