// The points of one chart, kept outside Redux: a time column and one column per field, in typed
// arrays with room to grow, times ascending. Appends at the end are cheap (amortised O(points
// appended)); a point at a time already held replaces it; older points are trimmed past the
// capacity. `data()` gives uPlot its aligned arrays, missing values and NaN as null (a gap,
// never a zero), and, with a step, a null point in every jump of more than one step.
import type uPlot from "uplot";

export interface ChartBufferOptions {
  /** The most points kept; the oldest go first. 100,000 by default. */
  capacity?: number;
  /** Seconds between points: a jump of more than one step between neighbours is drawn as a gap. */
  step?: number;
}

const INITIAL_ROOM = 256;
/** A jump this many steps or more is a gap (one missed point makes two). */
const GAP_STEPS = 1.5;

export class ChartBuffer {
  readonly fields: readonly string[];
  readonly capacity: number;
  /** Seconds between points, when known; settable once the server says (a detector's step). */
  step: number | undefined;

  private times: Float64Array;
  private columns: Float64Array[];
  /** The points are at [start, end) of the arrays. */
  private start = 0;
  private end = 0;
  private listeners = new Set<() => void>();
  private version = 0;
  private cached: { version: number; data: uPlot.AlignedData } | null = null;

  constructor(fields: readonly string[], options: ChartBufferOptions = {}) {
    this.fields = [...fields];
    this.capacity = Math.max(1, Math.floor(options.capacity ?? 100_000));
    this.step = options.step !== undefined && options.step > 0 ? options.step : undefined;
    const room = Math.min(INITIAL_ROOM, this.capacity);
    this.times = new Float64Array(room);
    this.columns = this.fields.map(() => new Float64Array(room));
  }

  /** How many points it holds. */
  get length(): number {
    return this.end - this.start;
  }

  /** Bumps on every change: a cheap way to tell whether anything moved. */
  get changes(): number {
    return this.version;
  }

  firstTime(): number | undefined {
    return this.length > 0 ? this.times[this.start] : undefined;
  }

  lastTime(): number | undefined {
    return this.length > 0 ? this.times[this.end - 1] : undefined;
  }

  /** The times held (seconds), a view valid until the next change. */
  timeColumn(): Float64Array {
    return this.times.subarray(this.start, this.end);
  }

  /** One field's values (NaN where missing), a view valid until the next change. */
  column(field: string): Float64Array {
    const index = this.fields.indexOf(field);
    if (index < 0) throw new Error(`ChartBuffer has no field ${field}`);
    return this.columns[index].subarray(this.start, this.end);
  }

  /**
   * Inserts points: `times` in seconds, each field's values by name (a field left out, or a
   * shorter column, is missing: a gap). A point at a time already held replaces it.
   */
  put(times: ArrayLike<number>, columns: Record<string, ArrayLike<number>>): void {
    const count = times.length;
    if (count === 0) return;
    const sources = this.fields.map((field) => columns[field]);
    const value = (source: ArrayLike<number> | undefined, i: number) =>
      source !== undefined && i < source.length ? Number(source[i]) : NaN;

    let inserts: number[] | null = null;
    for (let i = 0; i < count; i++) {
      const time = Number(times[i]);
      if (!Number.isFinite(time)) continue;
      if (this.end === this.start || time > this.times[this.end - 1]) {
        // The fast path: after the last point.
        this.ensureRoom(1);
        const at = this.end++;
        this.times[at] = time;
        for (let f = 0; f < sources.length; f++) this.columns[f][at] = value(sources[f], i);
        continue;
      }
      const at = this.indexOf(time);
      if (at >= 0) {
        for (let f = 0; f < sources.length; f++) this.columns[f][at] = value(sources[f], i);
      } else {
        (inserts ??= []).push(i);
      }
    }
    if (inserts !== null) this.merge(inserts, times, sources, value);
    this.trimToCapacity();
    this.changed();
  }

  /** Inserts points `step` seconds apart from `start`, as many as the longest column. */
  putStepped(start: number, step: number, columns: Record<string, ArrayLike<number>>): void {
    let count = 0;
    for (const field of this.fields) count = Math.max(count, columns[field]?.length ?? 0);
    if (count === 0) return;
    const times = new Float64Array(count);
    for (let i = 0; i < count; i++) times[i] = start + i * step;
    this.put(times, columns);
  }

  /** Drops every point before `time`. */
  trimBefore(time: number): void {
    const at = this.lowerBound(time);
    if (at === this.start) return;
    this.start = at;
    if (this.start === this.end) this.start = this.end = 0;
    this.changed();
  }

  clear(): void {
    if (this.length === 0) return;
    this.start = this.end = 0;
    this.changed();
  }

