// A detector's series on its detail page: a picker ranked by the latest score (with a series
// selector to narrow it), and a chart per series shown (the value, the expected value and its
// band, the score on the right axis, a marker at each anomalous point), read once and then
// appended live from the detector's SCORES events. It starts with the route, before the detector
// is in the store: the listing and one read of the top series' points go out at once, side by
// side; the thresholds (markers), the step and the live stream follow once the detector is in.
import { Detector_State, EventType, Severity } from "@aiops/client";
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { useStore } from "react-redux";
import type { AppStore } from "../../app/store";
import { Field } from "../../components/Field";
import { formatNumber, formatWhen } from "../../utils/format";
import { timestampMs } from "../../utils/proto";
import { ChartBuffer } from "../charts/buffer";
import { TimeChart, type ChartBand, type ChartLine } from "../charts/TimeChart";
import { useLiveEvents } from "../connection/useLiveEvents";
import { SEVERITY_TEXT } from "../anomalies/model";
import { severityClass } from "../notifications/links";
import type { DetectorView } from "./model";
import {
  DEFAULT_SHOWN,
  anomalyMarkers,
  distinctLabelNames,
  listSeries,
  listingError,
  seriesFeed,
  seriesKey,
  seriesParts,
  seriesTitle,
  thresholdsOf,
  type DetectorSeriesFeed,
  type MarkerColors,
  type SeriesSummary,
  type Thresholds,
} from "./seriesData";

/** How long the filter box waits for more typing before it asks (ms). */
export const FILTER_DEBOUNCE_MS = 300;
/** How often a running detector's ranking is read again (ms). */
export const RANKING_REFRESH_MS = 15_000;

interface ChartColors extends MarkerColors {
  value: string;
  expected: string;
  band: string;
  score: string;
}

/** The charts' colours, from the theme's custom properties (index.css), light or dark. */
function chartColors(): ChartColors {
  const style = typeof getComputedStyle === "function" ? getComputedStyle(document.documentElement) : null;
  const read = (name: string, fallback: string) => style?.getPropertyValue(name).trim() || fallback;
  return {
    value: read("--chart-value", "#2857c5"),
    expected: read("--chart-expected", "#6b7480"),
    band: read("--chart-band", "rgba(107, 116, 128, 0.18)"),
    score: read("--chart-score", "rgb(142 68 173 / 60%)"),
    warning: read("--chart-warning", "#e8a400"),
    critical: read("--chart-critical", "#d93025"),
  };
}

const LIVE_STATES = [Detector_State.RUNNING, Detector_State.DEGRADED, Detector_State.BACKFILLING];

interface Listing {
  /** The filter these series match. */
  filter: string;
  series: SeriesSummary[];
  total: number;
  loaded: boolean;
  /** The filter's own complaint (a field violation on `filter`), else the server's message. */
  filterError: string | null;
  error: string | null;
}

interface Picked {
  /** The series shown, by key, in the order they were picked. */
  series: Map<string, Record<string, string>>;
  /** Whether people picked them (then the ranking no longer changes them). */
  manual: boolean;
  /** The filter the top series were picked for. */
  autoFor: string | null;
}

const NO_THRESHOLDS = { warning: null, critical: null };

/** Whether the top series are still to be picked for `filter` (nobody picked, none shown for it). */
function picksTop(picked: Picked, filter: string): boolean {
  return !picked.manual && !(picked.autoFor === filter && picked.series.size > 0);
}

/** The top series of `filter`, shown unless people picked or some are shown for it already. */
function pickTop(prev: Picked, filter: string, top: { key: string; labels: Record<string, string> }[]): Picked {
  if (!picksTop(prev, filter)) return prev;
  return { series: new Map(top.slice(0, DEFAULT_SHOWN).map((s) => [s.key, s.labels])), manual: false, autoFor: filter };
}

/**
 * A detector's series section, by the detector's name: `detector` is undefined until the store
 * has it (a fresh tab), meanwhile the default thresholds and step and no live stream.
 */
