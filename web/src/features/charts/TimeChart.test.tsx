import { act, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChartBuffer } from "./buffer";
import { createFrameScheduler, type FrameApi } from "./frame";
import { TimeChart } from "./TimeChart";

/** Animation frames that run only when the test says. */
function manualFrames() {
  const due = new Map<number, () => void>();
  let next = 1;
  const api: FrameApi = {
    request: (callback) => {
      const id = next++;
      due.set(id, callback);
      return id;
    },
    cancel: (handle) => {
      due.delete(handle as number);
    },
  };
  return {
    api,
    get requested() {
      return next - 1;
    },
    get pending() {
      return due.size;
    },
    flush() {
      const callbacks = [...due.values()];
      due.clear();
      for (const callback of callbacks) callback();
    },
  };
}

describe("createFrameScheduler", () => {
  it("runs once in the next frame however often it is scheduled, and not after cancel", () => {
    const frames = manualFrames();
    const run = vi.fn();
    const scheduler = createFrameScheduler(run, frames.api);
    scheduler.schedule();
    scheduler.schedule();
    scheduler.schedule();
    expect(frames.requested).toBe(1);
    expect(scheduler.pending).toBe(true);
    frames.flush();
    expect(run).toHaveBeenCalledTimes(1);
    expect(scheduler.pending).toBe(false);
    scheduler.schedule();
    scheduler.cancel();
    frames.flush();
    expect(run).toHaveBeenCalledTimes(1);
  });
});

describe("TimeChart", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const lines = [
    { field: "value", label: "Value", color: "#2857c5" },
    { field: "expected", label: "Expected", color: "#888", dash: [4, 4] },
    { field: "score", label: "Score", color: "#8e44ad", scale: "score" as const },
  ];

  it("is a named figure with the buffer's point count, a legend for hovering, and redraws once a frame", () => {
    const callbacks: FrameRequestCallback[] = [];
    vi.stubGlobal("requestAnimationFrame", (callback: FrameRequestCallback) => callbacks.push(callback));
    vi.stubGlobal("cancelAnimationFrame", () => {});
    const buffer = new ChartBuffer(["value", "score", "expected", "lower", "upper"], { step: 60 });
    buffer.putStepped(0, 60, { value: [1, 2, 3], score: [0.1, 0.2, 0.3], expected: [1, 2, 3], lower: [0, 1, 2], upper: [2, 3, 4] });

    const { container, unmount } = render(
      <TimeChart
        buffer={buffer}
        title="Latency of web-1"
        lines={lines}
        band={{ lower: "lower", upper: "upper", color: "rgba(0,0,0,0.1)", label: "Expected band" }}
        markers={[{ time: 60, value: 2, color: "red", label: "Critical: score 0.99" }]}
      />,
    );
    const figure = screen.getByRole("img", { name: "Latency of web-1" });
    expect(figure.dataset.points).toBe("3");
    expect(container.querySelector("canvas")).not.toBeNull();
    const legend = container.querySelector(".u-legend")?.textContent ?? "";
    for (const label of ["Time", "Value", "Expected", "Score", "Expected band low", "Expected band high"]) {
      expect(legend).toContain(label);
    }

    // Drawn with its data and markers when made: no frame due.
    expect(callbacks).toHaveLength(0);
    const frames = callbacks.length;
    buffer.put([180], { value: [4] });
    buffer.put([240], { value: [5] });
    buffer.put([300], { value: [6] });
    // Three changes in one frame: one frame asked for, and nothing drawn before it.
    expect(callbacks.length).toBe(frames + 1);
    expect(figure.dataset.points).toBe("3");
    act(() => callbacks[callbacks.length - 1](performance.now()));
    expect(figure.dataset.points).toBe("6");

    unmount();
    // Gone with the component: no more frames for its buffer.
    buffer.put([360], { value: [7] });
    expect(callbacks.length).toBe(frames + 1);
  });
});
