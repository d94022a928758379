import { act, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChartBuffer } from "./buffer";
import { createFrameScheduler, REDRAW_BUDGET_MS, RedrawQueue, sharedRedraws, type FrameApi } from "./frame";
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

describe("RedrawQueue", () => {
  /** A queue on manual frames and a clock that each redraw moves on by its cost. */
  function queue(budgetMs = 6) {
    const frames = manualFrames();
    let time = 0;
    const redraws = new RedrawQueue({ frames: frames.api, now: () => time, budgetMs });
    const ran: string[] = [];
    const chart = (name: string, cost = 2) =>
      redraws.add(() => {
        ran.push(name);
        time += cost;
      });
    return { frames, redraws, ran, chart };
  }

  it("redraws the charts due under the frame's budget, the oldest first, the rest in the next frames", () => {
    const { frames, ran, chart } = queue(6);
    const charts = ["a", "b", "c", "d", "e", "f", "g"].map((name) => ({ name, redraw: chart(name) }));
    // Due in this order: g first, then a to f.
    charts[6].redraw.schedule();
    for (const { redraw } of charts.slice(0, 6)) redraw.schedule();
    // Asked again before its frame: still once, in its place.
    charts[6].redraw.schedule();
    expect(frames.requested).toBe(1);
    // 2 ms each: three fit in 6 ms (a fourth would not).
    frames.flush();
    expect(ran).toEqual(["g", "a", "b"]);
    expect(frames.pending).toBe(1);
    // Due again meanwhile: after those that waited.
    charts[6].redraw.schedule();
    frames.flush();
    expect(ran.slice(3)).toEqual(["c", "d", "e"]);
    frames.flush();
    expect(ran.slice(6)).toEqual(["f", "g"]);
    expect(frames.pending).toBe(0);
  });

  it("runs at least one redraw a frame, however long it takes", () => {
    const { frames, ran, chart } = queue(6);
    const slow = chart("slow", 40);
    const next = chart("next");
    slow.schedule();
    next.schedule();
    frames.flush();
    expect(ran).toEqual(["slow"]);
    frames.flush();
    expect(ran).toEqual(["slow", "next"]);
  });

  it("redraws a chart at most once a frame: one asked for during its frame waits for the next", () => {
    const frames = manualFrames();
    const redraws = new RedrawQueue({ frames: frames.api, now: () => 0 });
    let count = 0;
    const redraw = redraws.add(() => {
      count++;
      redraw.schedule();
    });
    redraw.schedule();
    frames.flush();
    expect(count).toBe(1);
    frames.flush();
    expect(count).toBe(2);
  });

  it("keeps a chart out of view from redrawing until it comes into view, then redraws it first, once", () => {
    const { frames, redraws, ran, chart } = queue(6);
    const hidden = chart("hidden");
    const shown = chart("shown");
    hidden.setVisible(false);
    hidden.schedule();
    hidden.schedule();
    // Nothing to draw: no frame asked for.
    expect(frames.requested).toBe(0);
    expect(hidden.pending).toBe(true);
    shown.schedule();
    frames.flush();
    expect(ran).toEqual(["shown"]);
    expect(frames.pending).toBe(0);

    // Later due charts wait behind it once it is in view.
    shown.schedule();
    hidden.setVisible(true);
    frames.flush();
    expect(ran).toEqual(["shown", "hidden", "shown"]);
    expect(hidden.pending).toBe(false);
    frames.flush();
    expect(ran).toHaveLength(3);

    // Out of view again: a frame asked for it alone is given back.
    hidden.schedule();
    expect(frames.pending).toBe(1);
    hidden.setVisible(false);
    expect(frames.pending).toBe(0);
    expect(redraws.size).toBe(1);
    // Gone: nothing left due.
    hidden.dispose();
    expect(redraws.size).toBe(0);
    hidden.setVisible(true);
    expect(frames.pending).toBe(0);
  });

  it("draws a chart's first points out of view when asked (offscreen), then waits for the view again", () => {
    const { frames, ran, chart } = queue(6);
    const redraw = chart("first");
    redraw.setVisible(false);
    redraw.schedule({ offscreen: true });
    frames.flush();
    expect(ran).toEqual(["first"]);
    redraw.schedule();
    frames.flush();
    expect(ran).toEqual(["first"]);
  });

  it("goes on with the other charts when one throws, and reports it", () => {
    vi.useFakeTimers();
    try {
      const { frames, ran, chart, redraws } = queue(6);
      const broken = redraws.add(() => {
        throw new Error("broken chart");
      });
      const fine = chart("fine");
      broken.schedule();
      fine.schedule();
      frames.flush();
      expect(ran).toEqual(["fine"]);
      expect(() => vi.runAllTimers()).toThrow("broken chart");
    } finally {
      vi.useRealTimers();
    }
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

  it("makes the value axis as wide as its longest label, so that none is cut", async () => {
    const plotLeft = async (values: number[]) => {
      const buffer = new ChartBuffer(["value"], { step: 60 });
      buffer.putStepped(0, 60, { value: values });
      const { container, unmount } = render(
        <TimeChart buffer={buffer} title="Memory" lines={[{ field: "value", label: "Memory MiB", color: "purple" }]} />,
      );
      // uPlot lays out in a microtask.
      await act(async () => {});
      const left = parseFloat((container.querySelector(".u-over") as HTMLElement).style.left);
      unmount();
      return left;
    };
    // Short labels (0, 0.5, 1...): the narrowest axis. Labels such as 1,234,567.1: wider, by their
    // measured text (6 px a character in the tests' canvas).
    const narrow = await plotLeft([0, 1, 2]);
    const wide = await plotLeft([1234567.1, 1234567.15, 1234567.2]);
    expect(narrow).toBe(56);
    expect(wide).toBeGreaterThanOrEqual("1,234,567.12".length * 6);
  });

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

describe("TimeChart: the shared redraws", () => {
  /** Animation frames the test runs; IntersectionObservers it answers for. */
  function browser() {
    const callbacks = new Map<number, FrameRequestCallback>();
    let next = 1;
    vi.stubGlobal("requestAnimationFrame", (callback: FrameRequestCallback) => {
      callbacks.set(next, callback);
      return next++;
    });
    vi.stubGlobal("cancelAnimationFrame", (id: number) => callbacks.delete(id));
    const observers: { callback: IntersectionObserverCallback; targets: Set<Element> }[] = [];
    vi.stubGlobal(
      "IntersectionObserver",
      class {
        private readonly record: { callback: IntersectionObserverCallback; targets: Set<Element> };
        constructor(callback: IntersectionObserverCallback) {
          this.record = { callback, targets: new Set() };
          observers.push(this.record);
        }
        observe(target: Element) {
          this.record.targets.add(target);
        }
        unobserve(target: Element) {
          this.record.targets.delete(target);
        }
        disconnect() {
          this.record.targets.clear();
        }
        takeRecords() {
          return [];
        }
      },
    );
    return {
      get framesDue() {
        return callbacks.size;
      },
      /** Runs the frame asked for; each read of performance.now() in it moves time by `costMs`. */
      frame(costMs = 0) {
        const due = [...callbacks.values()];
        callbacks.clear();
        let time = 1000;
        const now = vi.spyOn(performance, "now").mockImplementation(() => (time += costMs));
        try {
          act(() => {
            for (const callback of due) callback(time);
          });
        } finally {
          now.mockRestore();
        }
      },
      /** Says whether `figure` is in view, as the browser would. */
      inView(figure: Element, isIntersecting: boolean) {
        for (const observer of observers) {
          if (!observer.targets.has(figure)) continue;
          const entry = { target: figure, isIntersecting } as unknown as IntersectionObserverEntry;
          act(() => observer.callback([entry], {} as IntersectionObserver));
        }
      },
    };
  }

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const lines = [{ field: "value", label: "Value", color: "#2857c5" }];

  function charts(count: number, points = 3) {
    const buffers = Array.from({ length: count }, () => {
      const buffer = new ChartBuffer(["value"], { step: 60 });
      if (points > 0) buffer.putStepped(0, 60, { value: Array.from({ length: points }, (_, i) => i) });
      return buffer;
    });
    const rendered = render(
      <>
        {buffers.map((buffer, i) => (
          <TimeChart key={i} buffer={buffer} title={`Chart ${i}`} lines={lines} />
        ))}
      </>,
    );
    const figure = (i: number) => screen.getByRole("img", { name: `Chart ${i}` });
    const drawn = () => buffers.map((_, i) => Number(figure(i).dataset.points));
    return { buffers, figure, drawn, ...rendered };
  }

  it("redraws the charts a change reaches a few a frame, under the budget: the oldest first, then in the page's order", () => {
    const frames = browser();
    const { buffers, drawn, unmount } = charts(5);
    // One event reaches every chart, the last first: they go in the page's order, neighbours
    // together (the browser composites the rectangle around what changed in a frame).
    for (const buffer of [...buffers].reverse()) buffer.put([600], { value: [9] });
    expect(frames.framesDue).toBe(1);
    expect(drawn()).toEqual([3, 3, 3, 3, 3]);
    // Each redraw takes 40 % of the budget: two fit in a frame, a third would not.
    const cost = REDRAW_BUDGET_MS * 0.4;
    frames.frame(cost);
    expect(drawn()).toEqual([4, 4, 3, 3, 3]);
    expect(frames.framesDue).toBe(1);
    // The next event reaches the first two again: they wait behind the older three.
    buffers[0].put([660], { value: [10] });
    buffers[1].put([660], { value: [10] });
    frames.frame(cost);
    expect(drawn()).toEqual([4, 4, 4, 4, 3]);
    frames.frame(cost);
    expect(drawn()).toEqual([5, 4, 4, 4, 4]);
    frames.frame(cost);
    expect(drawn()).toEqual([5, 5, 4, 4, 4]);
    expect(frames.framesDue).toBe(0);
    unmount();
    expect(sharedRedraws.size).toBe(0);
  });

  it("does not redraw a chart out of view until it comes into view, then at once", () => {
    const frames = browser();
    const { buffers, figure, drawn, unmount } = charts(2);
    frames.inView(figure(0), false);
    frames.inView(figure(1), true);
    buffers[0].put([600], { value: [9] });
    buffers[1].put([600], { value: [9] });
    frames.frame();
    expect(drawn()).toEqual([3, 4]);
    // More for the chart out of view: no frame for it.
    buffers[0].put([660], { value: [10] });
    expect(frames.framesDue).toBe(0);
    expect(drawn()).toEqual([3, 4]);

    // Scrolled into view: drawn in the next frame, with everything it missed, once.
    frames.inView(figure(0), true);
    expect(frames.framesDue).toBe(1);
    frames.frame();
    expect(drawn()).toEqual([5, 4]);
    expect(frames.framesDue).toBe(0);
    unmount();
    expect(sharedRedraws.size).toBe(0);
  });

  it("draws a chart out of view that shows less than half its points: its first ones, a read of those kept", () => {
    const frames = browser();
    const { buffers, figure, drawn, unmount } = charts(1, 0);
    frames.inView(figure(0), false);
    // A live point before the read: drawn, the chart showed none.
    buffers[0].put([0], { value: [1] });
    frames.frame();
    expect(drawn()).toEqual([1]);
    // The read of the points kept: drawn too.
    buffers[0].putStepped(-600, 60, { value: Array.from({ length: 10 }, (_, i) => i) });
    expect(frames.framesDue).toBe(1);
    frames.frame();
    expect(drawn()).toEqual([11]);
    // The live points that follow wait for the view.
    buffers[0].put([60], { value: [3] });
    buffers[0].put([120], { value: [4] });
    expect(frames.framesDue).toBe(0);
    expect(drawn()).toEqual([11]);
    frames.inView(figure(0), true);
    frames.frame();
    expect(drawn()).toEqual([13]);
    unmount();
    expect(sharedRedraws.size).toBe(0);
  });
});
