import { describe, expect, it, vi } from "vitest";
import { ChartBuffer } from "./buffer";

const times = (buffer: ChartBuffer) => [...buffer.timeColumn()];
const values = (buffer: ChartBuffer, field = "value") => [...buffer.column(field)];

describe("ChartBuffer", () => {
  it("appends points in order, and says what it holds", () => {
    const buffer = new ChartBuffer(["value", "score"]);
    expect(buffer.length).toBe(0);
    expect(buffer.firstTime()).toBeUndefined();
    expect(buffer.lastTime()).toBeUndefined();
    buffer.put([10, 20], { value: [1, 2], score: [0.1, 0.2] });
    buffer.put([30], { value: [3], score: [0.3] });
    expect(buffer.length).toBe(3);
    expect(buffer.firstTime()).toBe(10);
    expect(buffer.lastTime()).toBe(30);
    expect(times(buffer)).toEqual([10, 20, 30]);
    expect(values(buffer, "score")).toEqual([0.1, 0.2, 0.3]);
  });

  it("grows past its initial room, keeping every point", () => {
    const buffer = new ChartBuffer(["value"]);
    for (let i = 0; i < 5000; i++) buffer.put([i], { value: [i * 2] });
    expect(buffer.length).toBe(5000);
    expect(buffer.column("value")[4999]).toBe(9998);
  });

  it("puts points out of order into place, times ascending", () => {
    const buffer = new ChartBuffer(["value"]);
    buffer.put([10, 40], { value: [1, 4] });
    buffer.put([30, 20, 5], { value: [3, 2, 0.5] });
    expect(times(buffer)).toEqual([5, 10, 20, 30, 40]);
    expect(values(buffer)).toEqual([0.5, 1, 2, 3, 4]);
    buffer.put([35, 50], { value: [3.5, 5] });
    expect(times(buffer)).toEqual([5, 10, 20, 30, 35, 40, 50]);
  });

  it("replaces a point at a time it holds, the call's last one winning", () => {
    const buffer = new ChartBuffer(["value", "score"]);
    buffer.putStepped(0, 10, { value: [1, 2, 3], score: [0, 0, 0] });
    buffer.put([10, 20, 30], { value: [20, 30, 40], score: [0.5, 0.6, 0.7] });
    expect(times(buffer)).toEqual([0, 10, 20, 30]);
    expect(values(buffer)).toEqual([1, 20, 30, 40]);
    buffer.put([15, 15], { value: [7, 8] });
    expect(times(buffer)).toEqual([0, 10, 15, 20, 30]);
    expect(values(buffer)).toEqual([1, 20, 8, 30, 40]);
  });

  it("keeps the newest `capacity` points", () => {
    const buffer = new ChartBuffer(["value"], { capacity: 100 });
    for (let i = 0; i < 1000; i += 10) buffer.putStepped(i, 1, { value: Array.from({ length: 10 }, (_, k) => i + k) });
    expect(buffer.length).toBe(100);
    expect(buffer.firstTime()).toBe(900);
    expect(buffer.lastTime()).toBe(999);
    buffer.put([0], { value: [0] });
    expect(buffer.length).toBe(100);
    expect(buffer.firstTime()).toBe(900);
    expect(values(buffer)[0]).toBe(900);
  });

  it("trims before a time and clears", () => {
    const buffer = new ChartBuffer(["value"]);
    buffer.putStepped(0, 60, { value: [1, 2, 3, 4] });
    buffer.trimBefore(100);
    expect(times(buffer)).toEqual([120, 180]);
    buffer.clear();
    expect(buffer.length).toBe(0);
    expect(buffer.data()).toEqual([new Float64Array(0), []]);
  });

  it("gives uPlot [times, ...fields in order], NaN and missing values as null, never zero", () => {
    const buffer = new ChartBuffer(["value", "expected", "score"]);
    buffer.put([1, 2, 3], { value: [5, NaN, 7], score: [0.1, 0.2] });
    const data = buffer.data();
    expect(data).toHaveLength(4);
    expect([...data[0]]).toEqual([1, 2, 3]);
    expect(data[1]).toEqual([5, null, 7]);
    expect(data[2]).toEqual([null, null, null]);
    expect(data[3]).toEqual([0.1, 0.2, null]);
    // The same arrays until something changes.
    expect(buffer.data()).toBe(data);
    buffer.put([4], { value: [8] });
    expect(buffer.data()).not.toBe(data);
  });

  it("with a step, draws a jump of more than one step as a gap: a null point after the last one", () => {
    const buffer = new ChartBuffer(["value"], { step: 60 });
    buffer.put([0, 60, 120, 300, 360], { value: [1, 2, 3, 4, 5] });
    const data = buffer.data();
    expect([...data[0]]).toEqual([0, 60, 120, 180, 300, 360]);
    expect(data[1]).toEqual([1, 2, 3, null, 4, 5]);
    // Without a step, the same points are joined.
    const joined = new ChartBuffer(["value"]);
    joined.put([0, 60, 120, 300, 360], { value: [1, 2, 3, 4, 5] });
    expect(joined.data()[1]).toEqual([1, 2, 3, 4, 5]);
  });

  it("tells its listeners after each change, until they unsubscribe", () => {
    const buffer = new ChartBuffer(["value"]);
    const listener = vi.fn();
    const unsubscribe = buffer.subscribe(listener);
    buffer.put([1], { value: [1] });
    buffer.putStepped(2, 1, { value: [2, 3] });
    buffer.trimBefore(2);
    buffer.trimBefore(2); // nothing to trim: no change
    buffer.clear();
    expect(listener).toHaveBeenCalledTimes(4);
    unsubscribe();
    buffer.put([1], { value: [1] });
    expect(listener).toHaveBeenCalledTimes(4);
  });

  it("appends 100,000 points one at a time in amortised constant time", () => {
    const buffer = new ChartBuffer(["value", "score"], { capacity: 10_000 });
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) buffer.put([i], { value: [i], score: [0] });
    expect(buffer.length).toBe(10_000);
    expect(buffer.firstTime()).toBe(90_000);
    // Generous: the quadratic version takes seconds.
    expect(performance.now() - started).toBeLessThan(1500);
  });
});