export function DetectorSeries({ name, detector }: { name: string; detector: DetectorView | undefined }) {
  const store = useStore() as AppStore;
  const { clients, clock } = store.extra;
  const stepSeconds = detector?.stepSeconds ?? null;
  const feed = useMemo(() => seriesFeed(clients, name, null), [clients, name]);
  useEffect(() => feed.setDetectorStep(stepSeconds), [feed, stepSeconds]);
  const state = detector?.state;
  const running = state !== undefined && LIVE_STATES.includes(state);
  const { warning, critical } = thresholdsOf(detector ?? NO_THRESHOLDS);
  // The same object while they stay: a listing or a pick does not draw the charts again.
  const thresholds = useMemo(() => ({ warning, critical }), [warning, critical]);
  const colors = useMemo(() => chartColors(), []);

  const [filterText, setFilterText] = useState("");
  const [filter, setFilter] = useState("");
  useEffect(() => {
    if (filterText === filter) return;
    const timer = clock.setTimeout(() => setFilter(filterText), FILTER_DEBOUNCE_MS);
    return () => clock.clearTimeout(timer);
  }, [filterText, filter, clock]);

  const [listing, setListing] = useState<Listing>({
    filter: "",
    series: [],
    total: 0,
    loaded: false,
    filterError: null,
    error: null,
  });
  const [picked, setPicked] = useState<Picked>({ series: new Map(), manual: false, autoFor: null });
  const [refreshes, setRefreshes] = useState(0);
  // What the listing's effect reads of the picks without running again for each pick.
  const pickedRef = useRef(picked);
  useLayoutEffect(() => {
    pickedRef.current = picked;
  }, [picked]);

  // A known state that changes (started, stopped) changes the series: list them again. The
  // detector coming in (a fresh tab) does not.
  const seenState = useRef(state);
  useEffect(() => {
    if (state === undefined) return;
    if (seenState.current !== undefined && seenState.current !== state) setRefreshes((n) => n + 1);
    seenState.current = state;
  }, [state]);

  // On mount (before paint: the calls go out as early as the route renders) and for each filter:
  // the listing, and beside it, while the top series are to be shown, one read of their points.
  useLayoutEffect(() => {
    const abort = new AbortController();
    if (picksTop(pickedRef.current, filter)) {
      feed.readTop(filter, DEFAULT_SHOWN, { signal: abort.signal }).then(
        (top) => {
          if (abort.signal.aborted || top.length === 0) return;
          setPicked((prev) => pickTop(prev, filter, top.map((labels) => ({ key: seriesKey(labels), labels }))));
        },
        () => {
          // The listing says what went wrong; the series shown are read alone.
        },
      );
    }
    listSeries(clients, name, filter, { signal: abort.signal }).then(
      ({ series, total }) => {
        if (abort.signal.aborted) return;
        setListing({ filter, series, total, loaded: true, filterError: null, error: null });
        // The most anomalous are shown until people pick: for each new filter, or once there are any.
        setPicked((prev) => pickTop(prev, filter, series));
      },
      (err: unknown) => {
        if (abort.signal.aborted) return;
        const { filter: filterError, message } = listingError(err);
        setListing({ filter, series: [], total: 0, loaded: true, filterError, error: filterError ? null : message });
      },
    );
    return () => abort.abort();
  }, [clients, feed, name, filter, refreshes]);

  // Opened again: the kept points are shown at once and read again (after the read of the top,
  // started above, for those it does not bring).
  useLayoutEffect(() => feed.refresh(), [feed]);

  // A running detector's ranking moves each step: read it again now and then.
  useEffect(() => {
    if (!running) return;
    const timer = clock.setTimeout(() => setRefreshes((n) => n + 1), RANKING_REFRESH_MS);
    return () => clock.clearTimeout(timer);
  }, [running, clock, listing]);

  // The series no longer shown let their points go (once there are picks: a detail opened again
  // keeps its points until the top series are picked).
  useEffect(() => {
    if (picked.manual || picked.autoFor !== null) feed.retain(picked.series.keys());
  }, [feed, picked]);

  const { live, error: liveError } = useLiveEvents(
    running ? { types: [EventType.SCORES], detectors: [name] } : null,
    (event) => {
      if (event.payload.case === "scores") feed.applyScores(event.payload.value, timestampMs(event.time));
    },
  );

  const toggle = useCallback(
    (series: { key: string; labels: Record<string, string> }) =>
      setPicked((prev) => {
        const next = new Map(prev.series);
        if (next.has(series.key)) next.delete(series.key);
        else next.set(series.key, series.labels);
        return { ...prev, series: next, manual: true };
      }),
    [],
  );

  // The series shown that the listing does not (another filter, or fallen in the ranking).
  const listedKeys = new Set(listing.series.map((s) => s.key));
  const unlisted = [...picked.series.entries()].filter(([key]) => !listedKeys.has(key));

  return (
    <section className="detector-series" aria-labelledby="series-heading">
      <div className="section-header">
        <h3 id="series-heading">Series</h3>
        {running ? (
          <span className={live ? "live-note live-note-live" : "live-note"} role="status">
            {live ? "Live" : liveError ? `Reconnecting: ${liveError}` : "Connecting…"}
          </span>
        ) : null}
      </div>
      {detector !== undefined && !running && (
        <p className="note" role="note">
          {name} is not running: the charts show the points it kept while it ran.
        </p>
      )}
      {state === Detector_State.BACKFILLING && (
        <p className="note" role="note">
          Backfilling: its series appear here once it scores live points.
        </p>
      )}
      <Field
        label="Filter series"
        error={listing.filterError ?? undefined}
        hint={
          <>
            A series selector, such as <code>{'{job="api", instance=~"web-.*"}'}</code>
          </>
        }
      >
        {(props) => (
          <input
            {...props}
            type="search"
            spellCheck={false}
            autoComplete="off"
            placeholder='{job="api"}'
            value={filterText}
            onChange={(event) => setFilterText(event.target.value)}
          />
        )}
      </Field>
      {listing.error && (
        <p role="alert" className="row-error">
          Could not list the series: {listing.error}
        </p>
      )}
      <SeriesPicker
        detector={name}
        known={detector !== undefined}
        listing={listing}
        picked={picked}
        unlisted={unlisted}
        running={running}
        onToggle={toggle}
      />
      <div className="series-charts">
        {[...picked.series.entries()].map(([key, labels]) => (
          <SeriesChart key={key} feed={feed} labels={labels} thresholds={thresholds} colors={colors} />
        ))}
      </div>
    </section>
  );
}

