import { MetricSeriesSchema } from "@aiops/client";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { formatBytes, formatPercent, formatSeconds } from "../../utils/format";
import { autoStep, formatLabels, metricsResult, metricsSummary, parseStep, queryWindow } from "./explorer";

const series = (labels: Record<string, string>, startSeconds: number, values: number[]) =>
  create(MetricSeriesSchema, { labels, startTime: timestampFromMs(startSeconds * 1000), step: { seconds: 60n }, values });

describe("query explorer data", () => {
  it("puts series that start at different times on one grid, gaps as NaN", () => {
    const result = metricsResult(
      [series({ job: "a" }, 1200, [1, 2, 3]), series({ __name__: "up", job: "b" }, 1080, [4, NaN])],
      [],
      { start: 1080, end: 1320, step: 60 },
    );
    expect(result.series.map((s) => [s.label, s.points])).toEqual([
      ['{job="a"}', 3],
      ['up{job="b"}', 1],
    ]);
    expect(result.points).toBe(4);
    expect(result.drawnPoints).toBe(4);
    expect([...result.buffer.timeColumn()]).toEqual([1080, 1140, 1200, 1260, 1320]);
    expect([...result.buffer.column("s0")]).toEqual([NaN, NaN, 1, 2, 3]);
    expect([...result.buffer.column("s1")]).toEqual([4, NaN, NaN, NaN, NaN]);
  });

  it("draws ten series and counts the rest", () => {
    const many = Array.from({ length: 12 }, (_, i) => series({ i: String(i) }, 0, [i]));
    const result = metricsResult(many, [], { start: 0, end: 60, step: 60 });
    expect(result.series).toHaveLength(10);
    expect(result.omitted).toBe(2);
  });

  it("counts every point of the answer, not only the drawn series' points, and says how many are drawn", () => {
    // 1000 series over an hour at 60 s: 61 steps each, the last one missing in every other series.
    const values = (i: number) => Array.from({ length: 61 }, (_, j) => (j === 60 && i % 2 === 1 ? NaN : i + j));
    const many = Array.from({ length: 1000 }, (_, i) => series({ instance: `web-${i}` }, 0, values(i)));
    const result = metricsResult(many, [], { start: 0, end: 3600, step: 60 });
    expect(result.series).toHaveLength(10);
    expect(result.omitted).toBe(990);
    expect(result.points).toBe(1000 * 61 - 500);
    expect(result.drawnPoints).toBe(10 * 61 - 5);
    expect(result.series.reduce((sum, s) => sum + s.points, 0)).toBe(result.drawnPoints);
    expect(metricsSummary(result)).toBe("1000 series, 60,500 points (the first 10 drawn: 605 points) · step 60 s");

    // All drawn: the same count, nothing more to say.
    const few = metricsResult(many.slice(0, 2), [], { start: 0, end: 3600, step: 60 });
    expect(few.points).toBe(few.drawnPoints);
    expect(metricsSummary(few)).toBe("2 series, 121 points · step 60 s");
    expect(metricsSummary(metricsResult([], [], { start: 0, end: 3600, step: 60 }))).toBe(
      "No series: the query matched nothing in the range. · step 60 s",
    );
  });

  it("aligns the range to the step, and checks a step typed in", () => {
    expect(autoStep(3600)).toBe(12);
    expect(queryWindow({ dataSource: "", query: "", range: 3600, step: 60, now: 1_000_030_500 })).toEqual({
      start: 996_420,
      end: 1_000_030,
      step: 60,
    });
    expect(parseStep("")).toEqual({ step: null });
    expect(parseStep("30")).toEqual({ step: 30 });
    expect(parseStep("2.5").error).toBe("must be a whole number of seconds from 1 to 86400, got 2.5");
  });

  it("writes labels and units for people", () => {
    expect(formatLabels({})).toBe("{}");
    expect(formatLabels({ __name__: "up" })).toBe("up");
    expect(formatLabels({ b: "2", a: 'say "hi"' })).toBe('{a="say \\"hi\\"", b="2"}');
    expect(formatSeconds(0.0123)).toBe("12.3 ms");
    expect(formatSeconds(75)).toBe("1 min 15 s");
    expect(formatSeconds(7200)).toBe("2 h");
    expect(formatSeconds(93_600)).toBe("1 d 2 h");
    expect(formatSeconds(NaN)).toBe("—");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 * 2 ** 30)).toBe("3 GiB");
    expect(formatPercent(0.025)).toBe("2.5%");
    expect(formatPercent(NaN)).toBe("—");
  });
});
