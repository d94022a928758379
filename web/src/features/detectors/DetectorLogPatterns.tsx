// A log-pattern detector's templates on its detail page (ListLogPatterns): the most anomalous
// first, with their lines, rate, score, first and last seen and an example line; narrowed by
// the text of the template or to the error ones, paged, and read again while the detector runs.
import { Detector_State, LogPatternRates_Source, Severity, type LogPattern } from "@aiops/client";
import { useEffect, useState } from "react";
import { useStore } from "react-redux";
import type { AppStore } from "../../app/store";
import { describeError } from "../../utils/errors";
import { formatDateTime, formatNumber, formatRate } from "../../utils/format";
import { timestampMs } from "../../utils/proto";
import { SEVERITY_TEXT } from "../anomalies/model";
import type { DetectorView } from "./model";

/** Templates read per page. */
export const PATTERNS_PAGE = 50;
/** How often a running detector's templates are read again (ms). */
export const PATTERNS_REFRESH_MS = 15_000;
/** How long the filter box waits for more typing before it asks (ms). */
export const PATTERNS_DEBOUNCE_MS = 300;

const RUNNING = [Detector_State.RUNNING, Detector_State.DEGRADED, Detector_State.BACKFILLING];
const SOURCES: Record<number, string> = {
  [LogPatternRates_Source.LOKI_PATTERNS]: "Loki's patterns",
  [LogPatternRates_Source.MINED]: "lines mined by the detector",
};

/** The ListLogPatterns filter for a text the template holds and, or, errors only. */
export function patternFilter(text: string, errorsOnly: boolean): string {
  const terms = [];
  const trimmed = text.trim();
  if (trimmed) terms.push(`template:"${trimmed.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  if (errorsOnly) terms.push("error = true");
  return terms.join(" AND ");
}

interface Listing {
  filter: string;
  patterns: LogPattern[];
  total: number;
  evicted: bigint;
  source: LogPatternRates_Source;
  nextPageToken: string;
  loaded: boolean;
  error: string | null;
}

const EMPTY: Listing = {
  filter: "",
  patterns: [],
  total: 0,
  evicted: 0n,
  source: LogPatternRates_Source.UNSPECIFIED,
  nextPageToken: "",
  loaded: false,
  error: null,
};

export function DetectorLogPatterns({ detector }: { detector: DetectorView }) {
  const store = useStore() as AppStore;
  const { clients, clock } = store.extra;
  const { name } = detector;
  const running = RUNNING.includes(detector.state);
  const [text, setText] = useState("");
  const [errorsOnly, setErrorsOnly] = useState(false);
  const [filter, setFilter] = useState("");
  const [pages, setPages] = useState(1);
  const [refreshes, setRefreshes] = useState(0);
  const [listing, setListing] = useState<Listing>(EMPTY);

  const wanted = patternFilter(text, errorsOnly);
  useEffect(() => {
    if (wanted === filter) return;
    const timer = clock.setTimeout(
      () => {
        setFilter(wanted);
        setPages(1);
      },
      errorsOnly === filter.includes("error = true") ? PATTERNS_DEBOUNCE_MS : 0,
    );
    return () => clock.clearTimeout(timer);
  }, [wanted, filter, errorsOnly, clock]);

  useEffect(() => {
    const abort = new AbortController();
    void (async () => {
      try {
        const patterns: LogPattern[] = [];
        let token = "";
        let answer;
        for (let page = 0; page < pages; page++) {
          answer = await clients.detectors.listLogPatterns(
            { parent: name, pageSize: PATTERNS_PAGE, pageToken: token, filter },
            { signal: abort.signal },
          );
          patterns.push(...answer.logPatterns);
          token = answer.nextPageToken;
          if (!token) break;
        }
        if (answer === undefined) return;
        setListing({
          filter,
          patterns,
          total: answer.totalSize,
          evicted: answer.evictedCount,
          source: answer.source,
          nextPageToken: token,
          loaded: true,
          error: null,
        });
      } catch (err) {
        if (!abort.signal.aborted) setListing((current) => ({ ...current, loaded: true, error: describeError(err) }));
      }
    })();
    return () => abort.abort();
  }, [clients, name, filter, pages, refreshes]);

  // A running detector's templates and scores move each step: read them again now and then.
  useEffect(() => {
    if (!running) return;
    const timer = clock.setTimeout(() => setRefreshes((n) => n + 1), PATTERNS_REFRESH_MS);
    return () => clock.clearTimeout(timer);
  }, [running, clock, listing]);

  const source = SOURCES[listing.source];
  return (
    <section className="detector-log-patterns" aria-labelledby="log-patterns-heading">
      <div className="section-header">
        <h3 id="log-patterns-heading">Log patterns</h3>
        <span className="small">
          {listing.total === 1 ? "1 template" : `${listing.total} templates`}
          {source && `, from ${source}`}
          {listing.evicted > 0n && `; ${listing.evicted} forgotten to stay within the bound`}
        </span>
      </div>
      <div className="button-row">
        <label>
          Template contains{" "}
          <input type="search" value={text} onChange={(event) => setText(event.target.value)} />
        </label>
        <label>
          <input type="checkbox" checked={errorsOnly} onChange={(event) => setErrorsOnly(event.target.checked)} />{" "}
          Errors only
        </label>
      </div>
      {listing.error !== null && (
        <p role="alert" className="row-error">
          {listing.error}
        </p>
      )}
      {listing.loaded && listing.patterns.length === 0 && listing.error === null ? (
        <p className="muted">
          {listing.filter
            ? "No template matches."
            : "No templates yet: they appear once the detector has read its lines on this server."}
        </p>
      ) : (
        <div className="table-scroll">
          <div role="table" aria-label={`Log patterns of ${name}`} className="mini-table">
            <div role="row" className="mini-row mini-row-header">
              <div role="columnheader">Template</div>
              <div role="columnheader">Lines</div>
              <div role="columnheader">Rate</div>
              <div role="columnheader">Score</div>
              <div role="columnheader">First seen</div>
              <div role="columnheader">Last seen</div>
              <div role="columnheader">Example</div>
            </div>
            {listing.patterns.map((pattern) => (
              <PatternRow key={pattern.name} pattern={pattern} />
            ))}
          </div>
          {listing.nextPageToken && (
            <button type="button" onClick={() => setPages((n) => n + 1)}>
              Show more
            </button>
          )}
        </div>
      )}
    </section>
  );
}

function PatternRow({ pattern }: { pattern: LogPattern }) {
  const flags = [pattern.error && "error", !pattern.inBaseline && "new"].filter(Boolean).join(", ");
  const severity = pattern.severity === Severity.UNSPECIFIED ? "" : ` (${SEVERITY_TEXT[pattern.severity]})`;
  return (
    <div role="row" aria-label={pattern.name} className="mini-row">
      <div role="cell">
        <code>{pattern.template || "(empty line)"}</code>
        {flags && <span className="small"> {flags}</span>}
      </div>
      <div role="cell">{pattern.count.toString()}</div>
      <div role="cell">{formatRate(pattern.rate)}</div>
      <div role="cell">
        {formatNumber(pattern.score)}
        {severity}
      </div>
      <div role="cell">{formatDateTime(timestampMs(pattern.firstSeenTime))}</div>
      <div role="cell">{formatDateTime(timestampMs(pattern.lastSeenTime))}</div>
      <div role="cell" className="small" title={pattern.exampleLine}>
        {pattern.exampleLine.length > 120 ? `${pattern.exampleLine.slice(0, 120)}…` : pattern.exampleLine}
      </div>
    </div>
  );
}
