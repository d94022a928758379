// A time series chart on uPlot's canvas, fed by a ChartBuffer outside React: lines on the value
// axis (left) and the score axis (right, 0..1), a band filled between two fields, markers drawn
// as filled circles, and a hover readout (uPlot's legend: the time and every line's value).
// A change of the buffer redraws once per animation frame at most (setData, never a rebuild),
// through the tab's shared RedrawQueue (frame.ts): a few charts a frame under a time budget, the
// oldest due first, and not while out of view (IntersectionObserver) except for a chart showing
// less than half its points (its first ones); it redraws once it comes into view. `data-points` says how many points are drawn.
// The chart follows its container's width; the plot goes with the component.
import { useLayoutEffect, useMemo, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatDateTime, formatNumber } from "../../utils/format";
import type { ChartBuffer } from "./buffer";
import { sharedRedraws } from "./frame";

export interface ChartLine {
  /** The buffer's field this line draws. */
  field: string;
  label: string;
  color: string;
  /** Which axis: the value axis (left, by default) or the score axis (right, 0..1). */
  scale?: "y" | "score";
  /** Line width in CSS pixels; 1.5 by default. */
  width?: number;
  /** Dash pattern, such as `[6, 4]`. */
  dash?: number[];
  /** Whether each point is drawn as a dot too. */
  points?: boolean;
}

/** A fill between two fields of the buffer, on the value axis. */
export interface ChartBand {
  lower: string;
  upper: string;
  color: string;
  /** What the band is, for the hover readout ("Expected band" gives "Expected band low"). */
  label?: string;
}

/** A filled circle at a point of the value axis, such as an anomalous point. */
export interface ChartMarker {
  /** Seconds since the epoch. */
  time: number;
  value: number;
  color: string;
  /** Said when the pointer is over it. */
  label: string;
}

export interface TimeChartProps {
  buffer: ChartBuffer;
  lines: ChartLine[];
  band?: ChartBand;
  markers?: ChartMarker[];
  /** Plot height in px; 200 by default. */
  height?: number;
  /** The chart's accessible name and caption. */
  title: string;
  /** The time axis' span in seconds; the data's own span when left out. */
  timeRange?: [number, number];
}

/** A series of the plot: where its values come from in the buffer's data, and its options. */
interface PlotSeries {
  column: number;
  options: uPlot.Series;
}

const MARKER_RADIUS = 4;
const VALUE_AXIS_MIN_PX = 56;

/**
 * The value axis' width for its labels (uPlot calls it per layout cycle): wide enough for the
 * longest one, such as 455.115 on a memory chart, so that none is cut at the chart's edge.
 */
function valueAxisSize(u: uPlot, values: string[] | null, axisIdx: number, cycleNum: number): number {
  // Later cycles keep the first one's width: the labels may change with it, and must not loop.
  const sized = axisSizes.get(u);
  if (cycleNum > 1 && sized !== undefined) return sized;
  const axis = u.axes[axisIdx];
  const longest = (values ?? []).reduce((a, b) => (b.length > a.length ? b : a), "");
  const font = axis?.font?.[0];
  let size = VALUE_AXIS_MIN_PX;
  if (longest !== "" && font !== undefined && typeof u.ctx?.measureText === "function") {
    u.ctx.font = font;
    const labelPx = u.ctx.measureText(longest).width / (globalThis.devicePixelRatio || 1);
    const ticksPx = (axis?.ticks?.size ?? 10) + (axis?.gap ?? 5);
    size = Math.max(VALUE_AXIS_MIN_PX, Math.ceil(labelPx + ticksPx + 4));
  }
  axisSizes.set(u, size);
  return size;
}
const axisSizes = new WeakMap<uPlot, number>();
const MARKER_HOVER_PX = 8;

/** The axes' colours, from the theme's custom properties (index.css, on :root), light or dark. */
interface AxisColors {
  axis: string;
  grid: string;
}

let axisColorsCache: { dark: boolean; colors: AxisColors } | null = null;

/**
 * Read once per colour scheme, not per chart: getComputedStyle right after another chart went
 * in would recompute the page's style each time.
 */
function axisColors(): AxisColors {
  const dark = typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches;
  if (axisColorsCache !== null && axisColorsCache.dark === dark) return axisColorsCache.colors;
  const style = typeof getComputedStyle === "function" ? getComputedStyle(document.documentElement) : null;
  const read = (name: string, fallback: string) => style?.getPropertyValue(name).trim() || fallback;
  const colors = { axis: read("--muted", "#5b6470"), grid: read("--border", "#d5d9e0") };
  axisColorsCache = { dark, colors };
  return colors;
}

const formatValue = (_: uPlot, raw: number | null) =>
  raw === null || raw === undefined || Number.isNaN(raw) ? "—" : formatNumber(raw, 4);