  /**
   * `[times, ...fields in constructor order]` for uPlot: NaN and missing values as null (a gap),
   * and with a step, a null point one step after each point followed by a longer jump. The same
   * arrays until the next change.
   */
  data(): uPlot.AlignedData {
    if (this.cached !== null && this.cached.version === this.version) return this.cached.data;
    const n = this.length;
    const step = this.step;
    let gaps = 0;
    if (step !== undefined) {
      for (let i = this.start + 1; i < this.end; i++) {
        if (this.times[i] - this.times[i - 1] >= step * GAP_STEPS) gaps++;
      }
    }
    const size = n + gaps;
    const xs = new Float64Array(size);
    const ys: (number | null)[][] = this.fields.map(() => new Array<number | null>(size));
    let out = 0;
    for (let i = this.start; i < this.end; i++) {
      if (step !== undefined && i > this.start && this.times[i] - this.times[i - 1] >= step * GAP_STEPS) {
        xs[out] = this.times[i - 1] + step;
        for (const y of ys) y[out] = null;
        out++;
      }
      xs[out] = this.times[i];
      for (let f = 0; f < ys.length; f++) {
        const v = this.columns[f][i];
        ys[f][out] = Number.isNaN(v) ? null : v;
      }
      out++;
    }
    const data = [xs, ...ys] as uPlot.AlignedData;
    this.cached = { version: this.version, data };
    return data;
  }

  /** Calls `listener` after each change; returns the unsubscribe. Bound: pass it as it is. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  };

  // --- internals ---------------------------------------------------------------------------

  private changed(): void {
    this.version++;
    for (const listener of [...this.listeners]) listener();
  }

  /** The first index in [start, end) whose time is >= `time` (end when none). */
  private lowerBound(time: number): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid] < time) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The index holding `time`, or -1. */
  private indexOf(time: number): number {
    const at = this.lowerBound(time);
    return at < this.end && this.times[at] === time ? at : -1;
  }

  /**
   * Makes room for `more` points after `end`: compacts to the front when the points fill at most
   * half the arrays, else grows them (doubling, up to twice the capacity), so that appends and
   * the trims past the capacity stay amortised O(1) a point.
   */
  private ensureRoom(more: number): void {
    if (this.end + more <= this.times.length) return;
    const needed = this.length + more;
    let room = this.times.length;
    if (needed * 2 > room) {
      while (room < needed * 2 && room < this.capacity * 2) room *= 2;
      room = Math.max(room, needed);
    }
    this.relocate(room);
  }

  /** Moves the points to the front of new (or the same) arrays of `room` points. */
  private relocate(room: number): void {
    const n = this.length;
    if (room === this.times.length) {
      this.times.copyWithin(0, this.start, this.end);
      for (const column of this.columns) column.copyWithin(0, this.start, this.end);
    } else {
      const times = new Float64Array(room);
      times.set(this.times.subarray(this.start, this.end));
      this.times = times;
      this.columns = this.columns.map((column) => {
        const next = new Float64Array(room);
        next.set(column.subarray(this.start, this.end));
        return next;
      });
    }
    this.start = 0;
    this.end = n;
  }

  private trimToCapacity(): void {
    const excess = this.length - this.capacity;
    if (excess > 0) this.start += excess;
  }

  /** Merges the points of `order` (indices into `times`, each not held yet) into the arrays. */
  private merge(
    order: number[],
    times: ArrayLike<number>,
    sources: (ArrayLike<number> | undefined)[],
    value: (source: ArrayLike<number> | undefined, i: number) => number,
  ): void {
    // Sorted by time; of two at one time, the later in the call wins.
    order.sort((a, b) => Number(times[a]) - Number(times[b]) || b - a);
    const unique: number[] = [];
    for (const i of order) {
      if (unique.length === 0 || Number(times[unique[unique.length - 1]]) !== Number(times[i])) unique.push(i);
    }
    const n = this.length;
    const size = n + unique.length;
    const nextTimes = new Float64Array(Math.max(size, this.times.length));
    const nextColumns = this.columns.map(() => new Float64Array(nextTimes.length));
    let a = this.start;
    let b = 0;
    let out = 0;
    while (a < this.end || b < unique.length) {
      const takeOld = b >= unique.length || (a < this.end && this.times[a] < Number(times[unique[b]]));
      if (takeOld) {
        nextTimes[out] = this.times[a];
        for (let f = 0; f < nextColumns.length; f++) nextColumns[f][out] = this.columns[f][a];
        a++;
      } else {
        const i = unique[b];
        nextTimes[out] = Number(times[i]);
        for (let f = 0; f < nextColumns.length; f++) nextColumns[f][out] = value(sources[f], i);
        b++;
      }
      out++;
    }
    this.times = nextTimes;
    this.columns = nextColumns;
    this.start = 0;
    this.end = out;
  }
}
