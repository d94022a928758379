// Runs before every test file: unmounts what a test rendered, and gives jsdom what it lacks.
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => {
  cleanup();
});

// jsdom lays nothing out. The virtualised anomaly list reads its scroll element's size and
// scrolls it: give every element a laptop's viewport, and scrolling that moves and says so.
Object.defineProperties(HTMLElement.prototype, {
  clientHeight: { configurable: true, get: () => 800 },
  clientWidth: { configurable: true, get: () => 1200 },
  scrollHeight: { configurable: true, get: () => 10_000_000 },
});
HTMLElement.prototype.scrollTo = function (this: HTMLElement, options?: ScrollToOptions | number) {
  if (typeof options === "object" && options.top !== undefined) this.scrollTop = options.top;
  this.dispatchEvent(new Event("scroll"));
} as HTMLElement["scrollTo"];
if (typeof globalThis.ResizeObserver === "undefined") {
  globalThis.ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}

// --- canvas charts (features/charts): uPlot asks matchMedia for the pixel ratio when it loads,
// and draws on a 2D context with Path2D. jsdom has none of them: a context that draws nothing
// (and measures text as 6 px a character), and paths that record nothing.
if (typeof window.matchMedia !== "function") {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener() {},
      removeListener() {},
      addEventListener() {},
      removeEventListener() {},
      dispatchEvent: () => false,
    }) as MediaQueryList;
}
if (typeof globalThis.Path2D === "undefined") {
  globalThis.Path2D = class {
    addPath() {}
    arc() {}
    arcTo() {}
    bezierCurveTo() {}
    closePath() {}
    ellipse() {}
    lineTo() {}
    moveTo() {}
    quadraticCurveTo() {}
    rect() {}
    roundRect() {}
  } as unknown as typeof Path2D;
}
HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement) {
  const state: Record<string | symbol, unknown> = { canvas: this, font: "10px sans-serif", lineWidth: 1 };
  const noop = () => undefined;
  return new Proxy(state, {
    get: (target, key) => {
      if (key in target) return target[key];
      if (key === "measureText") return (text: string) => ({ width: text.length * 6 });
      if (key === "getLineDash") return () => [];
      return noop;
    },
    set: (target, key, value) => {
      target[key] = value;
      return true;
    },
  });
} as unknown as HTMLCanvasElement["getContext"];