/** The plot's series, in drawing order: the band's edges first (under the lines), then the lines. */
function plotSeries(buffer: ChartBuffer, lines: ChartLine[], band: ChartBand | undefined): PlotSeries[] {
  const column = (field: string) => {
    const index = buffer.fields.indexOf(field);
    if (index < 0) throw new Error(`TimeChart: the buffer has no field ${field}`);
    return index + 1;
  };
  const series: PlotSeries[] = [];
  if (band !== undefined) {
    const label = band.label ?? "Band";
    for (const [field, edge] of [
      [band.upper, "high"],
      [band.lower, "low"],
    ] as const) {
      series.push({
        column: column(field),
        options: {
          label: `${label} ${edge}`,
          scale: "y",
          stroke: band.color,
          width: 0,
          points: { show: false },
          value: formatValue,
        },
      });
    }
  }
  for (const line of lines) {
    series.push({
      column: column(line.field),
      options: {
        label: line.label,
        scale: line.scale ?? "y",
        stroke: line.color,
        width: line.width ?? 1.5,
        dash: line.dash,
        points: line.points ? { show: true, size: 4, fill: line.color, stroke: line.color } : { show: false },
        spanGaps: false,
        value: formatValue,
      },
    });
  }
  return series;
}

/** The buffer's data as the plot's series read it. */
function plotData(buffer: ChartBuffer, series: PlotSeries[]): uPlot.AlignedData {
  const data = buffer.data();
  return [data[0], ...series.map((s) => data[s.column])] as uPlot.AlignedData;
}

/** The same object while its JSON is the same: props written inline do not rebuild the plot. */
function useStable<T>(value: T): T {
  const key = JSON.stringify(value);
  // eslint-disable-next-line react-hooks/exhaustive-deps -- keyed on the value's JSON on purpose
  return useMemo(() => value, [key]);
}

