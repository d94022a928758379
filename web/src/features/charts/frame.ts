// When charts redraw. `createFrameScheduler` coalesces work to one run per animation frame: however
// many times `schedule()` is called before the next frame, `run` runs once, in it. `RedrawQueue`
// is the same for many charts together (`sharedRedraws`, which every TimeChart uses): each chart
// still redraws at most once a frame, but the charts due share one frame callback under a time
// budget (`REDRAW_BUDGET_MS` of performance.now()), the oldest due first, the rest waiting for
// the next frames; and a chart out of view is not redrawn until it comes into view (then first,
// in the next frame). One SCORES event that brings a point to 50 charts then costs a few charts'
// redraws a frame over several frames, instead of one long frame. Charts due since the same
// frame go in the page's order: those drawn in one frame are neighbours, and the browser
// composites the one rectangle around all that changed in a frame (in software, without a GPU,
// the whole page between two far-apart charts).

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

/**
 * The JavaScript time (ms) the charts' redraws may take in one frame. The browser's own work for
 * each chart (rasterising its canvas, laying out its legend, painting) comes after it, about as
 * much again in software, so that a frame of redraws stays within its 16.7 ms.
 */
export const REDRAW_BUDGET_MS = 6;

/** One chart's place in a RedrawQueue. */
export interface Redraw {
  /**
   * Asks for a redraw: in the next frame with time left, at most once a frame. While out of view
   * it waits for the view, unless `offscreen` (a chart far behind its points, such as its first
   * ones: drawn wherever it is).
   */
  schedule(options?: { offscreen?: boolean }): void;
  /** Says whether the chart is in view; coming into view, a redraw due runs first in the next frame. */
  setVisible(visible: boolean): void;
  /** Forgets a redraw that is due. */
  cancel(): void;
  /** Leaves the queue (on unmount). */
  dispose(): void;
  /** Whether a redraw is due (waiting for a frame, or for the view). */
  readonly pending: boolean;
  readonly visible: boolean;
}

export interface RedrawQueueOptions {
  frames?: FrameApi;
  /** A clock in ms: performance.now() by default. */
  now?: () => number;
  /** REDRAW_BUDGET_MS by default. */
  budgetMs?: number;
}

interface Entry {
  run: () => void;
  element: Node | null;
  visible: boolean;
  /** Due since this frame (the oldest first). */
  since: number;
  /** The order in which redraws became due, among those without an element. */
  order: number;
  /** Due while out of view. */
  offscreen: boolean;
  /** Came into view with a redraw due: before the others. */
  first: boolean;
  disposed: boolean;
}

const performanceNow = () => globalThis.performance.now();

export class RedrawQueue {
  private readonly frames: FrameApi;
  private readonly now: () => number;
  private readonly budgetMs: number;
  private readonly due = new Set<Entry>();
  private handle: unknown = null;
  private order = 0;
  private frameCount = 0;

  constructor(options: RedrawQueueOptions = {}) {
    this.frames = options.frames ?? browserFrames;
    this.now = options.now ?? performanceNow;
    this.budgetMs = options.budgetMs ?? REDRAW_BUDGET_MS;
  }

  /** How many redraws are due, in view or not. */
  get size(): number {
    return this.due.size;
  }

  /** Whether a frame is asked for. */
  get waiting(): boolean {
    return this.handle !== null;
  }

  /**
   * A chart's place: `run` redraws it; `element`, where it is on the page (its order among the
   * charts due since the same frame). In view until it says otherwise.
   */
  add(run: () => void, element: Node | null = null): Redraw {
    return RedrawQueue.handle(this, {
      run,
      element,
      visible: true,
      since: 0,
      order: 0,
      offscreen: false,
      first: false,
      disposed: false,
    });
  }

  private static handle(queue: RedrawQueue, entry: Entry): Redraw {
    return {
      schedule(options) {
        if (entry.disposed) return;
        if (!queue.due.has(entry)) {
          entry.since = queue.frameCount;
          entry.order = queue.order++;
          queue.due.add(entry);
        }
        if (options?.offscreen) entry.offscreen = true;
        if (queue.runnable(entry)) queue.request();
      },
      setVisible(visible) {
        if (entry.disposed || entry.visible === visible) return;
        entry.visible = visible;
        if (visible && queue.due.has(entry)) {
          entry.first = true;
          queue.request();
        } else if (!visible) {
          entry.first = false;
          queue.settle();
        }
      },
      cancel() {
        queue.forget(entry);
      },
      dispose() {
        entry.disposed = true;
        queue.forget(entry);
      },
      get pending() {
        return queue.due.has(entry);
      },
      get visible() {
        return entry.visible;
      },
    };
  }

  private runnable(entry: Entry): boolean {
    return entry.visible || entry.offscreen;
  }

  private request(): void {
    if (this.handle === null) this.handle = this.frames.request(this.frame);
  }

  /** Gives the frame back when nothing due can run. */
  private settle(): void {
    if (this.handle === null) return;
    for (const entry of this.due) if (this.runnable(entry)) return;
    this.frames.cancel(this.handle);
    this.handle = null;
  }

  private forget(entry: Entry): void {
    entry.offscreen = false;
    entry.first = false;
    if (this.due.delete(entry)) this.settle();
  }

  private frame = (): void => {
    this.handle = null;
    this.frameCount++;
    // Those that came into view first, then the oldest due, in the page's order; only those due
    // when the frame began.
    const order = [...this.due].filter((entry) => this.runnable(entry)).sort(byTurn);
    const started = this.now();
    let ran = 0;
    let errors: unknown[] | null = null;
    for (const entry of order) {
      if (ran > 0) {
        // Another redraw like the average so far would not fit: the rest wait for the next frame.
        const spent = this.now() - started;
        if (spent + spent / ran > this.budgetMs) break;
      }
      this.due.delete(entry);
      entry.offscreen = false;
      entry.first = false;
      ran++;
      try {
        entry.run();
      } catch (error) {
        (errors ??= []).push(error);
      }
    }
    for (const entry of this.due) {
      if (this.runnable(entry)) {
        this.request();
        break;
      }
    }
    // One chart's failure does not stop the others' redraws; it is reported all the same.
    for (const error of errors ?? []) {
      globalThis.setTimeout(() => {
        throw error;
      }, 0);
    }
  };
}

/** Whether `a` comes before `b` on the page: -1, 1, or 0 when unknown. */
function pageOrder(a: Node | null, b: Node | null): number {
  if (a === null || b === null || a === b) return 0;
  const position = a.compareDocumentPosition(b);
  if (position & Node.DOCUMENT_POSITION_FOLLOWING) return -1;
  if (position & Node.DOCUMENT_POSITION_PRECEDING) return 1;
  return 0;
}

function byTurn(a: Entry, b: Entry): number {
  return (
    Number(b.first) - Number(a.first) || a.since - b.since || pageOrder(a.element, b.element) || a.order - b.order
  );
}

/** The queue every chart of the tab shares. */
export const sharedRedraws = new RedrawQueue();