function SeriesPicker({
  detector,
  known,
  listing,
  picked,
  unlisted,
  running,
  onToggle,
}: {
  detector: string;
  /** Whether the detector is in (its state known). */
  known: boolean;
  listing: Listing;
  picked: Picked;
  unlisted: [string, Record<string, string>][];
  running: boolean;
  onToggle: (series: { key: string; labels: Record<string, string> }) => void;
}) {
  // Long labels cut every entry to the same text: each shows first what tells it apart.
  const distinctKey = distinctLabelNames([...listing.series.map((s) => s.labels), ...unlisted.map(([, labels]) => labels)]).join("\n");
  // The same names, the same array: rows that did not change are not drawn again.
  const distinct = useMemo(() => (distinctKey === "" ? [] : distinctKey.split("\n")), [distinctKey]);
  if (!listing.loaded) return <p className="muted">Loading the series…</p>;
  if (listing.filterError || listing.error) return null;
  if (listing.total === 0 && unlisted.length === 0) {
    return (
      <p className="empty">
        {listing.filter
          ? "No series matches this selector."
          : running || !known
            ? "No series scored yet: they appear once the detector scores its first points."
            : "No points kept: the server keeps a detector's recent points while it runs."}
      </p>
    );
  }
  return (
    <>
      <p className="muted small">
        {listing.total === 1 ? "1 series" : `${listing.total} series`}
        {listing.filter ? " match" : ""}, the most anomalous first
        {listing.total > listing.series.length ? ` (the first ${listing.series.length})` : ""}. Shown:{" "}
        {picked.series.size}.
      </p>
      <ul className="series-picker" aria-label={`Series of ${detector}`}>
        {listing.series.map((series) => (
          <PickerRow
            key={series.key}
            series={series}
            distinct={distinct}
            checked={picked.series.has(series.key)}
            onToggle={onToggle}
          />
        ))}
        {unlisted.map(([key, labels]) => (
          <PickerRow key={key} series={{ key, labels }} distinct={distinct} checked onToggle={onToggle} />
        ))}
      </ul>
    </>
  );
}

