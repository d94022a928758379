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
