// Coalescing work to one run per animation frame: however many times `schedule()` is called
// before the next frame, `run` runs once, in it.

export interface FrameScheduler {
  /** Runs `run` in the next frame, unless it is already due to. */
  schedule(): void;
  /** Forgets a run that is due (on unmount). */
  cancel(): void;
  /** Whether a run is due. */
  readonly pending: boolean;
}

export interface FrameApi {
  request(callback: () => void): unknown;
  cancel(handle: unknown): void;
}

/** The browser's animation frames; a 16 ms timer where there are none. */
export const browserFrames: FrameApi = {
  request: (callback) =>
    typeof globalThis.requestAnimationFrame === "function"
      ? globalThis.requestAnimationFrame(() => callback())
      : globalThis.setTimeout(callback, 16),
  cancel: (handle) => {
    if (typeof globalThis.cancelAnimationFrame === "function") globalThis.cancelAnimationFrame(handle as number);
    else globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  },
};

export function createFrameScheduler(run: () => void, frames: FrameApi = browserFrames): FrameScheduler {
  let handle: unknown = null;
  return {
    schedule() {
      if (handle !== null) return;
      handle = frames.request(() => {
        handle = null;
        run();
      });
    },
    cancel() {
      if (handle === null) return;
      frames.cancel(handle);
      handle = null;
    },
    get pending() {
      return handle !== null;
    },
  };
}