const PickerRow = memo(function PickerRow({
  series,
  distinct,
  checked,
  onToggle,
}: {
  series: { key: string; labels: Record<string, string> } & Partial<SeriesSummary>;
  /** The label names whose values differ between the series listed, shown first. */
  distinct: readonly string[];
  checked: boolean;
  onToggle: (series: { key: string; labels: Record<string, string> }) => void;
}) {
  const title = seriesTitle(series.labels);
  const parts = seriesParts(series.labels, distinct);
  const severity = series.severity ?? Severity.UNSPECIFIED;
  return (
    <li>
      <label className="series-option">
        {/* Named by the whole series, whatever the entry shows. */}
        <input type="checkbox" aria-label={title} checked={checked} onChange={() => onToggle(series)} />
        <code className="series-option-labels" title={title}>
          {parts.distinct !== "" && <span className="series-option-distinct">{parts.distinct}</span>}
          {parts.distinct !== "" && parts.rest !== "" && " "}
          {parts.rest !== "" && <span className="series-option-rest">{parts.rest}</span>}
        </code>
        {series.score !== undefined && (
          <span
            className={severity === Severity.UNSPECIFIED ? "series-score" : `series-score badge ${severityClass(severity)}`}
            title={`latest score at ${formatWhen(series.time ?? null)}${severity === Severity.UNSPECIFIED ? "" : `: ${SEVERITY_TEXT[severity]}`}`}
          >
            {formatNumber(series.score, 3)}
          </span>
        )}
      </label>
    </li>
  );
});

const SeriesChart = memo(function SeriesChart({
  feed,
  labels,
  thresholds,
  colors,
}: {
  feed: DetectorSeriesFeed;
  labels: Record<string, string>;
  thresholds: Thresholds;
  colors: ChartColors;
}) {
  const entry = feed.series(labels);
  useSyncExternalStore(feed.subscribe, () => feed.version);
  useEffect(() => feed.ensureLoaded(labels), [feed, labels]);
  const markers = useSyncExternalStore(
    entry.buffer.subscribe,
    () => anomalyMarkers(entry.buffer, thresholds, colors),
  );
  const lines = useMemo<ChartLine[]>(
    () => [
      { field: "value", label: "Value", color: colors.value, width: 1.5 },
      { field: "expected", label: "Expected", color: colors.expected, width: 1, dash: [5, 4] },
      { field: "score", label: "Score", color: colors.score, width: 1, scale: "score" },
    ],
    [colors],
  );
  const band = useMemo<ChartBand>(
    () => ({ lower: "lower", upper: "upper", color: colors.band, label: "Expected band" }),
    [colors],
  );
  const title = seriesTitle(labels);
  return (
    <div className="series-chart">
      <TimeChart buffer={entry.buffer} title={title} lines={lines} band={band} markers={markers} height={180} />
      {entry.loading && entry.buffer.length === 0 && <p className="muted small">Loading the points…</p>}
      {entry.error && (
        <p role="alert" className="row-error">
          {entry.error}
        </p>
      )}
      {entry.loaded && !entry.loading && entry.buffer.length === 0 && <EmptyNote buffer={entry.buffer} />}
    </div>
  );
});

function EmptyNote({ buffer }: { buffer: ChartBuffer }) {
  const length = useSyncExternalStore(buffer.subscribe, () => buffer.length);
  return length === 0 ? <p className="muted small">No points kept for this series.</p> : null;
}