export function TimeChart(props: TimeChartProps) {
  const { buffer, title, height = 200 } = props;
  const lines = useStable(props.lines);
  const band = useStable(props.band);
  const markers = useStable(props.markers);
  const timeRange = useStable(props.timeRange);
  const figureRef = useRef<HTMLElement>(null);
  const hostRef = useRef<HTMLDivElement>(null);
  // What the draw hook and the scale read; set from the props after each render.
  const markersRef = useRef<ChartMarker[]>([]);
  const rangeRef = useRef<[number, number] | undefined>(undefined);
  const redrawRef = useRef<(() => void) | null>(null);

  // Markers and the time span change without a rebuild: the next frame draws them. Before the
  // plot's effect, so that a new plot starts with them.
  useLayoutEffect(() => {
    markersRef.current = markers ?? [];
    rangeRef.current = timeRange;
    // What is drawn on the canvas, readable from the DOM (end-to-end tests, assistive tools).
    if (figureRef.current !== null) figureRef.current.dataset.markers = String(markersRef.current.length);
    redrawRef.current?.();
  }, [markers, timeRange]);

  useLayoutEffect(() => {
    const figure = figureRef.current;
    const host = hostRef.current;
    if (figure === null || host === null) return;
    const series = plotSeries(buffer, lines, band);
    const hasScore = lines.some((line) => line.scale === "score");
    const { axis: axisColor, grid: gridColor } = axisColors();
    const axis = (options: uPlot.Axis): uPlot.Axis => ({
      stroke: axisColor,
      grid: { stroke: gridColor, width: 1 },
      ticks: { stroke: gridColor, width: 1 },
      ...options,
    });
    const showLatest = (u: uPlot) => {
      const count = u.data[0]?.length ?? 0;
      if (count > 0 && (u.cursor.left === undefined || u.cursor.left < 0)) u.setLegend({ idx: count - 1 }, false);
    };
    // Says what the marker under the pointer is; inside the plot's overlay, so placed in its pixels.
    let tip: HTMLDivElement | null = null;
    const bandIndex = (field: string) => series.findIndex((s) => s.column === buffer.fields.indexOf(field) + 1) + 1;

    const options: uPlot.Options = {
      width: Math.max(200, host.clientWidth || figure.clientWidth || 600),
      height,
      series: [
        { label: "Time", value: (_, raw) => (raw === null || raw === undefined ? "—" : formatDateTime(raw * 1000)) },
        ...series.map((s) => s.options),
      ],
      bands: band ? [{ series: [bandIndex(band.upper), bandIndex(band.lower)], fill: band.color }] : [],
      scales: {
        x: {
          time: true,
          range: (_, min, max) => {
            const fixed = rangeRef.current;
            if (fixed !== undefined) return [fixed[0], fixed[1]];
            if (min === null || max === null) {
              const now = Date.now() / 1000;
              return [now - 3600, now];
            }
            return min === max ? [min - 60, max + 60] : [min, max];
          },
        },
        y: {
          auto: true,
          // A flat series (min = max) would get an empty range and no line: pad it.
          range: (_, min, max) => {
            if (min === null || max === null) return [0, 1];
            if (min === max) {
              const pad = Math.max(1, Math.abs(min) * 0.1);
              // A flat count of zero stays at or above zero.
              return [min >= 0 && min - pad < 0 ? 0 : min - pad, max + pad];
            }
            return uPlot.rangeNum(min, max, 0.1, true);
          },
        },
        ...(hasScore ? { score: { auto: false, range: [0, 1] as [number, number] } } : {}),
      },
      axes: [
        axis({ space: 80 }),
        axis({ scale: "y", size: valueAxisSize }),
        ...(hasScore
          ? [axis({ scale: "score", side: 1, size: 40, grid: { show: false }, values: (_: uPlot, splits: number[]) => splits.map((v) => v.toFixed(1)) })]
          : []),
      ],
      cursor: { y: false, points: { size: 6 } },
      legend: { show: true, live: true },
      hooks: {
        draw: [
          (u) => {
            const list = markersRef.current;
            if (list.length === 0) return;
            const { ctx, bbox } = u;
            const radius = MARKER_RADIUS * (typeof devicePixelRatio === "number" ? devicePixelRatio : 1);
            ctx.save();
            for (const marker of list) {
              const x = u.valToPos(marker.time, "x", true);
              const y = u.valToPos(marker.value, "y", true);
              if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
              if (x < bbox.left || x > bbox.left + bbox.width || y < bbox.top || y > bbox.top + bbox.height) continue;
              ctx.beginPath();
              ctx.fillStyle = marker.color;
              ctx.arc(x, y, radius, 0, 2 * Math.PI);
              ctx.fill();
            }
            ctx.restore();
          },
        ],
        setCursor: [
          (u) => {
            // Away from the plot, the readout shows the latest point.
            if (u.cursor.idx === null || u.cursor.idx === undefined) showLatest(u);
            if (tip === null) return;
            const { left, top } = u.cursor;
            let found: ChartMarker | undefined;
            if (left !== undefined && top !== undefined && left >= 0) {
              for (const marker of markersRef.current) {
                const dx = u.valToPos(marker.time, "x") - left;
                const dy = u.valToPos(marker.value, "y") - top;
                if (dx * dx + dy * dy <= MARKER_HOVER_PX * MARKER_HOVER_PX) found = marker;
              }
            }
            if (found === undefined) {
              tip.hidden = true;
              return;
            }
            tip.textContent = found.label;
            tip.style.left = `${u.valToPos(found.time, "x")}px`;
            tip.style.top = `${u.valToPos(found.value, "y")}px`;
            tip.hidden = false;
          },
        ],
      },
    };

    const plot = new uPlot(options, plotData(buffer, series), host);
    tip = document.createElement("div");
    tip.className = "time-chart-tip";
    tip.hidden = true;
    plot.over.appendChild(tip);
    // The points drawn: what `data-points` says.
    let drawn = buffer.length;
    const showCount = () => {
      figure.dataset.points = String(drawn);
    };
    showCount();
    showLatest(plot);
    const redraw = sharedRedraws.add(() => {
      // In one batch: uPlot draws now, inside the queue's time budget, not in a microtask after it.
      plot.batch(() => {
        plot.setData(plotData(buffer, series));
        showLatest(plot);
      });
      drawn = buffer.length;
      showCount();
    }, figure);
    // Out of view, a chart is drawn when it shows less than half its points (its first points, a
    // read of the points kept), so that what it says is in is drawn wherever it is; the live
    // points that follow wait for the view.
    const schedule = () => redraw.schedule({ offscreen: buffer.length > 2 * drawn });
    redrawRef.current = schedule;
    const unsubscribe = buffer.subscribe(schedule);
    let visibility: IntersectionObserver | null = null;
    if (typeof IntersectionObserver === "function") {
      visibility = new IntersectionObserver((entries) => {
        const last = entries[entries.length - 1];
        if (last !== undefined) redraw.setVisible(last.isIntersecting);
      });
      visibility.observe(figure);
    }

    let width = options.width;
    const observer = new ResizeObserver((entries) => {
      const next = Math.max(200, Math.floor(entries[entries.length - 1]?.contentRect.width ?? width));
      if (next !== width && next > 0) {
        width = next;
        plot.setSize({ width, height });
      }
    });
    observer.observe(host);

    return () => {
      redrawRef.current = null;
      unsubscribe();
      redraw.dispose();
      visibility?.disconnect();
      observer.disconnect();
      plot.destroy();
    };
  }, [buffer, lines, band, height]);

  return (
    <figure ref={figureRef} className="time-chart" role="img" aria-label={title}>
      <figcaption className="time-chart-title">{title}</figcaption>
      <div ref={hostRef} className="time-chart-plot" />
    </figure>
  );
}
